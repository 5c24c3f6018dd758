// golden.cpp: JSON golden files with nlohmann::json.
#include "golden.h"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace course::testing {

std::string lessons_dir() {
  const char* env = std::getenv("COURSE_LESSONS_DIR");
  return env != nullptr && *env != '\0' ? env : COURSE_LESSONS_DIR;
}

std::string torch_python() {
  const char* env = std::getenv("COURSE_TORCH_PYTHON");
  return env != nullptr && *env != '\0' ? env : COURSE_TORCH_PYTHON;
}

struct Golden::Data {
  nlohmann::json json;
  std::string file;
};

Golden::Golden(const std::string& lesson) : data_(std::make_unique<Data>()) {
  data_->file = lessons_dir() + "/" + lesson + "/golden.json";
  std::ifstream in(data_->file);
  if (!in) {
    throw std::runtime_error(
        fmt::format("golden file {} missing: run ./course goldens (or python3 "
                    "lessons/{}/reference.py --golden)",
                    data_->file, lesson));
  }
  data_->json = nlohmann::json::parse(in);
}
Golden::~Golden() = default;
Golden::Golden(Golden&&) noexcept = default;

namespace {

const nlohmann::json& at_path(const nlohmann::json& root, const std::string& path,
                              const std::string& file) {
  const nlohmann::json* node = &root.at("cases");
  size_t start = 0;
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    const std::string key = path.substr(start, end - start);
    if (!node->is_object() || !node->contains(key)) {
      throw std::runtime_error(fmt::format("{} has no '{}' (in {})", file, path, key));
    }
    node = &(*node)[key];
    start = end + 1;
  }
  return *node;
}

torch::Dtype dtype_from(const std::string& name) {
  if (name == "float32") return torch::kFloat32;
  if (name == "float64") return torch::kFloat64;
  if (name == "int64") return torch::kInt64;
  if (name == "int32") return torch::kInt32;
  if (name == "uint8") return torch::kUInt8;
  if (name == "bool") return torch::kBool;
  throw std::runtime_error("golden: unknown dtype " + name);
}

}  // namespace

torch::Tensor Golden::tensor(const std::string& path) const {
  const auto& node = at_path(data_->json, path, data_->file);
  const auto shape = node.at("shape").get<std::vector<int64_t>>();
  std::vector<double> values;
  for (const auto& value : node.at("data")) {  // numbers, or true/false for a bool tensor
    values.push_back(value.is_boolean() ? (value.get<bool>() ? 1.0 : 0.0) : value.get<double>());
  }
  torch::Tensor flat = torch::tensor(values, torch::kFloat64);
  return flat.reshape(shape).to(dtype_from(node.at("dtype").get<std::string>()));
}

double Golden::scalar(const std::string& path) const {
  return at_path(data_->json, path, data_->file).get<double>();
}

bool Golden::has(const std::string& path) const {
  try {
    at_path(data_->json, path, data_->file);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

::testing::AssertionResult AllClose(const torch::Tensor& actual, const torch::Tensor& expected,
                                    double rtol, double atol) {
  if (actual.sizes() != expected.sizes()) {
    return ::testing::AssertionFailure()
           << "shape " << actual.sizes() << " != expected " << expected.sizes();
  }
  auto a = actual.detach().to(torch::kCPU, torch::kFloat64);
  auto e = expected.detach().to(torch::kCPU, torch::kFloat64);
  // NaN must stand where Python has NaN (and nowhere else); the rest is compared as numbers.
  const auto nan_a = a.isnan(), nan_e = e.isnan();
  if (!torch::equal(nan_a, nan_e)) {
    return ::testing::AssertionFailure()
           << "NaN at other places: " << nan_a.sum().item<int64_t>() << " NaN in actual, "
           << nan_e.sum().item<int64_t>() << " expected";
  }
  a = a.masked_fill(nan_a, 0.0);
  e = e.masked_fill(nan_e, 0.0);
  const auto error = (a - e).abs();
  const auto bound = atol + rtol * e.abs();
  const auto bad = error > bound;
  if (bad.any().item<bool>()) {
    const auto worst = (error - bound).argmax().item<int64_t>();
    return ::testing::AssertionFailure()
           << bad.sum().item<int64_t>() << " of " << e.numel()
           << " values differ; worst at flat index " << worst << ": "
           << a.flatten()[worst].item<double>() << " vs expected "
           << e.flatten()[worst].item<double>() << " (rtol " << rtol << ", atol " << atol << ")";
  }
  return ::testing::AssertionSuccess();
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const c10::Error& error) {
    return error.what_without_backtrace();
  } catch (const std::exception& error) {
    return error.what();
  }
  return "(no error)";
}

}  // namespace course::testing

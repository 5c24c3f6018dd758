// checkpoint.cpp: checked checkpoint files, generator state, nested tensors, tables.
#include "course/checkpoint.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <zlib.h>

#include <charconv>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "course/files.h"

namespace course {
namespace {

namespace fs = std::filesystem;

// A readable message from any exception (a c10::Error's what() carries a C++ backtrace).
std::string reason(const std::exception& error) {
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&error)) {
    return torch_error->what_without_backtrace();
  }
  return error.what();
}

// A zip file ends with its 22-byte end record, whose last two bytes are the length of the zip's
// comment, and then the comment. The checksum is that comment: kTag and 8 hex digits, the CRC-32
// of every byte before the comment's length.
constexpr std::string_view kTag = "course checkpoint crc32 ";
constexpr size_t kCommentSize = kTag.size() + 8;
constexpr size_t kEndRecordSize = 22;
constexpr std::string_view kEndRecordSignature = "PK\x05\x06";

uint32_t crc32_of(std::string_view bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (!bytes.empty()) {  // zlib takes at most 4 GiB per call
    const auto chunk = static_cast<uInt>(std::min<size_t>(bytes.size(), 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), chunk);
    bytes.remove_prefix(chunk);
  }
  return static_cast<uint32_t>(crc);
}

// Throws unless `bytes` end with the checksum comment and match it.
void check_checksum(std::string_view bytes, const std::string& name) {
  const bool has_comment =
      bytes.size() >= kEndRecordSize + kCommentSize &&
      bytes.substr(bytes.size() - kCommentSize, kTag.size()) == kTag &&
      static_cast<unsigned char>(bytes[bytes.size() - kCommentSize - 2]) == kCommentSize &&
      bytes[bytes.size() - kCommentSize - 1] == 0;
  uint32_t saved = 0;
  const char* digits = bytes.data() + bytes.size() - 8;
  const bool readable =
      has_comment && std::from_chars(digits, digits + 8, saved, 16).ptr == digits + 8;
  if (!readable) {
    throw std::runtime_error(fmt::format(
        "{} is not a complete checkpoint: the checksum that ends every checkpoint of this course "
        "is missing, so the file was cut short, damaged or written by another program. Start "
        "again without --resume.",
        name));
  }
  const uint32_t computed = crc32_of(bytes.substr(0, bytes.size() - kCommentSize - 2));
  if (computed != saved) {
    throw std::runtime_error(fmt::format(
        "{} is damaged: its contents do not match the checksum saved in it (CRC-32 {:08x}, saved "
        "{:08x}), so a disk or copy error changed it. Start again without --resume.",
        name, computed, saved));
  }
}

}  // namespace

std::string add_checksum(std::string zip) {
  const size_t end_record = zip.size() - std::min(zip.size(), kEndRecordSize);
  if (zip.size() < kEndRecordSize ||
      zip.compare(end_record, kEndRecordSignature.size(), kEndRecordSignature) != 0 ||
      zip[zip.size() - 2] != 0 || zip[zip.size() - 1] != 0) {
    throw std::invalid_argument("add_checksum: not a zip file that ends with an empty comment");
  }
  const uint32_t crc = crc32_of(std::string_view(zip).substr(0, zip.size() - 2));
  zip[zip.size() - 2] = static_cast<char>(kCommentSize);  // the comment's length, little-endian
  zip += fmt::format("{}{:08x}", kTag, crc);
  return zip;
}

std::string checkpoint_bytes(torch::serialize::OutputArchive& archive) {
  std::ostringstream stream;  // in memory: LibTorch's own file writer stops the program on a
  archive.save_to(stream);    // full disk (it throws from a destructor)
  std::string bytes = add_checksum(stream.str());
  checkpoint_from_bytes(bytes, "the checkpoint just made", torch::kCPU);  // it reads back
  return bytes;
}

torch::serialize::InputArchive checkpoint_from_bytes(std::string_view bytes,
                                                     const std::string& name,
                                                     const torch::Device& device) {
  check_checksum(bytes, name);  // before LibTorch parses anything
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(bytes.data(), bytes.size(), device);
  } catch (const std::exception& error) {
    throw std::runtime_error(
        fmt::format("{} is not a readable checkpoint ({}). Start again without --resume.", name,
                    reason(error)));
  }
  return archive;
}

void save_atomically(torch::serialize::OutputArchive& archive, const fs::path& path) {
  std::string bytes;
  try {
    bytes = checkpoint_bytes(archive);
  } catch (const std::exception& error) {
    throw std::runtime_error(
        fmt::format("could not make the checkpoint {}: {}", path.string(), reason(error)));
  }
  write_file_atomically(path, bytes);
}

torch::serialize::InputArchive open_checkpoint(const fs::path& path, const torch::Device& device) {
  if (!fs::exists(path)) {
    throw std::runtime_error(fmt::format(
        "no checkpoint at {}: nothing to resume. Run once without --resume (same --out) first.",
        path.string()));
  }
  return checkpoint_from_bytes(read_file(path), path.string(), device);
}

torch::Tensor rng_state(const torch::Device& device) {
  at::Generator generator = at::globalContext().defaultGenerator(device);
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void set_rng_state(const torch::Device& device, const torch::Tensor& state) {
  at::Generator generator = at::globalContext().defaultGenerator(device);
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state.to(torch::kCPU));
}

bool read_module_tensor(torch::serialize::InputArchive& module_archive, const std::string& name,
                        torch::Tensor& tensor) {
  std::vector<std::string> parts;  // "layers.0.weight" -> layers, 0, weight
  for (size_t start = 0, dot = 0; dot != std::string::npos; start = dot + 1) {
    dot = name.find('.', start);
    parts.push_back(name.substr(start, dot == std::string::npos ? dot : dot - start));
  }
  std::vector<torch::serialize::InputArchive> nested(parts.size());
  torch::serialize::InputArchive* current = &module_archive;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!current->try_read(parts[i], nested[i])) return false;
    current = &nested[i];
  }
  return current->try_read(parts.back(), tensor);
}

torch::Tensor rows_to_tensor(const std::vector<std::vector<double>>& rows) {
  if (rows.empty()) return torch::zeros({0, 0}, torch::kFloat64);
  const auto columns = static_cast<int64_t>(rows.front().size());
  auto table = torch::zeros({static_cast<int64_t>(rows.size()), columns}, torch::kFloat64);
  for (size_t row = 0; row < rows.size(); ++row) {
    if (static_cast<int64_t>(rows[row].size()) != columns) {
      throw std::invalid_argument(
          fmt::format("row {} has {} values, row 0 has {}", row, rows[row].size(), columns));
    }
    table[static_cast<int64_t>(row)] = torch::tensor(rows[row], torch::kFloat64);
  }
  return table;  // (rows, columns)
}

std::vector<std::vector<double>> rows_from_tensor(const torch::Tensor& table) {
  if (table.dim() != 2) {
    throw std::invalid_argument(
        fmt::format("a table of rows is a 2-D tensor, this one has {} dimensions", table.dim()));
  }
  const auto cpu = table.to(torch::kCPU, torch::kFloat64).contiguous();
  std::vector<std::vector<double>> rows;
  for (int64_t row = 0; row < cpu.size(0); ++row) {
    const double* begin = cpu[row].data_ptr<double>();
    rows.emplace_back(begin, begin + cpu.size(1));
  }
  return rows;
}

}  // namespace course

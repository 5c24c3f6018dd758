// fashion_mnist.cpp: IDX over zlib.
#include "course/fashion_mnist.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <zlib.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <vector>

#include "course/data.h"

namespace course {
namespace {

// gzread() handles both gzip-compressed and plain files.
struct GzCloser {
  void operator()(gzFile file) const { gzclose(file); }
};
using GzFile = std::unique_ptr<std::remove_pointer_t<gzFile>, GzCloser>;

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw std::runtime_error(
      fmt::format("{}: {} (is it a Fashion-MNIST IDX file? reinstall with "
                  "./course setup or check --data-dir)",
                  path.string(), what));
}

// Reads exactly `size` bytes or throws: a short read means a truncated or corrupt file.
void read_exactly(gzFile file, void* into, size_t size, const std::filesystem::path& path,
                  const char* what) {
  auto* bytes = static_cast<char*>(into);
  while (size > 0) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(size, 1u << 30));
    const int got = gzread(file, bytes, chunk);
    if (got < 0) {
      int code = 0;
      fail(path, fmt::format("corrupt data while reading {} ({})", what, gzerror(file, &code)));
    }
    if (got == 0) fail(path, fmt::format("file ends early while reading {}", what));
    bytes += got;
    size -= static_cast<size_t>(got);
  }
}

uint32_t big_endian(const unsigned char bytes[4]) {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
         uint32_t{bytes[3]};
}

}  // namespace

torch::Tensor read_idx(const std::filesystem::path& path) {
  GzFile file(gzopen(path.c_str(), "rb"));
  if (!file) fail(path, "cannot open");

  // Header: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions.
  unsigned char magic[4];
  read_exactly(file.get(), magic, 4, path, "the magic number");
  if (magic[0] != 0 || magic[1] != 0) fail(path, "bad magic number");
  if (magic[2] != 0x08)
    fail(path, fmt::format("type code 0x{:02x} is not unsigned byte", magic[2]));
  const int dims = magic[3];
  if (dims < 1 || dims > 4) fail(path, fmt::format("{} dimensions, expected 1 to 4", dims));

  std::vector<int64_t> shape;
  for (int d = 0; d < dims; ++d) {
    unsigned char size_bytes[4];
    read_exactly(file.get(), size_bytes, 4, path, "the sizes");
    shape.push_back(big_endian(size_bytes));
    if (shape.back() == 0) fail(path, fmt::format("dimension {} has size 0", d));
  }
  // No dataset here is over 2^31 bytes: a larger product means a corrupt header, not data. All
  // sizes are named, since any one of them may be the damaged one. (The product of four 32-bit
  // sizes fits a long double's range without overflow.)
  long double product = 1;
  for (const int64_t size : shape) product *= static_cast<long double>(size);
  if (product > static_cast<long double>(int64_t{1} << 31)) {
    fail(path, fmt::format("the header's sizes {} make {:.3g} bytes, more than any dataset here "
                           "(2 GiB): a damaged header",
                           fmt::join(shape, " x "), static_cast<double>(product)));
  }
  const auto count = static_cast<int64_t>(product);

  // Read in chunks and grow the buffer as the bytes arrive: a corrupt header that claims 2 GiB
  // then fails at the first missing byte instead of reserving 2 GiB first. The chunks double from
  // 64 KiB to 16 MiB, so a short file never costs more than twice its size.
  auto buffer = std::make_unique<std::vector<uint8_t>>();
  constexpr size_t kFirstChunk = size_t{1} << 16, kLargestChunk = size_t{1} << 24;
  while (buffer->size() < static_cast<size_t>(count)) {
    const size_t done = buffer->size();
    const size_t chunk =
        std::min({std::clamp(done, kFirstChunk, kLargestChunk), static_cast<size_t>(count) - done});
    buffer->resize(done + chunk);
    read_exactly(file.get(), buffer->data() + done, chunk, path, "the data");
  }
  char extra;
  const int more = gzread(file.get(), &extra, 1);
  if (more > 0) fail(path, "unexpected bytes after the data");
  if (more < 0) {  // for a .gz file: the CRC-32 or length check at the end of the stream failed
    int code = 0;
    fail(path, fmt::format("corrupt data at the end of the file ({})", gzerror(file.get(), &code)));
  }
  // The tensor takes over the buffer (no copy); the deleter frees it with the tensor.
  std::vector<uint8_t>* bytes = buffer.release();
  return torch::from_blob(
      bytes->data(), shape, [bytes](void*) { delete bytes; }, torch::kUInt8);
}

std::vector<std::string> fashion_mnist_files() {
  return {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
          "t10k-labels-idx1-ubyte.gz"};
}

FashionMnist load_fashion_mnist(const std::filesystem::path& dir, bool train, int64_t limit) {
  const std::string prefix = train ? "train" : "t10k";
  const auto images_path = dir / (prefix + "-images-idx3-ubyte.gz");
  const auto labels_path = dir / (prefix + "-labels-idx1-ubyte.gz");
  FashionMnist split{read_idx(images_path), read_idx(labels_path)};
  if (split.images.dim() != 3 || split.images.size(1) != 28 || split.images.size(2) != 28) {
    fail(images_path,
         fmt::format("shape {} is not (N, 28, 28)", fmt::join(split.images.sizes(), "x")));
  }
  if (split.labels.dim() != 1 || split.labels.size(0) != split.images.size(0)) {
    fail(labels_path,
         fmt::format("{} labels for {} images", split.labels.numel(), split.images.size(0)));
  }
  if (split.labels.max().item<int>() > 9) fail(labels_path, "a label is not in 0..9");
  split.labels = split.labels.to(torch::kInt64);
  if (limit > 0 && limit < split.images.size(0)) {
    split.images = split.images.slice(0, 0, limit).clone();
    split.labels = split.labels.slice(0, 0, limit).clone();
  }
  return split;
}

FashionMnist load_fashion_mnist(const Options& options, bool train) {
  const auto dir = find_dataset("fashion-mnist", options.data_dir, fashion_mnist_files());
  return load_fashion_mnist(dir, train, options.smoke ? kSmokeSamples : 0);
}

torch::Tensor normalize_fashion(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 3 && images.scalar_type() == torch::kUInt8,
              "normalize_fashion expects uint8 images (N, H, W), got ", images.scalar_type(), " ",
              images.sizes());
  const auto pixels = images.to(torch::kFloat32).div(255.0);              // (N, 28, 28) in 0..1
  return pixels.sub(kFashionMean).div(kFashionStd).unsqueeze(/*dim=*/1);  // (N, 1, 28, 28)
}

}  // namespace course

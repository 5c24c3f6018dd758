// Fuzz target: the checkpoint loader, course::checkpoint_from_bytes (what open_checkpoint does to
// a file's bytes): the checksum check, then LibTorch's parser, then reading what 07 reads. The
// first input byte picks the path: even, the bytes as they are (nearly every change is refused by
// the checksum, as on a learner's machine); odd, the rest of the input sealed with a fresh
// checksum first (course::add_checksum), so that changed archives reach the parser behind it.
#include <torch/torch.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "course/checkpoint.h"
#include "fuzz_input.h"

namespace {

// Reads what lesson 07's load_checkpoint reads, whatever the types turn out to be.
void read_like_a_lesson(torch::serialize::InputArchive& archive) {
  for (const char* key : {"format", "architecture", "settings", "value"}) {
    c10::IValue value;
    if (archive.try_read(key, value) && value.isString()) {
      [[maybe_unused]] const std::size_t length = value.toStringRef().size();
    }
  }
  torch::Tensor tensor;
  if (archive.try_read("history", tensor) && tensor.dim() == 2) course::rows_from_tensor(tensor);
  torch::serialize::InputArchive model;
  if (archive.try_read("model", model))
    course::read_module_tensor(model, "layers.0.weight", tensor);
  for (const auto& key : archive.keys()) archive.try_read(key, tensor);
}

// Little-endian unsigned number of `width` bytes at `at`, or UINT64_MAX when they are not there.
uint64_t number_at(std::string_view bytes, size_t at, size_t width) {
  if (at > bytes.size() || bytes.size() - at < width) return UINT64_MAX;
  uint64_t value = 0;
  for (size_t i = width; i > 0; --i) {
    value = value << 8 | static_cast<unsigned char>(bytes[at + i - 1]);
  }
  return value;
}

// True when the archive's data.pkl holds a pickle opcode whose length claims more bytes than the
// whole input has. LibTorch's unpickler allocates such a length (a std::string) before it reads
// the bytes (docs/fuzzing.md, "Findings"); AddressSanitizer's operator new then ends the program
// instead of throwing std::bad_alloc, so the memory budget cannot turn it into an error as it does
// without the sanitizer. Only a file with a valid checksum gets there. data.pkl is found through
// the zip's central directory (LibTorch stores its records uncompressed); an archive this cannot
// walk is kept. Scanning every byte, not walking the opcodes, may leave out a few inputs more.
bool pickle_claims_too_much(std::string_view zip) {
  const size_t end = zip.rfind("PK\x05\x06");
  if (end == std::string_view::npos) return false;
  const uint64_t entries = number_at(zip, end + 10, 2);
  uint64_t at = number_at(zip, end + 16, 4);
  for (uint64_t entry = 0; entry < entries && at < zip.size(); ++entry) {
    if (zip.compare(at, 4, "PK\x01\x02") != 0) return false;
    const uint64_t size = number_at(zip, at + 20, 4);
    const uint64_t name_size = number_at(zip, at + 28, 2);
    const uint64_t extra_size = number_at(zip, at + 30, 2);
    const uint64_t comment_size = number_at(zip, at + 32, 2);
    const uint64_t header = number_at(zip, at + 42, 4);
    if (comment_size == UINT64_MAX || header == UINT64_MAX || at + 46 + name_size > zip.size()) {
      return false;  // a directory entry cut short
    }
    const std::string_view name = zip.substr(at + 46, name_size);
    at += 46 + name_size + extra_size + comment_size;
    constexpr std::string_view kPickle = "data.pkl";
    if (name.size() < kPickle.size() || name.substr(name.size() - kPickle.size()) != kPickle) {
      continue;
    }
    if (header > zip.size() || zip.size() - header < 30) return false;  // no local header
    const uint64_t data =
        header + 30 + number_at(zip, header + 26, 2) + number_at(zip, header + 28, 2);
    if (data >= zip.size()) return false;
    const std::string_view pickle = zip.substr(data, size);
    for (size_t i = 0; i < pickle.size(); ++i) {
      uint64_t claimed = 0;
      switch (static_cast<unsigned char>(pickle[i])) {
        case 'X':   // BINUNICODE
        case 'B':   // BINBYTES
        case 'T':   // BINSTRING
        case 0x8b:  // LONG4
          claimed = number_at(pickle, i + 1, 4);
          break;
        case 0x8d:  // BINUNICODE8
        case 0x8e:  // BINBYTES8
        case 0x96:  // BYTEARRAY8
          claimed = number_at(pickle, i + 1, 8);
          break;
        default:
          break;
      }
      if (claimed != UINT64_MAX && claimed > zip.size()) return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 1) {
    try {
      bytes = course::add_checksum(bytes);
    } catch (const std::invalid_argument&) {  // not a zip that ends as LibTorch writes one
      return 0;
    }
  }
  if (data[0] % 2 == 1 && pickle_claims_too_much(bytes)) return 0;
  try {
    auto archive = course::checkpoint_from_bytes(bytes, "fuzz.pt", torch::kCPU);
    read_like_a_lesson(archive);
  } catch (const std::exception&) {  // std::runtime_error, c10::Error
  }
  return 0;
}

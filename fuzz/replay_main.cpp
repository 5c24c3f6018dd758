// replay_main.cpp: runs a fuzz target without libFuzzer, so that ./course test exercises the
// readers on odd input with the normal compiler (and under the asan preset, with AddressSanitizer):
// every file of the seed corpus, then a fixed number of seeded mutations of them (bytes flipped,
// set, inserted, deleted, repeated, cut, or two files spliced), the same ones in every run.
//
//   fuzz_idx fuzz/corpus/idx [--mutations 2000] [--seed 1] [--dump K FILE]
//
// --dump K FILE writes mutation K (from 0) to FILE instead of running anything: the input to hand
// to the libFuzzer binary, or a debugger, when mutation K fails.
// A crash, or a sanitizer report, fails the test; a finished run prints what it ran. The long runs
// use libFuzzer itself (./course fuzz, docs/fuzzing.md), which finds new inputs by coverage.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "fuzz_input.h"

namespace {

using Bytes = std::vector<uint8_t>;

Bytes read_bytes(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

// One to four random changes of `input`, `other` the second half of a splice.
Bytes mutate(Bytes input, const Bytes& other, std::mt19937_64& random) {
  constexpr size_t kMaxSize = 1 << 16;
  const auto below = [&](size_t n) { return n == 0 ? 0 : static_cast<size_t>(random() % n); };
  const uint8_t interesting[] = {0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF, ',', '\n', '-', '9'};
  for (size_t changes = 1 + below(4); changes > 0; --changes) {
    switch (below(8)) {
      case 0:  // flip a bit
        if (!input.empty()) input[below(input.size())] ^= static_cast<uint8_t>(1u << below(8));
        break;
      case 1:  // set a byte to a random or an interesting value
        if (!input.empty()) {
          input[below(input.size())] = below(2) ? static_cast<uint8_t>(random())
                                                : interesting[below(std::size(interesting))];
        }
        break;
      case 2: {  // insert random bytes
        const size_t at = below(input.size() + 1), count = 1 + below(16);
        for (size_t i = 0; i < count; ++i) {
          input.insert(input.begin() + static_cast<std::ptrdiff_t>(at),
                       static_cast<uint8_t>(random()));
        }
        break;
      }
      case 3: {  // delete a range
        const size_t at = below(input.size()), count = std::min(input.size() - at, 1 + below(16));
        input.erase(input.begin() + static_cast<std::ptrdiff_t>(at),
                    input.begin() + static_cast<std::ptrdiff_t>(at + count));
        break;
      }
      case 4: {  // repeat a range
        if (input.empty()) break;
        const size_t at = below(input.size()), count = std::min(input.size() - at, 1 + below(64));
        const Bytes copy(input.begin() + static_cast<std::ptrdiff_t>(at),
                         input.begin() + static_cast<std::ptrdiff_t>(at + count));
        input.insert(input.begin() + static_cast<std::ptrdiff_t>(below(input.size() + 1)),
                     copy.begin(), copy.end());
        break;
      }
      case 5:  // cut the end off
        input.resize(below(input.size() + 1));
        break;
      case 6: {  // a 32-bit value, big-endian, at a random place: sizes and counts in headers
        if (input.size() < 4) break;
        const size_t at = below(input.size() - 3);
        const uint32_t values[] = {0,          1,          0x7FFFFFFF,
                                   0x80000000, 0xFFFFFFFF, static_cast<uint32_t>(random())};
        const uint32_t value = values[below(std::size(values))];
        for (size_t i = 0; i < 4; ++i) input[at + i] = static_cast<uint8_t>(value >> (24 - 8 * i));
        break;
      }
      default: {  // splice: the start of this input, the end of another
        const size_t keep = below(input.size() + 1), from = below(other.size() + 1);
        input.resize(keep);
        input.insert(input.end(), other.begin() + static_cast<std::ptrdiff_t>(from), other.end());
        break;
      }
    }
  }
  if (input.size() > kMaxSize) input.resize(kMaxSize);
  return input;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Bytes> corpus;
  long mutations = 2000;
  unsigned long long seed = 1;
  long dump = -1;
  std::string dump_file;
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument == "--mutations" && i + 1 < argc) {
      mutations = std::stol(argv[++i]);
    } else if (argument == "--seed" && i + 1 < argc) {
      seed = std::stoull(argv[++i]);
    } else if (argument == "--dump" && i + 2 < argc) {
      dump = std::stol(argv[++i]);
      dump_file = argv[++i];
    } else if (std::filesystem::is_directory(argument)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(argument)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());  // the same order on every machine
      for (const auto& file : files) corpus.push_back(read_bytes(file));
    } else if (std::filesystem::is_regular_file(argument)) {
      corpus.push_back(read_bytes(argument));
    } else {
      std::fprintf(stderr,
                   "error: %s is not a corpus folder, a file or a flag; usage: %s CORPUS... "
                   "[--mutations N] [--seed S]\n",
                   argv[i], argv[0]);
      return 2;
    }
  }
  if (corpus.empty()) {
    std::fprintf(stderr, "error: no corpus files given; usage: %s CORPUS... [--mutations N]\n",
                 argv[0]);
    return 2;
  }
  if (dump < 0) {
    for (const Bytes& input : corpus) LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::mt19937_64 random(seed);
  for (long i = 0; i < mutations || i <= dump; ++i) {
    const Bytes& input = corpus[random() % corpus.size()];
    const Bytes& other = corpus[random() % corpus.size()];
    const Bytes mutated = mutate(input, other, random);
    if (i == dump) {
      std::ofstream(dump_file, std::ios::binary)
          .write(reinterpret_cast<const char*>(mutated.data()),
                 static_cast<std::streamsize>(mutated.size()));
      std::printf("wrote mutation %ld (%zu bytes) to %s\n", dump, mutated.size(),
                  dump_file.c_str());
      return 0;
    }
    if (dump < 0) LLVMFuzzerTestOneInput(mutated.data(), mutated.size());
  }
  std::printf("%s: %zu corpus files and %ld mutations (seed %llu) ran without a crash\n", argv[0],
              corpus.size(), mutations, seed);
  return 0;
}

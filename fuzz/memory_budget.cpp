// memory_budget.cpp: every fuzz target runs on a memory budget, as on a machine with little memory:
// with AddressSanitizer (./course fuzz, the asan preset) one allocation over 1 GiB fails; without
// it, all allocations together may grow 1 GiB past what the program held at the start. A failed
// allocation is std::bad_alloc, or LibTorch's "can't allocate memory" error.
//
// Why: an input can claim gigabytes with four bytes (a size of 0x7FFFFFFF), and LibTorch's
// unpickler allocates what a checkpoint's data.pkl claims before reading it (fuzz_checkpoint found
// a 4.5 GB one in its first hundred mutations; docs/fuzzing.md). Such a file only reaches LibTorch
// with a valid checksum, so it was made that way on purpose; the loader must still end it with an
// error. The course's own readers never allocate more than their input justifies (read_idx grows
// its buffer as the bytes arrive), so the budget never binds for them.
#include <sys/resource.h>

#include <fstream>
#include <string>

#if defined(__SANITIZE_ADDRESS__)
#define COURSE_FUZZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COURSE_FUZZ_ASAN 1
#endif
#endif

#ifdef COURSE_FUZZ_ASAN
// Read by AddressSanitizer at start-up, before ASAN_OPTIONS (which can still override it).
extern "C" const char* __asan_default_options() {
  return "allocator_may_return_null=1:max_allocation_size_mb=1024";
}
#else
namespace {

// RLIMIT_DATA counts the heap and private writable mappings: LibTorch's own at start-up
// (VmData, about 0.6 GB with the CUDA wheel) plus the budget.
bool limit_memory() {
  std::ifstream status("/proc/self/status");
  std::string key;
  long long kilobytes = -1;
  while (status >> key) {
    if (key == "VmData:") {
      status >> kilobytes;
      break;
    }
  }
  if (kilobytes < 0) return false;
  rlimit limit{};
  getrlimit(RLIMIT_DATA, &limit);
  const rlim_t wanted = static_cast<rlim_t>(kilobytes + (1LL << 20)) * 1024;  // + 1 GiB
  if (limit.rlim_max != RLIM_INFINITY && wanted > limit.rlim_max) return false;
  limit.rlim_cur = wanted;
  return setrlimit(RLIMIT_DATA, &limit) == 0;
}

const bool g_limited = limit_memory();

}  // namespace
#endif

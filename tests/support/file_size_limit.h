// file_size_limit.h: a full disk for a test, without mounting one: while a FileSizeLimit lives, a
// write past `bytes` into any file fails (RLIMIT_FSIZE) as on a full disk, with EFBIG ("File too
// large") instead of ENOSPC ("No space left on device"). tests/full_disk.sh fills a real tmpfs.
#pragma once

#include <sys/resource.h>

#include <csignal>

namespace course::testing {

class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &old_);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);  // else the kernel ends the program instead
    const rlimit limit{bytes, old_.rlim_max};
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
};

}  // namespace course::testing

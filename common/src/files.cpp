// files.cpp: atomic, error-checked writes with POSIX calls (open, write, fsync, rename), whose
// errno says why a write failed; an iostream or a library's own file code would not say, or would
// stop the program (LibTorch's zip writer throws from a destructor on a full disk).
#include "course/files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <png.h>

#include <cerrno>
#include <csignal>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace course {
namespace {

namespace fs = std::filesystem;

// ---- Ctrl-C held while a file is replaced ----
// While a SignalsHeld lives, SIGINT and SIGTERM are only noted, in whichever thread they arrive
// (LibTorch's worker threads too: blocking them in this thread alone would not do). When it ends,
// the program's own handling comes back and a noted signal is raised again: the default one ends
// the program, with the new file complete; a lesson's handler (course::stop_requested) sets its
// flag.
volatile std::sig_atomic_t g_held_signal = 0;

extern "C" void note_signal(int signal) {
  g_held_signal = signal;
}

class SignalsHeld {
 public:
  SignalsHeld() {
    g_held_signal = 0;
    struct sigaction note {};
    note.sa_handler = note_signal;
    sigemptyset(&note.sa_mask);
    note.sa_flags = SA_RESTART;
    sigaction(SIGINT, &note, &old_interrupt_);
    sigaction(SIGTERM, &note, &old_terminate_);
  }
  ~SignalsHeld() {
    sigaction(SIGINT, &old_interrupt_, nullptr);
    sigaction(SIGTERM, &old_terminate_, nullptr);
    if (g_held_signal != 0) std::raise(g_held_signal);
  }
  SignalsHeld(const SignalsHeld&) = delete;
  SignalsHeld& operator=(const SignalsHeld&) = delete;

 private:
  struct sigaction old_interrupt_ {};
  struct sigaction old_terminate_ {};
};

// ---- Checked POSIX calls ----
// A failed call's reason, "No space left on device", with what was being done.
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string& doing) {
  throw Failure(fmt::format("{} ({})", std::generic_category().message(errno), doing));
}

// Closes on every path out; close() itself is checked where it matters (close_checked).
class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int get() const { return fd_; }
  void close_checked() {  // some file systems (NFS) report a full disk only here
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("close");
  }

 private:
  int fd_;
};

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      fail("write");
    }
    if (written == 0) {  // no progress and no reason: call it a full disk rather than spin
      errno = ENOSPC;
      fail("write");
    }
    bytes.remove_prefix(static_cast<size_t>(written));
  }
}

// Asks the operating system to put a folder's list of entries on the disk, so that the rename
// itself survives a power cut. Best effort: some file systems cannot flush a folder.
void sync_folder(const fs::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

std::string folder_of(const fs::path& path) {
  return path.has_parent_path() ? path.parent_path().string() : std::string(".");
}

}  // namespace

void write_file_atomically(const fs::path& path, std::string_view bytes) {
  fs::path temporary = path;
  temporary += ".tmp";
  SignalsHeld held;  // Ctrl-C takes effect after the rename, never half-way
  try {
    Descriptor file(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (file.get() < 0) fail("create " + temporary.filename().string());
    write_all(file.get(), bytes);
    if (::fsync(file.get()) != 0) fail("fsync");
    file.close_checked();
    if (read_file(temporary) != bytes) {
      throw Failure("what was read back differs from what was written");
    }
    std::error_code error;
    fs::rename(temporary, path, error);  // within one folder: one step
    if (error) throw Failure(fmt::format("{} (rename)", error.message()));
  } catch (const std::exception& error) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    throw std::runtime_error(fmt::format(
        "could not write {}: {}. The file there before, if any, is unchanged and no temporary file "
        "is left. Free some disk space (df -h {}) or write elsewhere (--out), then run again.",
        path.string(), error.what(), folder_of(path)));
  }
  sync_folder(folder_of(path));
}

void append_to_file(const fs::path& path, std::string_view bytes) {
  SignalsHeld held;  // a line is added whole or not at all
  off_t length_before = -1;
  try {
    Descriptor file(::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    if (file.get() < 0) fail("open");
    struct stat before {};
    if (::fstat(file.get(), &before) != 0) fail("stat");
    length_before = before.st_size;
    write_all(file.get(), bytes);
    file.close_checked();
  } catch (const std::exception& error) {
    if (length_before >= 0) {
      // Cut off the part of the line that was written; shrinking a file needs no free space.
      [[maybe_unused]] const int ignored = ::truncate(path.c_str(), length_before);
    }
    throw std::runtime_error(fmt::format(
        "could not add to {}: {}. Its earlier lines are kept. Free some disk space (df -h {}) or "
        "write elsewhere (--out), then run again.",
        path.string(), error.what(), folder_of(path)));
  }
}

std::string encode_png(const cv::Mat& image) {
  // libpng's simplified API: the whole image in one call, errors returned in png.message instead of
  // printed. (OpenCV's imgcodecs would do the same, but it brings GDAL and about 178 MB of
  // libraries with it; every program of the course that writes a PNG links only libpng.)
  if (image.depth() != CV_8U ||
      (image.channels() != 1 && image.channels() != 3 && image.channels() != 4)) {
    throw std::runtime_error(
        fmt::format("a PNG needs 8-bit gray, BGR or BGRA pixels, not depth {} with {} channels",
                    image.depth(), image.channels()));
  }
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.cols);
  png.height = static_cast<png_uint_32>(image.rows);
  png.format = image.channels() == 1   ? PNG_FORMAT_GRAY
               : image.channels() == 3 ? PNG_FORMAT_BGR
                                       : PNG_FORMAT_BGRA;
  const auto row_stride = static_cast<png_int_32>(image.step1());  // in components, not bytes
  png_alloc_size_t size = 0;
  std::string encoded;
  // The first call measures, the second writes into a buffer of that size.
  if (png_image_write_to_memory(&png, nullptr, &size, /*convert_to_8_bit=*/0, image.data,
                                row_stride, /*colormap=*/nullptr) != 0) {
    encoded.resize(size);
    if (png_image_write_to_memory(&png, encoded.data(), &size, 0, image.data, row_stride,
                                  nullptr) != 0) {
      encoded.resize(size);
      return encoded;
    }
  }
  const std::string message = png.message;
  png_image_free(&png);
  throw std::runtime_error("the PNG encoder refused it: " + message);
}

cv::Mat read_png(const fs::path& path) {
  const std::string bytes = read_file(path);
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  if (png_image_begin_read_from_memory(&png, bytes.data(), bytes.size()) == 0) {
    throw std::runtime_error(
        fmt::format("{} is not a PNG libpng can read: {}", path.string(), png.message));
  }
  const bool colour = (png.format & PNG_FORMAT_FLAG_COLOR) != 0;
  const bool alpha = (png.format & PNG_FORMAT_FLAG_ALPHA) != 0;
  png.format = colour || alpha ? (alpha ? PNG_FORMAT_BGRA : PNG_FORMAT_BGR) : PNG_FORMAT_GRAY;
  cv::Mat image(static_cast<int>(png.height), static_cast<int>(png.width),
                CV_8UC(static_cast<int>(PNG_IMAGE_SAMPLE_CHANNELS(png.format))));
  if (png_image_finish_read(&png, /*background=*/nullptr, image.data,
                            static_cast<png_int_32>(image.step1()), /*colormap=*/nullptr) == 0) {
    const std::string message = png.message;
    png_image_free(&png);
    throw std::runtime_error(fmt::format("cannot read {}: {}", path.string(), message));
  }
  return image;
}

void write_png(const cv::Mat& image, const fs::path& path) {
  std::string png;
  try {
    png = encode_png(image);
  } catch (const std::exception& error) {
    throw std::runtime_error(fmt::format("could not make {}: {}", path.string(), error.what()));
  }
  if (path.has_parent_path()) {
    std::error_code error;
    fs::create_directories(path.parent_path(), error);
    if (error) {
      throw std::runtime_error(fmt::format("cannot create the folder {} for {}: {}",
                                           path.parent_path().string(), path.filename().string(),
                                           error.message()));
    }
  }
  write_file_atomically(path, png);
}

std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw std::runtime_error(
        fmt::format("cannot open {}: {}", path.string(), std::generic_category().message(errno)));
  }
  std::ostringstream bytes;
  bytes << file.rdbuf();
  if (file.bad()) throw std::runtime_error(fmt::format("cannot read {}", path.string()));
  return bytes.str();
}

}  // namespace course

// Unit tests of course/files.h and of every file the course writes through it (PNGs, plots,
// metrics.csv): a full disk is an error that names the file, the previous file stays as it was,
// no .tmp is left, and nothing else is printed; Ctrl-C waits for the end of a write.
#include "course/files.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "course/confusion.h"
#include "course/fashion_mnist.h"
#include "course/history.h"
#include "course/image.h"
#include "course/plot.h"
#include "file_size_limit.h"
#include "golden.h"  // error_of
#include "scratch_dir.h"

namespace fs = std::filesystem;
using course::testing::error_of;
using course::testing::FileSizeLimit;

namespace {

class Files : public course::testing::ScratchDir {
 protected:
  // The files in the test's folder and below, for "no .tmp is left".
  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
      if (entry.is_regular_file()) names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Noise does not compress: a PNG of it is larger than any limit below.
torch::Tensor noise_image() {
  return torch::randint(0, 256, {3, 64, 64}, torch::kUInt8);
}

}  // namespace

TEST_F(Files, WriteFileAtomicallyReplacesTheFileAndLeavesNoTemporary) {
  const auto path = dir_ / "a.txt";
  course::write_file_atomically(path, "first");
  course::write_file_atomically(path, "second, longer");
  EXPECT_EQ(course::read_file(path), "second, longer");
  course::write_file_atomically(path, "");
  EXPECT_EQ(course::read_file(path), "");
  EXPECT_EQ(files(), std::vector<std::string>{"a.txt"});
}

TEST_F(Files, AFullDiskKeepsTheOldFileRemovesTheTemporaryAndNamesTheFile) {
  const auto path = dir_ / "a.txt";
  course::write_file_atomically(path, "old");
  std::string message;
  {
    FileSizeLimit full(10);
    message = error_of([&] { course::write_file_atomically(path, std::string(100, 'x')); });
  }
  EXPECT_TRUE(contains(message, "could not write " + path.string() + ": File too large"))
      << message;
  EXPECT_TRUE(contains(message, "unchanged")) << message;
  EXPECT_EQ(course::read_file(path), "old");
  EXPECT_EQ(files(), std::vector<std::string>{"a.txt"});
}

TEST_F(Files, AppendAddsAWholeLineOrNone) {
  const auto path = dir_ / "log.csv";
  course::write_file_atomically(path, "a,b\n");
  course::append_to_file(path, "1,2\n");
  std::string message;
  {
    FileSizeLimit full(fs::file_size(path) + 2);  // room for two bytes of the next four
    message = error_of([&] { course::append_to_file(path, "3,4\n"); });
  }
  EXPECT_TRUE(contains(message, "could not add to " + path.string() + ": File too large"))
      << message;
  EXPECT_EQ(course::read_file(path), "a,b\n1,2\n");  // not "a,b\n1,2\n3,"
  EXPECT_TRUE(contains(error_of([&] { course::append_to_file(dir_ / "none.csv", "x"); }),
                       (dir_ / "none.csv").string()));
}

// Item 1 of the reliability issue, for every PNG the course draws: before, cv::imwrite truncated
// the old file, failed half-way and libpng printed a line of its own.
TEST_F(Files, EveryPngWriteOnAFullDiskKeepsTheOldPictureAndPrintsNothing) {
  const std::vector<std::pair<std::string, std::function<void(const fs::path&)>>> writers = {
      {"save_png", [](const fs::path& path) { course::save_png(noise_image(), path); }},
      {"plot_lines",
       [](const fs::path& path) {
         course::plot_lines({{"loss", {1, 2, 3}, {3, 1, 2}}}, "t", "x", "y", path);
       }},
      {"plot_confusion",
       [](const fs::path& path) {
         course::plot_confusion(torch::eye(10, torch::kInt64) * 50 + 1, course::kFashionClasses,
                                path);
       }},
      {"save_captioned_grid", [](const fs::path& path) {
         course::save_captioned_grid(torch::zeros({2, 28, 28}, torch::kUInt8),
                                     {{"a", "b"}, {"c", "d"}}, path);
       }}};
  for (const auto& [name, write] : writers) {
    const auto path = dir_ / (name + ".png");
    course::save_png(torch::zeros({2, 2}, torch::kUInt8), path);  // a good, tiny picture
    const std::string before = course::read_file(path);
    std::string message;
    ::testing::internal::CaptureStderr();
    {
      FileSizeLimit full(before.size() + 10);
      message = error_of([&, write = write] { write(path); });
    }
    const std::string printed = ::testing::internal::GetCapturedStderr();
    EXPECT_TRUE(contains(message, "could not write " + path.string() + ": File too large"))
        << name << ": " << message;
    EXPECT_EQ(printed, "") << name << " printed more than its error";
    EXPECT_EQ(course::read_file(path), before) << name << " changed the old picture";
  }
  EXPECT_EQ(files(), (std::vector<std::string>{"plot_confusion.png", "plot_lines.png",
                                               "save_captioned_grid.png", "save_png.png"}));
}

// Item 1 for metrics.csv: before, the row was cut off on a full disk without a word.
TEST_F(Files, AMetricsRowOnAFullDiskIsAnErrorAndTheCsvKeepsItsRows) {
  course::History history(dir_, {"loss", "seconds", "compute_seconds", "test_acc"});
  history.add(1, {0.5, 1, 1, 0.25});
  const auto csv = dir_ / "metrics.csv";
  const std::string before = course::read_file(csv);
  std::string message;
  {
    FileSizeLimit full(before.size() + 5);
    message = error_of([&] { history.add(2, {0.125, 1, 1, 0.5}); });
  }
  EXPECT_TRUE(contains(message, "could not add to " + csv.string() + ": File too large"))
      << message;
  EXPECT_EQ(course::read_file(csv), before);
  EXPECT_EQ(history.rows().size(), 1u);  // the row that could not be written is not counted
  {
    FileSizeLimit full(10);  // restore() rewrites the whole file: the old one stays
    EXPECT_TRUE(contains(error_of([&] { history.restore({{1, 9, 9, 9, 9}}); }), csv.string()));
  }
  EXPECT_EQ(course::read_file(csv), before);
  EXPECT_EQ(files(), std::vector<std::string>{"metrics.csv"});
}

// Item 3: a Ctrl-C (SIGINT) during a write takes effect after the rename, never half-way. The
// handler below looks at the files when the signal reaches it.
namespace {
std::string g_watched;                  // the file being written
volatile std::sig_atomic_t g_seen = 0;  // 1: signal seen with the .tmp present, 2: after the rename
extern "C" void look_at_files(int) {
  const bool temporary = ::access((g_watched + ".tmp").c_str(), F_OK) == 0;
  const bool final_file = ::access(g_watched.c_str(), F_OK) == 0;
  g_seen = temporary ? 1 : (final_file ? 2 : 3);
}
}  // namespace

TEST_F(Files, ASignalDuringAWriteTakesEffectAfterTheRename) {
  const auto path = dir_ / "big.bin";
  g_watched = path.string();
  g_seen = 0;
  struct sigaction action {
  }, old{};
  action.sa_handler = look_at_files;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &old);
  const std::string bytes(64 << 20, 'x');  // 64 MiB: the write takes a while
  std::atomic<bool> mid_write{false};
  std::thread interrupter([&] {
    // SIGINT to the process (any thread may take it) once the .tmp exists: mid-write.
    while (!fs::exists(path)) {
      if (fs::exists(path.string() + ".tmp")) {
        mid_write = true;
        break;
      }
      std::this_thread::yield();
    }
    ::kill(::getpid(), SIGINT);
  });
  course::write_file_atomically(path, bytes);
  interrupter.join();
  sigaction(SIGINT, &old, nullptr);
  ASSERT_TRUE(mid_write) << "the signal came after the write: nothing was tested";
  EXPECT_EQ(g_seen, 2) << "1: the signal acted during the write; 0: it never came";
  EXPECT_EQ(fs::file_size(path), bytes.size());
}

// 18_serving: the model behind HTTP, with dynamic batching, measured under load.
//
// What it teaches:
//   - serving a model Python exported (TorchScript): torch::jit::load once, forward on one worker
//     thread under torch::InferenceMode
//   - dynamic batching: requests from many HTTP threads wait at most --max-wait-ms for others and
//     run together, up to --max-batch images in one forward pass; each caller gets its own row
//   - an HTTP server (cpp-httplib) speaking JSON (nlohmann::json): POST /predict, GET /health; a
//     body limit, a read timeout, a 4xx with a message for each bad request; a graceful shutdown
//     on SIGTERM/SIGINT that finishes the requests in flight
//   - measuring it: throughput and p50/p95/p99 latency at 1 to 64 concurrent clients, batching on
//     and off, and a profiler trace of one batch that chrome://tracing and Perfetto open
// What it leaves out on purpose: TLS, authentication, several models or workers; lesson 16's .pt2
// (the modern format: TorchScript is deprecated in PyTorch 2.11; only two lines would change).
//
// Run:  ./course run 18                          (measure: both servers, four load levels)
//       ./course run 18 -- --serve --port 8080   (serve until Ctrl-C; curl lines in README.md)
#include <fmt/format.h>
#include <httplib.h>                       // cpp-httplib: Server, Client
#include <torch/csrc/autograd/profiler.h>  // RecordProfile: a chrome://tracing file
#include <torch/script.h>                  // torch::jit::load
#include <nlohmann/json.hpp>               // JSON in and out

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "course/data.h"
#include "course/fashion_mnist.h"
#include "course/files.h"
#include "course/lesson.h"
#include "course/plot.h"
#include "course/timer.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using Micros = std::chrono::microseconds;
// Dimension legend: B = images in a batch, 10 classes, images 28 x 28 pixels in [0, 1].

// ==== Configuration ==============================================================================
struct Config {
  std::string model =  // the TorchScript file export.py wrote
      course::exported_dir("18_serving") / "classifier.pt";
  int port = 0;                  // 0: the system picks a free port (printed)
  int64_t max_batch = 32;        // most images in one forward pass (1: batching off)
  double max_wait_ms = 2;        // longest the first request of a batch waits for others
  int http_threads = 64;         // threads that read requests and wait for their answers
  int64_t max_body = 64 * 1024;  // bytes; a larger request body gets 413
  double read_timeout_s = 2;     // a client slower than this gets 400 and is dropped
  int64_t requests = 2000;       // requests sent at each load level
  std::vector<int64_t> clients = {1, 4, 16, 64};  // load levels: concurrent clients
  bool serve = false;                             // serve until SIGTERM/SIGINT instead of measuring
};
constexpr auto kAnswerTimeout = std::chrono::seconds(10);  // a handler waits this long at most

// ==== 1. The model: Python's TorchScript, loaded once ============================================
// pixels (B, 1, 28, 28) on the CPU -> probabilities (B, 10) on the CPU. The batcher calls it.
using Model = std::function<torch::Tensor(const torch::Tensor&)>;

Model load_model(const fs::path& path, torch::Device device) {
  if (!fs::is_regular_file(path))
    throw std::runtime_error(
        fmt::format("{} not found. export.py makes it: ./course build 18, or python "
                    "lessons/18_serving/export.py --out {} (or pass the file with --model)",
                    path.string(), path.parent_path().string()));
  auto module = std::make_shared<torch::jit::Module>(torch::jit::load(path.string(), device));
  module->eval();
  return [module, device](const torch::Tensor& pixels) {  // Python: module(pixels)
    return module->forward({pixels.to(device)}).toTensor().cpu();
  };
}

// ==== 2. Dynamic batching: many callers, one worker, one forward pass per batch ==================
class Batcher {
 public:
  /// Starts the worker. max_batch 1 and max_wait 0: every request runs alone (batching off).
  Batcher(Model model, int64_t max_batch, Micros max_wait)
      : model_(std::move(model)), max_batch_(max_batch), max_wait_(max_wait) {
    worker_ = std::thread([this] { run(); });
  }
  ~Batcher() { stop(); }

  /// image (1, 28, 28) -> a future of its probabilities (10,). Called by any thread.
  std::future<torch::Tensor> submit(torch::Tensor image) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) throw std::runtime_error("the server is shutting down");
    queue_.push_back(Job{std::move(image), {}, Clock::now()});
    wakeup_.notify_one();
    return queue_.back().answer.get_future();
  }
  /// Answers every request already submitted, then ends the worker.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wakeup_.notify_one();
    if (worker_.joinable()) worker_.join();
  }
  /// The next batch is recorded by LibTorch's profiler into a chrome://tracing file.
  void profile_next_batch(const fs::path& trace) {
    std::lock_guard<std::mutex> lock(mutex_);
    trace_ = trace;
  }
  int64_t batches() const { return batches_; }
  int64_t images() const { return images_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Job {
    torch::Tensor image;                 // (1, 28, 28)
    std::promise<torch::Tensor> answer;  // (10,), or the exception the model threw
    Clock::time_point arrived;
  };

  void run() {
    for (std::vector<Job> jobs = next_batch(); !jobs.empty(); jobs = next_batch()) answer(jobs);
  }

  // Waits for a first request, then until max_batch are there or the first has waited max_wait.
  // Empty only when stopping with nothing left.
  std::vector<Job> next_batch() {
    std::unique_lock<std::mutex> lock(mutex_);
    wakeup_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) return {};
    const auto deadline = queue_.front().arrived + max_wait_;
    wakeup_.wait_until(lock, deadline, [&] {
      return static_cast<int64_t>(queue_.size()) >= max_batch_ || stopping_;
    });
    const auto count = std::min<int64_t>(static_cast<int64_t>(queue_.size()), max_batch_);
    std::vector<Job> jobs(std::make_move_iterator(queue_.begin()),
                          std::make_move_iterator(queue_.begin() + count));
    queue_.erase(queue_.begin(), queue_.begin() + count);
    trace_now_ = std::exchange(trace_, std::nullopt);
    return jobs;
  }

  // One forward pass for the whole batch; row i goes back to the caller of job i.
  void answer(std::vector<Job>& jobs) {
    batches_ += 1;
    images_ += static_cast<int64_t>(jobs.size());
    std::ostringstream events;
    try {
      std::optional<torch::autograd::profiler::RecordProfile> profile;
      if (trace_now_) profile.emplace(events);  // records this thread's ops until it ends
      c10::InferenceMode inference;  // Python: with torch.inference_mode(): no autograd records
      std::vector<torch::Tensor> images;
      for (const Job& job : jobs) images.push_back(job.image);
      torch::Tensor probabilities;
      {
        RECORD_USER_SCOPE("serve_batch");  // a named span in the trace around the forward pass
        probabilities = model_(torch::stack(images));  // (B, 1, 28, 28) -> (B, 10)
      }
      for (size_t i = 0; i < jobs.size(); ++i) jobs[i].answer.set_value(probabilities[i]);
    } catch (...) {  // the model failed: every caller of this batch hears why
      for (Job& job : jobs) job.answer.set_exception(std::current_exception());
    }
    if (trace_now_) course::write_file_atomically(*trace_now_, events.str());
  }

  Model model_;
  const int64_t max_batch_;
  const Micros max_wait_;
  std::mutex mutex_;
  std::condition_variable wakeup_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::optional<fs::path> trace_, trace_now_;
  std::atomic<int64_t> batches_{0}, images_{0};
  std::thread worker_;  // last: it starts after every member above exists
};

// ==== 3. JSON in, JSON out =======================================================================
struct BadRequest : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// {"image": [[28 numbers in [0, 1]], ... 28 rows]} -> (1, 28, 28). Throws BadRequest saying why
// not.
torch::Tensor parse_image(const std::string& body) {
  const json request = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded())
    throw BadRequest(R"(the body is not JSON; send {"image": [[28 pixels], ... 28 rows]})");
  if (!request.is_object() || !request.contains("image"))
    throw BadRequest(R"(expected a JSON object with "image": 28 rows of 28 pixels in [0, 1])");
  const json& rows = request["image"];
  if (!rows.is_array() || rows.size() != 28)
    throw BadRequest(fmt::format(R"("image" must be an array of 28 rows, got {} {})",
                                 rows.is_array() ? rows.size() : 1, rows.type_name()));
  torch::Tensor image = torch::empty({1, 28, 28});
  auto pixels = image.accessor<float, 3>();
  for (size_t r = 0; r < 28; ++r) {
    if (!rows[r].is_array() || rows[r].size() != 28)
      throw BadRequest(fmt::format("row {} must be an array of 28 pixels, got {} {}", r,
                                   rows[r].is_array() ? rows[r].size() : 1, rows[r].type_name()));
    for (size_t c = 0; c < 28; ++c) {
      const json& pixel = rows[r][c];
      if (!pixel.is_number())
        throw BadRequest(fmt::format("pixel [{}][{}] must be a number in [0, 1], got a {}", r, c,
                                     pixel.type_name()));
      const double value = pixel.get<double>();
      if (!(value >= 0 && value <= 1))
        throw BadRequest(
            fmt::format("pixel [{}][{}] = {} is outside [0, 1]; divide 0-255 by 255", r, c, value));
      pixels[0][r][c] = static_cast<float>(value);
    }
  }
  return image;
}

// probabilities (10,) -> {"class": 9, "name": "Ankle boot", "probabilities": [10 numbers]}
std::string answer_json(const torch::Tensor& probabilities) {
  const torch::Tensor p = probabilities.contiguous();
  const int64_t label = p.argmax().item<int64_t>();
  return json{{"class", label},
              {"name", course::kFashionClasses.at(label)},
              {"probabilities", std::vector<float>(p.data_ptr<float>(), p.data_ptr<float>() + 10)}}
      .dump();
}

// pixels (28, 28) in [0, 1] -> the body a client POSTs to /predict.
std::string image_json(const torch::Tensor& pixels) {
  const torch::Tensor rows = pixels.to(torch::kFloat).contiguous().reshape({28, 28});
  std::vector<std::vector<float>> image(28);  // floats print short: 0.3, not 0.30000001192...
  for (int64_t r = 0; r < 28; ++r)
    image[r].assign(rows[r].data_ptr<float>(), rows[r].data_ptr<float>() + 28);
  return json{{"image", image}}.dump();
}

// ==== 4. The HTTP server =========================================================================
class InferenceServer {
 public:
  /// Binds 127.0.0.1 (only this machine can connect) and serves in a background thread.
  InferenceServer(Batcher& batcher, const Config& config) {
    const int threads = config.http_threads;
    http_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    http_.set_payload_max_length(static_cast<size_t>(config.max_body));  // else 413
    http_.set_read_timeout(Micros(static_cast<int64_t>(config.read_timeout_s * 1e6)));
    http_.set_keep_alive_max_count(1000);  // a client may send many requests on one connection
    http_.set_keep_alive_timeout(5);       // an idle one is closed after 5 s (and at shutdown)
    http_.set_tcp_nodelay(true);           // answers leave at once, not after Nagle's delay
    http_.set_socket_options([](socket_t socket) {  // not httplib's SO_REUSEPORT, which would
      const int yes = 1;                            // let a second server share a busy port
      ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    http_.Get("/health", [&batcher](const httplib::Request&, httplib::Response& response) {
      response.set_content(
          json{{"status", "ok"}, {"batches", batcher.batches()}, {"images", batcher.images()}}
              .dump(),
          "application/json");
    });
    http_.Post("/predict",
               [&batcher](const httplib::Request& request, httplib::Response& response) {
                 try {
                   std::future<torch::Tensor> answer = batcher.submit(parse_image(request.body));
                   if (answer.wait_for(kAnswerTimeout) != std::future_status::ready)
                     throw std::runtime_error("the model did not answer in time; try again");
                   response.set_content(answer_json(answer.get()), "application/json");
                 } catch (const BadRequest& e) {
                   response.status = 400;
                   response.set_content(json{{"error", e.what()}}.dump(), "application/json");
                 } catch (const std::exception& e) {
                   response.status = 503;
                   response.set_content(json{{"error", e.what()}}.dump(), "application/json");
                 }
               });
    // Errors that httplib answers by itself (413, 400 for an unreadable request, 404) get a
    // message too; the handlers' own 400 and 503 already have one.
    const int64_t max_body = config.max_body;
    const double timeout = config.read_timeout_s;
    http_.set_error_handler([max_body, timeout](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;
      std::string error = "no such endpoint: POST /predict or GET /health";
      if (res.status == 413)
        error =
            fmt::format("the body is larger than {} bytes: send one image per request", max_body);
      else if (res.status == 400 || res.status == 408)  // 408: newer cpp-httplib versions
        error =
            fmt::format("the request could not be read: incomplete, or slower than {} s", timeout);
      res.set_content(json{{"error", error}}.dump(), "application/json");
    });
    port_ = config.port == 0 ? http_.bind_to_any_port("127.0.0.1")
                             : (http_.bind_to_port("127.0.0.1", config.port) ? config.port : -1);
    if (port_ <= 0)
      throw std::runtime_error(fmt::format(
          "cannot listen on 127.0.0.1:{}: is it in use? pick another --port, or 0 for a free one",
          config.port));
    listener_ = std::thread([this] { http_.listen_after_bind(); });
    for (int i = 0; i < 5000 && !http_.is_running(); ++i)  // at most 5 s, so stop() works at once
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~InferenceServer() { stop(); }

  int port() const { return port_; }
  /// Takes no new connections; the requests in flight finish and are answered first.
  void stop() {
    http_.stop();
    if (listener_.joinable()) listener_.join();
  }

 private:
  httplib::Server http_;
  int port_ = 0;
  std::thread listener_;
};

// ==== 5. Graceful shutdown =======================================================================
std::atomic<bool> stop_signal{false};  // set by SIGINT (Ctrl-C) or SIGTERM (kill, docker stop)
static_assert(std::atomic<bool>::is_always_lock_free, "a signal handler may only touch these");

// Serves until SIGINT or SIGTERM (or `limit`), then stops the server (requests in flight are
// answered) and the batcher. Returns whether a signal ended it.
bool serve_until_signal(InferenceServer& server, Batcher& batcher, std::chrono::seconds limit) {
  stop_signal = false;
  std::signal(SIGINT, [](int) { stop_signal = true; });
  std::signal(SIGTERM, [](int) { stop_signal = true; });
  const course::Stopwatch clock;
  while (!stop_signal && clock.seconds() < static_cast<double>(limit.count()))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  server.stop();
  batcher.stop();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  return stop_signal;
}

#include "load.h"  // the load generator: concurrent clients, latency percentiles, the table

#ifndef COURSE_TESTING  // test.cpp includes this file for the functions above, with its own main
int main(int argc, char** argv) {
  try {
    Config config;
    course::Flags flags("18_serving", "An HTTP server with dynamic batching, measured under load");
    flags.add("--model", config.model, "The TorchScript file to serve");
    flags.add("--port", config.port, "Port on 127.0.0.1 (0: any free one)", {0, 65535});
    flags.add("--max-batch", config.max_batch, "Most images per forward pass", {1, 1024});
    flags.add("--max-wait-ms", config.max_wait_ms, "Longest wait for a batch to fill", {0, 1000});
    flags.add("--http-threads", config.http_threads, "Threads serving connections", {1, 1024});
    flags.add("--max-body", config.max_body, "Largest request body in bytes", {1024, 1 << 24});
    flags.add("--read-timeout", config.read_timeout_s, "Seconds a request may take to arrive",
              {0.01, 600});
    flags.add("--requests", config.requests, "Requests at each load level", {1, 1000000});
    flags.add("--clients", config.clients, "Load levels: concurrent clients", {1, 1024});
    flags.add_switch("--serve", config.serve, "Serve until Ctrl-C instead of measuring");
    const course::Options& options = flags.parse(argc, argv);
    if (options.smoke) config.requests = std::min<int64_t>(config.requests, 200);
    const course::Lesson lesson = course::begin_lesson(flags);
    const Model model = load_model(config.model, lesson.device);
    fmt::print("model: {} (TorchScript: lesson 08's CNN, ten classes)\n", config.model);
    const Micros max_wait(static_cast<int64_t>(config.max_wait_ms * 1000));

    if (config
            .serve) {  // ---- serve until Ctrl-C or SIGTERM ---------------------------------------
      Batcher batcher(model, config.max_batch, max_wait);
      InferenceServer server(batcher, config);
      fmt::print("serving http://127.0.0.1:{}/predict and /health; Ctrl-C or SIGTERM stops\n",
                 server.port());
      std::fflush(stdout);
      serve_until_signal(server, batcher, std::chrono::hours(24 * 365));
      fmt::print("stopped after answering {} images in {} batches\n", batcher.images(),
                 batcher.batches());
      return 0;
    }

    // ---- 1. Requests: test images as JSON bodies, and the answers expected --------------------
    const auto test = course::load_fashion_mnist(options, /*train=*/false);
    const int64_t count = std::min<int64_t>(test.images.size(0), 1000);
    const torch::Tensor pixels = test.images.slice(0, 0, count).to(torch::kFloat) / 255;
    std::vector<std::string> bodies;
    for (int64_t i = 0; i < count; ++i) bodies.push_back(image_json(pixels[i]));
    const torch::Tensor direct = model(pixels.unsqueeze(1)).argmax(1);  // (N,) without HTTP
    const std::vector<int64_t> expected(direct.data_ptr<int64_t>(),
                                        direct.data_ptr<int64_t>() + count);
    const double accuracy =
        direct.eq(test.labels.slice(0, 0, count)).to(torch::kDouble).mean().item<double>();
    fmt::print(
        "requests: {} test images as JSON bodies of about {} bytes; the model's accuracy on "
        "them {:.4f}\n",
        count, bodies[0].size(), accuracy);

    // ---- 2. The same load with batching on and off ------------------------------------------
    std::vector<LoadRow> rows;
    for (const bool batching : {true, false}) {
      Batcher batcher(model, batching ? config.max_batch : 1, batching ? max_wait : Micros(0));
      InferenceServer server(batcher, config);
      fmt::print("server: http://127.0.0.1:{} | {}\n", server.port(),
                 batching ? fmt::format("batching on: up to {} images, waiting at most {} ms",
                                        config.max_batch, config.max_wait_ms)
                          : std::string("batching off: each request alone"));
      for (const int64_t clients : config.clients)
        rows.push_back(
            measure(server.port(), batcher, bodies, expected, batching, clients, config.requests));
      if (batching) {  // ---- 3. One batch under the profiler -------------------------------------
        batcher.profile_next_batch(lesson.out_dir / "trace.json");
        run_load(server.port(), bodies, expected, /*clients=*/16, /*requests=*/16);
        fmt::print("profiled one batch: trace.json (open it in https://ui.perfetto.dev)\n");
      }
    }
    print_table(rows);
    save_load(rows, lesson.out_dir);
    course::print_result("18_serving", {{"clients", rows[config.clients.size() - 1].clients},
                                        {"batched_rps", rows[config.clients.size() - 1].throughput},
                                        {"unbatched_rps", rows.back().throughput}});
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
#endif  // COURSE_TESTING

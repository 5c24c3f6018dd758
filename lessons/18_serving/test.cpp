// Tests of lesson 18: the very Batcher, JSON functions and InferenceServer that main.cpp defines
// (it is included below, without its main). The batcher with a fake model (batches put together,
// max batch and max wait respected, each answer to its own caller); the server end to end on a
// free port of 127.0.0.1, serving export.py's fixed model, whose answers must equal Python's
// (golden.json); every bad request, each a 4xx with a message while the server keeps serving; a
// SIGTERM that lets the request in flight finish; the profiler's trace. Every wait is bounded.
#define COURSE_TESTING
#include "main.cpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "golden.h"
#include "scratch_dir.h"

using course::testing::AllClose;
using course::testing::error_of;
using course::testing::Golden;
using namespace std::chrono_literals;

namespace {

// A fake model: row i is filled with image i's mean pixel, and each call's batch size is kept.
struct Recorder {
  std::mutex mutex;
  std::vector<int64_t> sizes;
  std::chrono::milliseconds delay{0};
  std::atomic<bool> called{false};
  Model model() {
    return [this](const torch::Tensor& pixels) {  // (B, 1, 28, 28) -> (B, 10)
      called = true;
      std::this_thread::sleep_for(delay);
      std::lock_guard<std::mutex> lock(mutex);
      sizes.push_back(pixels.size(0));
      return pixels.mean({1, 2, 3}).unsqueeze(1).expand({pixels.size(0), 10}).clone();
    };
  }
};

torch::Tensor filled(double value) {
  return torch::full({1, 28, 28}, value);
}

double seconds_until_ready(std::future<torch::Tensor>& answer) {
  const course::Stopwatch clock;
  EXPECT_EQ(answer.wait_for(10s), std::future_status::ready);
  return clock.seconds();
}

TEST(Batcher, PutsRequestsThatArriveTogetherInOneBatch) {
  Recorder recorder;
  Batcher batcher(recorder.model(), /*max_batch=*/8, /*max_wait=*/Micros(2'000'000));
  std::vector<std::future<torch::Tensor>> answers;
  const course::Stopwatch clock;
  for (int i = 0; i < 8; ++i) answers.push_back(batcher.submit(filled(0.1 * i)));
  for (auto& answer : answers) ASSERT_EQ(answer.wait_for(10s), std::future_status::ready);
  EXPECT_LT(clock.seconds(), 1.5);  // a full batch goes at once, without waiting the 2 s
  EXPECT_EQ(recorder.sizes, std::vector<int64_t>({8}));
  EXPECT_EQ(batcher.batches(), 1);
  EXPECT_EQ(batcher.images(), 8);
}

TEST(Batcher, NeverRunsMoreThanMaxBatch) {
  Recorder recorder;
  recorder.delay = 20ms;  // requests pile up while a batch runs
  Batcher batcher(recorder.model(), /*max_batch=*/3, /*max_wait=*/Micros(50'000));
  std::vector<std::future<torch::Tensor>> answers;
  for (int i = 0; i < 10; ++i) answers.push_back(batcher.submit(filled(0.05 * i)));
  for (auto& answer : answers) ASSERT_EQ(answer.wait_for(10s), std::future_status::ready);
  int64_t total = 0;
  for (const int64_t size : recorder.sizes) {
    EXPECT_LE(size, 3);
    total += size;
  }
  EXPECT_EQ(total, 10);
  EXPECT_EQ(recorder.sizes.front(), 3);  // ten were queued at once: the first batch is full
}

TEST(Batcher, ALoneRequestWaitsMaxWaitAndNoLonger) {
  Recorder recorder;
  Batcher batcher(recorder.model(), /*max_batch=*/64, /*max_wait=*/Micros(300'000));
  auto answer = batcher.submit(filled(0.5));
  const double waited = seconds_until_ready(answer);
  EXPECT_GE(waited, 0.29);  // it waited for company...
  EXPECT_LT(waited, 3.0);   // ...but not forever (3 s: a loaded machine is slow)
  EXPECT_EQ(recorder.sizes, std::vector<int64_t>({1}));
}

TEST(Batcher, WithoutWaitingEachRequestRunsAtOnce) {
  Recorder recorder;
  Batcher batcher(recorder.model(), /*max_batch=*/1, /*max_wait=*/Micros(0));
  auto answer = batcher.submit(filled(0.5));
  EXPECT_LT(seconds_until_ready(answer), 0.25);
}

TEST(Batcher, EachCallerGetsItsOwnRow) {
  Recorder recorder;
  Batcher batcher(recorder.model(), /*max_batch=*/16, /*max_wait=*/Micros(5'000));
  std::vector<std::thread> callers;
  std::atomic<int> wrong{0}, right{0};
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const double value = (t * 25 + i) / 100.0;
        auto answer = batcher.submit(filled(value));
        if (answer.wait_for(10s) != std::future_status::ready) return;
        const torch::Tensor row = answer.get();  // (10,)
        (row.size(0) == 10 && std::abs(row[3].item<double>() - value) < 1e-6 ? right : wrong)++;
      }
    });
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(right, 100);
  EXPECT_EQ(wrong, 0);
  EXPECT_LT(batcher.batches(), 100);  // four callers at once: some batches held several
}

TEST(Batcher, StopAnswersEveryQueuedRequestThenRefusesNewOnes) {
  Recorder recorder;
  recorder.delay = 30ms;
  Batcher batcher(recorder.model(), /*max_batch=*/2, /*max_wait=*/Micros(1000));
  std::vector<std::future<torch::Tensor>> answers;
  for (int i = 0; i < 6; ++i) answers.push_back(batcher.submit(filled(0.1)));
  batcher.stop();
  for (auto& answer : answers) EXPECT_EQ(answer.wait_for(0s), std::future_status::ready);
  EXPECT_NE(error_of([&] { batcher.submit(filled(0.1)); }).find("shutting down"),
            std::string::npos);
}

TEST(Batcher, AModelErrorReachesEveryCallerOfTheBatch) {
  Batcher batcher([](const torch::Tensor&) -> torch::Tensor { throw std::runtime_error("boom"); },
                  /*max_batch=*/4, /*max_wait=*/Micros(100'000));
  auto first = batcher.submit(filled(0.1));
  auto second = batcher.submit(filled(0.2));
  EXPECT_EQ(error_of([&] { first.get(); }), "boom");
  EXPECT_EQ(error_of([&] { second.get(); }), "boom");
}

TEST(Batcher, RunsTheModelUnderInferenceMode) {
  Batcher batcher(
      [](const torch::Tensor& pixels) {
        return torch::full({pixels.size(0), 10}, c10::InferenceMode::is_enabled() ? 1.0 : 0.0);
      },
      /*max_batch=*/4, /*max_wait=*/Micros(0));
  EXPECT_EQ(batcher.submit(filled(0.1)).get()[0].item<double>(), 1.0);
}

// ---- JSON ---------------------------------------------------------------------------------------
TEST(Json, AnImageSurvivesTheRoundTrip) {
  const torch::Tensor pixels = torch::arange(784, torch::kFloat).reshape({28, 28}) / 783;
  EXPECT_TRUE(AllClose(parse_image(image_json(pixels)), pixels.unsqueeze(0), 0, 0));
}

TEST(Json, RefusesWhatIsNotAnImageAndSaysWhy) {
  const auto message = [](const std::string& body) {
    try {
      parse_image(body);
    } catch (const BadRequest& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  const std::string good = image_json(torch::full({28, 28}, 0.5));
  EXPECT_EQ(message(good), "(accepted)");
  EXPECT_NE(message("{\"image\": [1, 2").find("not JSON"), std::string::npos);
  EXPECT_NE(message("[1, 2]").find("JSON object"), std::string::npos);
  EXPECT_NE(message(R"({"pixels": []})").find("JSON object"), std::string::npos);
  EXPECT_NE(message(R"({"image": "shirt"})").find("28 rows, got 1 string"), std::string::npos);
  EXPECT_NE(
      message(json{{"image", std::vector<std::vector<double>>(27, std::vector<double>(28))}}.dump())
          .find("28 rows, got 27 array"),
      std::string::npos);
  EXPECT_NE(
      message(json{{"image", std::vector<std::vector<double>>(28, std::vector<double>(29))}}.dump())
          .find("row 0 must be an array of 28 pixels, got 29"),
      std::string::npos);
  json wrong_type = json::parse(good);
  wrong_type["image"][3][4] = "0.5";
  EXPECT_NE(message(wrong_type.dump()).find("pixel [3][4] must be a number"), std::string::npos);
  json too_bright = json::parse(good);
  too_bright["image"][0][27] = 255;
  EXPECT_NE(message(too_bright.dump()).find("pixel [0][27] = 255 is outside [0, 1]"),
            std::string::npos);
}

TEST(Json, TheAnswerNamesTheMostLikelyClass) {
  const torch::Tensor p =
      torch::tensor({0.0, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.9}, torch::kFloat);
  const json answer = json::parse(answer_json(p));
  EXPECT_EQ(answer["class"], 9);
  EXPECT_EQ(answer["name"], "Ankle boot");
  ASSERT_EQ(answer["probabilities"].size(), 10u);
  EXPECT_NEAR(answer["probabilities"][1].get<double>(), 0.1, 1e-7);
}

TEST(Load, PercentileIsTheNearestRank) {
  const std::vector<double> values = {5, 1, 4, 2, 3, 10, 9, 8, 7, 6};
  EXPECT_EQ(percentile(values, 50), 5);
  EXPECT_EQ(percentile(values, 95), 10);
  EXPECT_EQ(percentile(values, 10), 1);
  EXPECT_EQ(percentile({}, 50), 0);
}

// ---- The server, end to end ---------------------------------------------------------------------
// A server on a free port of 127.0.0.1, serving `model`; a client with short timeouts.
class Server : public course::testing::ScratchDir {
 protected:
  Config config_;
  const Golden golden_{"18_serving"};
  const fs::path fixed_model_ = course::exported_dir("18_serving") / "fixed.pt";

  httplib::Client client(int port) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(5s);
    client.set_read_timeout(10s);
    return client;
  }
};

TEST_F(Server, AnswersEqualPythonsForTheSameImages) {
  Batcher batcher(load_model(fixed_model_, torch::kCPU), /*max_batch=*/8, Micros(20'000));
  InferenceServer server(batcher, config_);
  ASSERT_GT(server.port(), 0);
  const torch::Tensor pixels = golden_.tensor("fixed/inputs/pixels");            // (3, 1, 28, 28)
  const torch::Tensor expected = golden_.tensor("fixed/outputs/probabilities");  // (3, 10)
  std::vector<std::future<httplib::Result>> answers;  // three at once: they share a batch
  for (int64_t i = 0; i < 3; ++i)
    answers.push_back(std::async(std::launch::async, [&, i] {
      return client(server.port()).Post("/predict", image_json(pixels[i][0]), "application/json");
    }));
  for (int64_t i = 0; i < 3; ++i) {
    const httplib::Result response = answers[i].get();
    ASSERT_TRUE(response) << "no answer";
    ASSERT_EQ(response->status, 200) << response->body;
    const json answer = json::parse(response->body);
    const auto p = answer["probabilities"].get<std::vector<float>>();
    EXPECT_TRUE(AllClose(torch::tensor(p), expected[i], 1e-4, 1e-6));
    EXPECT_EQ(answer["class"].get<int64_t>(), expected[i].argmax().item<int64_t>());
    EXPECT_EQ(answer["name"], course::kFashionClasses[answer["class"].get<size_t>()]);
  }
  EXPECT_LT(batcher.batches(), 3);
  const auto health = client(server.port()).Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body)["images"], 3);
}

// Sends `head`, then part of a body, then nothing: a client slower than the read timeout.
// Returns what the server answered (read for at most 10 s).
std::string slow_client(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval limit{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
    const std::string start =
        "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        "Content-Length: 2000\r\n\r\n{\"image\": [[0.1, ";
    if (::send(fd, start.data(), start.size(), 0) == static_cast<ssize_t>(start.size())) {
      char buffer[4096];
      for (ssize_t n; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) reply.append(buffer, n);
    }
  }
  ::close(fd);
  return reply;
}

TEST_F(Server, EveryBadRequestGetsA4xxWithAMessageAndTheServerKeepsServing) {
  config_.max_body = 16384;  // a 28x28 image in JSON is 2-9 KB
  config_.read_timeout_s = 0.5;
  Batcher batcher(load_model(fixed_model_, torch::kCPU), /*max_batch=*/8, Micros(1000));
  InferenceServer server(batcher, config_);
  const course::Stopwatch clock;
  auto slow = std::async(std::launch::async, [&] {
    std::string reply = slow_client(server.port());
    return std::make_pair(reply, clock.seconds());
  });
  auto http = client(server.port());
  const auto expect_error = [&](const std::string& body, int status, const std::string& words) {
    const auto response = http.Post("/predict", body, "application/json");
    ASSERT_TRUE(response) << "no answer to " << body.substr(0, 40);
    EXPECT_EQ(response->status, status) << response->body;
    EXPECT_NE(json::parse(response->body).at("error").get<std::string>().find(words),
              std::string::npos)
        << response->body;
  };
  expect_error("{\"image\": [[0.1, 0.2", 400, "not JSON");
  expect_error(
      json{{"image", std::vector<std::vector<double>>(14, std::vector<double>(14))}}.dump(), 400,
      "28 rows, got 14");
  expect_error(R"({"image": "a picture of a shoe"})", 400, "got 1 string");
  expect_error(std::string(40000, ' '), 413, "larger than 16384 bytes");
  const auto missing = client(server.port()).Get("/metrics");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find("POST /predict"), std::string::npos);
  // The good request, while the slow client still holds its connection open.
  const auto good =
      client(server.port())
          .Post("/predict", image_json(torch::full({28, 28}, 0.3)), "application/json");
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200);
  EXPECT_EQ(json::parse(good->body)["probabilities"].size(), 10u);
  const auto [reply, seconds] = slow.get();
  // 400 from Debian 12's cpp-httplib 0.11; newer versions may say 408 Request Timeout.
  EXPECT_TRUE(reply.rfind("HTTP/1.1 400", 0) == 0 || reply.rfind("HTTP/1.1 408", 0) == 0) << reply;
  EXPECT_LT(seconds, 3.0);  // dropped after the 0.5 s read timeout, not httplib's default 5 s
  EXPECT_NE(reply.find("slower than 0.5 s"), std::string::npos) << reply;
}

TEST_F(Server, SixteenClientsAtOnceShareOneBatch) {
  Recorder recorder;  // 16 HTTP threads must wait at once: more than httplib's default pool of 8
  Batcher batcher(recorder.model(), /*max_batch=*/16, /*max_wait=*/Micros(3'000'000));
  InferenceServer server(batcher, config_);
  std::vector<std::unique_ptr<httplib::Client>> clients;  // connected one by one (backlog 5)
  for (int i = 0; i < 16; ++i) {
    clients.push_back(std::make_unique<httplib::Client>("127.0.0.1", server.port()));
    clients.back()->set_keep_alive(true);
    clients.back()->set_read_timeout(10s);
    ASSERT_TRUE(clients.back()->Get("/health"));
  }
  std::vector<std::future<httplib::Result>> answers;
  for (auto& http : clients)
    answers.push_back(std::async(std::launch::async, [&http] {
      return http->Post("/predict", image_json(torch::full({28, 28}, 0.5)), "application/json");
    }));
  for (auto& answer : answers) {
    const auto response = answer.get();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
  EXPECT_EQ(recorder.sizes, std::vector<int64_t>({16}));
}

TEST_F(Server, SigtermLetsTheRequestInFlightFinish) {
  Recorder recorder;
  recorder.delay = 500ms;
  Batcher batcher(recorder.model(), /*max_batch=*/4, Micros(0));
  InferenceServer server(batcher, config_);
  const int port = server.port();
  auto in_flight = std::async(std::launch::async, [&] {
    return client(port).Post("/predict", image_json(torch::full({28, 28}, 0.25)),
                             "application/json");
  });
  // Caught from here on, so that a SIGTERM sent before serve_until_signal installs its own handler
  // cannot end the test program (serve_until_signal puts the default back when it returns).
  std::signal(SIGTERM, [](int) { stop_signal = true; });
  std::thread signaller([&] {  // SIGTERM while the model is busy with that request
    for (int i = 0; i < 1000 && !recorder.called; ++i) std::this_thread::sleep_for(5ms);
    std::this_thread::sleep_for(100ms);  // serve_until_signal waits by now; the model is busy
    std::raise(SIGTERM);
  });
  const bool signalled = serve_until_signal(server, batcher, std::chrono::seconds(20));
  signaller.join();
  EXPECT_TRUE(signalled);
  const auto response = in_flight.get();
  ASSERT_TRUE(response) << "the request in flight got no answer";
  EXPECT_EQ(response->status, 200);
  EXPECT_NEAR(json::parse(response->body)["probabilities"][0].get<double>(), 0.25, 1e-6);
  auto after = client(port);
  after.set_connection_timeout(1s);
  EXPECT_FALSE(after.Get("/health"));  // nobody listens any more
}

TEST_F(Server, RefusesAPortInUseWithAMessage) {
  Batcher batcher(Recorder().model(), 1, Micros(0));
  InferenceServer first(batcher, config_);
  config_.port = first.port();
  EXPECT_NE(error_of([&] { InferenceServer second(batcher, config_); }).find("--port"),
            std::string::npos);
}

TEST_F(Server, TheLoadGeneratorCountsEveryRequest) {
  Batcher batcher(load_model(fixed_model_, torch::kCPU), /*max_batch=*/8, Micros(1000));
  InferenceServer server(batcher, config_);
  const std::vector<std::string> bodies = {image_json(torch::full({28, 28}, 0.1)),
                                           image_json(torch::full({28, 28}, 0.9))};
  std::vector<int64_t> classes;
  for (const auto& body : bodies)
    classes.push_back(load_model(fixed_model_, torch::kCPU)(parse_image(body).unsqueeze(0))
                          .argmax(1)
                          .item<int64_t>());
  const LoadRow row = measure(server.port(), batcher, bodies, classes, true, /*clients=*/4,
                              /*requests=*/40);
  EXPECT_EQ(row.failed, 0);
  EXPECT_EQ(row.agreed, 40);
  EXPECT_GT(row.throughput, 0);
  EXPECT_LE(row.p50, row.p95);
  EXPECT_LE(row.p95, row.p99);
  EXPECT_GE(row.batch, 1.0);
}

TEST_F(Server, TheProfilerWritesATraceOfOneBatch) {
  Batcher batcher(load_model(fixed_model_, torch::kCPU), /*max_batch=*/4, Micros(0));
  batcher.profile_next_batch(dir_ / "trace.json");
  batcher.submit(filled(0.3)).get();
  batcher.submit(filled(0.3)).get();  // the second batch is not recorded
  const json trace = json::parse(course::read_file(dir_ / "trace.json"));
  ASSERT_TRUE(trace.is_array());
  int spans = 0, convolutions = 0;
  for (const json& event : trace) {
    spans += event["name"] == "serve_batch";
    convolutions += event["name"] == "aten::conv2d";
    EXPECT_EQ(event["ph"], "X");  // complete events, with ts and dur: chrome://tracing's format
  }
  EXPECT_EQ(spans, 1);
  EXPECT_EQ(convolutions, 2);
}

}  // namespace

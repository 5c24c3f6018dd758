// load.h: lesson 18's load generator, the measuring tool (main.cpp is the server it measures).
// A fixed number of requests, sent by N concurrent clients to 127.0.0.1, each on its own
// keep-alive connection; the latency of every request; throughput and percentiles; the table,
// load.csv and two plots. Included by main.cpp after the server, so it may use its types.
#pragma once

// ==== The load generator =========================================================================
struct Load {
  std::vector<double> latencies_ms;  // one per request, in no particular order
  int64_t failed = 0;                // no answer, or not 200
  int64_t agreed = 0;                // answers whose class is the one the model gives alone
  double seconds = 0;                // wall time of the whole level
};

// `requests` POSTs of bodies[i % size] by `clients` threads; a request waits at most 10 s. Each
// client connects first (GET /health), one after the other, and the clock starts when all are
// connected: what is measured is serving, not the kernel's queue of new connections (httplib
// listens with a backlog of 5: 64 connecting at once would wait for TCP's 1 s SYN retry).
Load run_load(int port, const std::vector<std::string>& bodies, const std::vector<int64_t>& labels,
              int64_t clients, int64_t requests) {
  std::atomic<int64_t> next{0}, failed{0}, agreed{0}, connected{0};
  std::atomic<bool> go{false};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(clients));
  std::vector<std::thread> threads;
  for (int64_t c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_connection_timeout(std::chrono::seconds(5));
      client.set_read_timeout(std::chrono::seconds(10));
      client.set_tcp_nodelay(true);  // send each request at once (no Nagle delay)
      for (int i = 0; i < 30000 && connected < c; ++i) std::this_thread::sleep_for(Micros(100));
      client.Get("/health");  // one at a time: the listen queue never overflows
      connected += 1;
      for (int i = 0; i < 30000 && !go; ++i) std::this_thread::sleep_for(Micros(100));
      for (int64_t i = next++; i < requests; i = next++) {
        const size_t k = static_cast<size_t>(i) % bodies.size();
        const course::Stopwatch clock;
        const auto response = client.Post("/predict", bodies[k], "application/json");
        latencies[static_cast<size_t>(c)].push_back(clock.seconds() * 1e3);
        if (!response || response->status != 200) {
          failed += 1;
          continue;
        }
        agreed += json::parse(response->body).at("class").get<int64_t>() == labels[k];
      }
    });
  }
  for (int i = 0; i < 30000 && connected < clients; ++i) std::this_thread::sleep_for(Micros(100));
  const course::Stopwatch wall;
  go = true;
  for (auto& thread : threads) thread.join();
  Load load;
  load.seconds = wall.seconds();
  for (const auto& list : latencies)
    load.latencies_ms.insert(load.latencies_ms.end(), list.begin(), list.end());
  load.failed = failed;
  load.agreed = agreed;
  return load;
}

// The p-th percentile (0-100) by nearest rank: the smallest value that p% of the values do not
// exceed. Python: numpy.percentile(values, p, method="inverted_cdf")
double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

// ==== One row of the table =======================================================================
struct LoadRow {
  bool batching = false;
  double clients = 0, requests = 0, failed = 0, agreed = 0;
  double throughput = 0;             // answered requests per second
  double p50 = 0, p95 = 0, p99 = 0;  // latency, milliseconds
  double batch = 0;                  // images per forward pass, on average
};

LoadRow measure(int port, const Batcher& batcher, const std::vector<std::string>& bodies,
                const std::vector<int64_t>& labels, bool batching, int64_t clients,
                int64_t requests) {
  const int64_t batches = batcher.batches(), images = batcher.images();
  const Load load = run_load(port, bodies, labels, clients, requests);
  LoadRow row;
  row.batching = batching;
  row.clients = static_cast<double>(clients);
  row.requests = static_cast<double>(requests);
  row.failed = static_cast<double>(load.failed);
  row.agreed = static_cast<double>(load.agreed);
  row.throughput = static_cast<double>(requests - load.failed) / load.seconds;
  row.p50 = percentile(load.latencies_ms, 50);
  row.p95 = percentile(load.latencies_ms, 95);
  row.p99 = percentile(load.latencies_ms, 99);
  row.batch = static_cast<double>(batcher.images() - images) /
              static_cast<double>(std::max<int64_t>(batcher.batches() - batches, 1));
  return row;
}

void print_table(const std::vector<LoadRow>& rows) {
  fmt::print(
      "batching | clients | requests | failed | same class | req/s   | p50 ms | p95 ms "
      "| p99 ms | images/batch\n");
  for (const LoadRow& r : rows)
    fmt::print(
        "{:<8} | {:>7} | {:>8} | {:>6} | {:>10} | {:>7.0f} | {:>6.2f} | {:>6.2f} | "
        "{:>6.2f} | {:>5.1f}\n",
        r.batching ? "on" : "off", r.clients, r.requests, r.failed, r.agreed, r.throughput, r.p50,
        r.p95, r.p99, r.batch);
}

// load.csv, throughput.png and latency.png (p99) against the number of clients, on and off.
void save_load(const std::vector<LoadRow>& rows, const fs::path& folder) {
  std::string csv = "batching,clients,requests,failed,same_class,rps,p50_ms,p95_ms,p99_ms,batch\n";
  course::Series rps[2] = {{"batching on", {}, {}}, {"batching off", {}, {}}};
  course::Series p99[2] = {{"batching on", {}, {}}, {"batching off", {}, {}}};
  for (const LoadRow& r : rows) {
    csv += fmt::format("{},{},{},{},{},{:.1f},{:.3f},{:.3f},{:.3f},{:.2f}\n", r.batching ? 1 : 0,
                       r.clients, r.requests, r.failed, r.agreed, r.throughput, r.p50, r.p95, r.p99,
                       r.batch);
    const int k = r.batching ? 0 : 1;
    rps[k].x.push_back(r.clients);
    rps[k].y.push_back(r.throughput);
    p99[k].x.push_back(r.clients);
    p99[k].y.push_back(r.p99);
  }
  course::write_file_atomically(folder / "load.csv", csv);
  course::plot_lines({rps[0], rps[1]}, "Throughput on 127.0.0.1", "concurrent clients",
                     "requests per second", folder / "throughput.png");
  course::plot_lines({p99[0], p99[1]}, "p99 latency", "concurrent clients", "milliseconds",
                     folder / "latency.png");
  fmt::print("wrote load.csv, throughput.png, latency.png and trace.json in {}\n", folder.string());
}

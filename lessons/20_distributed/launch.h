// launch.h: how lesson 20's ranks are started and find each other. A rank reads who it is from the
// environment torchrun gives it (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT,
// TORCHELASTIC_USE_AGENT_STORE) and connects to the store where the ranks meet. spawn_ranks is a
// tiny stand-in for torchrun, so that the lesson runs without Python: it starts copies of this
// program as ranks 0..N-1 with that environment, hosts their TCPStore as torchrun's agent does,
// waits for them, and when one fails stops the rest. Paperwork (environment, processes, signals):
// the lesson's own lines, the process group and the collectives, are in main.cpp.
#pragma once

#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace course {

inline std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : fallback;
}

// A TCPStore (server or client). LibTorch serves it with libuv by default since 2.4; Debian 13's
// LibTorch 2.6 is built without libuv and refuses ("use_libuv was requested but PyTorch was build
// without libuv support"): then the store it has always had, the same protocol on the wire.
inline c10::intrusive_ptr<c10d::TCPStore> make_tcp_store(const std::string& host,
                                                         c10d::TCPStoreOptions options) {
  try {
    return c10::make_intrusive<c10d::TCPStore>(host, options);
  } catch (const std::exception& e) {
    if (!options.useLibUV || std::string(e.what()).find("libuv") == std::string::npos) throw;
    options.useLibUV = false;
    return c10::make_intrusive<c10d::TCPStore>(host, options);
  }
}

// Where the ranks meet to swap addresses. Under torchrun (and --nproc) the launcher hosts a
// TCPStore and every rank, rank 0 too, connects as a client; Python's init_process_group wraps it
// in the same PrefixStore. Without torchrun: a file every rank can open, or one rank alone.
inline c10::intrusive_ptr<c10d::Store> connect_store(const std::string& store_file, int rank,
                                                     int size, std::chrono::milliseconds timeout) {
  if (!store_file.empty()) {  // Python: init_method="file:///path"
    return c10::make_intrusive<c10d::FileStore>(store_file, size);
  }
  if (std::getenv("MASTER_PORT") == nullptr) return c10::make_intrusive<c10d::HashStore>();
  c10d::TCPStoreOptions options;  // Python: init_method="env://"
  options.port = static_cast<uint16_t>(std::stoi(env_or("MASTER_PORT", "0")));
  options.isServer = env_or("TORCHELASTIC_USE_AGENT_STORE", "") != "True" && rank == 0;
  options.numWorkers = size;
  options.timeout = timeout;
  const auto tcp = make_tcp_store(env_or("MASTER_ADDR", "127.0.0.1"), options);
  const std::string attempt = env_or("TORCHELASTIC_RESTART_COUNT", "0");
  return c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + attempt, tcp);
}

// The rank and world size: torchrun's environment, else --rank and --world-size (default 0 of 1).
inline std::pair<int, int> rank_and_size(int64_t flag_rank, int64_t flag_size) {
  const int rank = std::stoi(env_or("RANK", std::to_string(flag_rank)));
  const int size = std::stoi(env_or("WORLD_SIZE", std::to_string(flag_size)));
  TORCH_CHECK(size >= 1 && rank >= 0 && rank < size, "rank ", rank, " of ", size,
              ": RANK must be in 0..WORLD_SIZE-1");
  return {rank, size};
}

/// The program's arguments without `--nproc N` (or `--nproc=N`): what each rank is started with.
inline std::vector<std::string> arguments_for_ranks(int argc, char** argv) {
  std::vector<std::string> kept;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--nproc") {
      ++i;  // and its value
    } else if (arg.rfind("--nproc=", 0) != 0) {
      kept.push_back(arg);
    }
  }
  return kept;
}

/// Starts `count` ranks of /proc/self/exe with `arguments` (argv[0] first) and waits for them.
/// Returns 0 when all exit with 0, else the first failure's exit status. After the first failure
/// the others get `grace` to stop by themselves, then SIGTERM, then SIGKILL `grace` later: the
/// launcher never waits without a bound once something went wrong. Each rank's own collectives
/// time out after its --timeout.
inline int spawn_ranks(int count, const std::vector<std::string>& arguments,
                       std::chrono::seconds grace) {
  c10d::TCPStoreOptions store_options;  // torchrun's agent store: the launcher is the server
  store_options.port = 0;               // any free port; the ranks learn it from MASTER_PORT
  store_options.isServer = true;
  store_options.waitWorkers = false;
  const auto store = make_tcp_store("127.0.0.1", store_options);

  const std::vector<std::string> keys{"RANK",        "LOCAL_RANK",  "WORLD_SIZE",
                                      "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_USE_AGENT_STORE"};
  std::vector<std::string> shared_env;  // this process's environment without those keys
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string key = entry.substr(0, entry.find('='));
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) shared_env.push_back(entry);
  }
  std::vector<pid_t> pids;
  for (int rank = 0; rank < count; ++rank) {
    const std::vector<std::string> values{std::to_string(rank),
                                          std::to_string(rank),
                                          std::to_string(count),
                                          "127.0.0.1",
                                          std::to_string(store->getPort()),
                                          "True"};
    std::vector<std::string> env = shared_env;
    for (size_t i = 0; i < keys.size(); ++i) env.push_back(keys[i] + "=" + values[i]);
    std::vector<char*> envp, args;
    for (auto& s : env) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> argument_copy = arguments;
    for (auto& s : argument_copy) args.push_back(s.data());
    args.push_back(nullptr);
    pid_t pid = 0;
    const int error =
        posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, args.data(), envp.data());
    if (error != 0) {
      for (const pid_t started : pids) kill(started, SIGKILL);  // each > 0: posix_spawn's
      throw std::runtime_error(
          fmt::format("--nproc: could not start rank {}: {}", rank, std::strerror(error)));
    }
    fmt::print("launch: rank {} is process {}\n", rank, pid);
    std::fflush(stdout);
    pids.push_back(pid);
  }

  // After the first failure the others get `grace` to notice it themselves (their collectives
  // fail at once when a peer's connection closes, and they say so), then SIGTERM, then SIGKILL.
  int result = 0, running = count;
  std::chrono::steady_clock::time_point failed_at;
  bool terminated = false;
  const auto signal_others = [&pids](int signal) {
    for (const pid_t p : pids) {
      if (p > 0) kill(p, signal);  // never kill(-1, ...): that means every process
    }
  };
  while (running > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid == 0) {
      const auto waited = std::chrono::steady_clock::now() - failed_at;
      if (result != 0 && !terminated && waited > grace) {
        signal_others(SIGTERM);
        terminated = true;
      } else if (result != 0 && waited > 2 * grace) {
        signal_others(SIGKILL);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    if (pid < 0) break;  // no children left
    --running;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    for (size_t rank = 0; rank < pids.size(); ++rank) {
      if (pids[rank] != pid) continue;
      pids[rank] = -1;
      if (code != 0 && result == 0) {
        fmt::print(stderr, "launch: rank {} exited with status {}; the others stop too\n", rank,
                   code);
        result = code;
        failed_at = std::chrono::steady_clock::now();
      }
    }
  }
  return result;
}

}  // namespace course

// Tests of lesson 20: the very functions main.cpp defines (it is included below, without its main).
// Ranks here are threads of one process, each with its own ProcessGroupGloo on 127.0.0.1, meeting
// in one in-memory store (c10d::HashStore): the same collectives as separate processes, without
// starting any. Real processes: lesson.20_distributed (--nproc 2) and kill_rank.sh.
#define COURSE_TESTING
#include "main.cpp"

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {

constexpr std::chrono::seconds kTimeout{20};  // every collective in these tests: at most this

// Runs body(world) on `size` ranks at once, one thread each, and rethrows the first failure.
void on_ranks(int size, const std::function<void(World&)>& body,
              std::chrono::milliseconds timeout = kTimeout) {
  const auto store = c10::make_intrusive<c10d::HashStore>();
  std::vector<std::thread> threads;
  std::exception_ptr failure;
  std::mutex mutex;
  for (int rank = 0; rank < size; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        World world = make_world(store, rank, size, torch::kCPU, timeout);
        body(world);
      } catch (...) {
        const std::lock_guard<std::mutex> lock(mutex);
        if (!failure) failure = std::current_exception();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  if (failure) std::rethrow_exception(failure);
}

// The small Cnn of the golden "equivalence" case, with the weights stored there; dropout 0.
course::Cnn golden_model(const Golden& golden) {
  const auto width = [&](const char* name) {
    return static_cast<int64_t>(golden.scalar(std::string("equivalence/inputs/") + name));
  };
  course::Cnn model(course::CnnOptions()
                        .channels1(width("channels1"))
                        .channels2(width("channels2"))
                        .hidden(width("hidden"))
                        .dropout(0.0));
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters())
    item.value().copy_(golden.tensor("equivalence/inputs/state/" + item.key()));
  for (auto& item : model->named_buffers())
    item.value().copy_(golden.tensor("equivalence/inputs/state/" + item.key()));
  return model;
}

// Python's weights after `steps` steps of one process with batch 2B; this runs the same steps on
// one rank of `size`: at step k it takes every size-th image of the global batch k from `rank`.
void expect_equivalent(const Golden& golden, World& world) {
  auto model = golden_model(golden);
  model->eval();  // batch norm on its running statistics: each image's loss is its own
  const auto images = golden.tensor("equivalence/inputs/images");  // (24, 1, 28, 28)
  const auto labels = golden.tensor("equivalence/inputs/labels");  // (24,)
  const auto global = static_cast<int64_t>(golden.scalar("equivalence/inputs/global_batch"));
  torch::optim::Adam optimizer(model->parameters(),
                               torch::optim::AdamOptions(golden.scalar("equivalence/inputs/lr")));
  const auto buckets = make_buckets(model->parameters(), /*bytes=*/1000);  // several buckets
  for (int64_t step = 0; step < golden.scalar("equivalence/inputs/steps"); ++step) {
    const auto mine = torch::arange(step * global + world.rank, (step + 1) * global, world.size);
    train_step(model, optimizer, world, buckets, images.index_select(0, mine),
               labels.index_select(0, mine));
  }
  for (const auto& item : model->named_parameters()) {
    EXPECT_TRUE(AllClose(item.value(), golden.tensor("equivalence/outputs/state/" + item.key()),
                         1e-4, 1e-5))
        << "rank " << world.rank << " of " << world.size << ": " << item.key();
  }
}

}  // namespace

// ---- sharding
// ------------------------------------------------------------------------------------

TEST(Shard, IsWhatPythonsDistributedSamplerGives) {
  const Golden golden("20_distributed");
  for (const std::string name : {"shard_11_2", "shard_10_3"}) {
    const auto input = [&](const char* key) {
      return static_cast<int64_t>(golden.scalar(name + "/inputs/" + key));
    };
    for (int rank = 0; rank < input("size"); ++rank) {
      const auto mine = shard(input("n"), input("epoch"), static_cast<uint64_t>(input("seed")),
                              rank, static_cast<int>(input("size")));
      EXPECT_TRUE(torch::equal(mine, golden.tensor(name + "/outputs/rank" + std::to_string(rank))))
          << name << " rank " << rank << ": " << mine;
    }
  }
}

TEST(Shard, TheRanksCoverEveryImageOnceAnEpoch) {
  for (const auto& [n, size] : std::vector<std::pair<int64_t, int>>{{60000, 2}, {1001, 3}}) {
    std::vector<torch::Tensor> shards;
    for (int rank = 0; rank < size; ++rank) shards.push_back(shard(n, 1, 42, rank, size));
    for (const auto& s : shards) EXPECT_EQ(s.size(0), n / size);  // equal steps on every rank
    const auto all = std::get<0>(torch::cat(shards).sort());
    EXPECT_EQ(std::get<0>(torch::_unique(all)).size(0), n / size * size) << "an image twice";
    // The images left out (fewer than W) are the end of that epoch's order, as in Python.
    if (n % size == 0) {
      EXPECT_TRUE(torch::equal(all, torch::arange(n))) << "n " << n;
    }
    // Another epoch: another order, the same images.
    EXPECT_FALSE(torch::equal(shard(n, 1, 42, 0, size), shard(n, 2, 42, 0, size)));
  }
}

// ---- buckets and the all-reduce ----------------------------------------------------------------

TEST(Buckets, HoldEveryParameterOnceInOrderWithinTheSize) {
  course::Cnn model;
  const auto parameters = model->parameters();
  const int64_t bytes = 64 * 1024;
  const auto buckets = make_buckets(parameters, bytes);
  EXPECT_GT(buckets.size(), 2u);
  size_t next = 0;
  for (const auto& bucket : buckets) {
    ASSERT_FALSE(bucket.empty());
    int64_t filled = 0;
    for (const auto& p : bucket) {
      ASSERT_LT(next, parameters.size());
      EXPECT_TRUE(p.is_same(parameters[next++]));
      filled += static_cast<int64_t>(p.nbytes());
    }
    EXPECT_TRUE(filled <= bytes || bucket.size() == 1) << "a bucket over the size";
    // Greedy, as DDP's: a bucket is closed only when the next parameter would not fit in it.
    if (next < parameters.size()) {
      EXPECT_GT(filled + static_cast<int64_t>(parameters[next].nbytes()), bytes)
          << "bucket closed early, before parameter " << next;
    }
  }
  EXPECT_EQ(next, parameters.size());
  EXPECT_EQ(make_buckets(parameters, int64_t{1} << 30).size(), 1u);  // all in one
}

TEST(AllReduce, EveryRankEndsWithTheMeanGradient) {
  on_ranks(3, [](World& world) {
    std::vector<torch::Tensor> parameters;
    for (const int64_t size : {5, 300, 7}) {
      auto p = torch::zeros({size}, torch::requires_grad());
      // rank r's gradient: (r + 1) * (1, 2, 3, ...): the mean over 3 ranks is 2 * (1, 2, ...)
      p.mutable_grad() = (world.rank + 1.0) * torch::arange(1, size + 1, torch::kFloat32);
      parameters.push_back(p);
    }
    average_gradients(world, make_buckets(parameters, /*bytes=*/100));  // three buckets
    for (const auto& p : parameters) {
      EXPECT_TRUE(AllClose(p.grad(), 2.0 * torch::arange(1, p.numel() + 1, torch::kFloat32)))
          << "rank " << world.rank << ": " << p.grad().slice(0, 0, 5);
    }
  });
}

TEST(Broadcast, EveryRankStartsFromRank0sWeights) {
  on_ranks(2, [](World& world) {
    course::Cnn model(course::CnnOptions().channels1(4).channels2(4).hidden(8));
    auto state = model->parameters();
    for (const auto& buffer : model->buffers()) state.push_back(buffer);
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < state.size(); ++i) state[i].fill_(10 * world.rank + i % 7);
    broadcast_from_rank0(*world.backend, state);
    for (size_t i = 0; i < state.size(); ++i) {  // rank 0's values everywhere, buffers too
      EXPECT_TRUE(torch::equal(state[i], torch::full_like(state[i], i % 7)))
          << "rank " << world.rank << ", tensor " << i;
    }
  });
}

TEST(Buffers, BatchNormStatisticsAreAveragedOverTheRanks) {
  on_ranks(2, [](World& world) {
    course::Cnn model(course::CnnOptions().channels1(4).channels2(4).hidden(8));
    model->bn1->running_mean.fill_(world.rank == 0 ? 1.0 : 3.0);
    model->bn1->num_batches_tracked.fill_(5);
    average_buffers(world, model);
    EXPECT_TRUE(AllClose(model->bn1->running_mean, torch::full({4}, 2.0)));
    EXPECT_EQ(model->bn1->num_batches_tracked.item<int64_t>(), 5);  // not summed
  });
}

// ---- the point of it all: W ranks with batch B train the model one rank trains with W x B ------

TEST(DataParallel, TwoRanksWithBatchBEndWithPythonsWeightsOfOneProcessWithBatch2B) {
  const Golden golden("20_distributed");
  on_ranks(2, [&](World& world) { expect_equivalent(golden, world); });
}

TEST(DataParallel, OneRankWithBatch2BEndsWithPythonsWeights) {
  const Golden golden("20_distributed");
  on_ranks(1, [&](World& world) { expect_equivalent(golden, world); });
}

TEST(DataParallel, AnEpochKeepsTheRanksWeightsEqualAndReportsTheirCommonScore) {
  std::vector<torch::Tensor> weights(2);
  std::vector<Score> scores(2);
  on_ranks(2, [&](World& world) {
    torch::manual_seed(world.rank);  // batch norm and dropout in train mode, different masks
    course::Cnn model(course::CnnOptions().channels1(4).channels2(4).hidden(8));
    auto state = model->parameters();
    broadcast_from_rank0(*world.backend, state);
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
    const auto images =
        torch::sin(torch::arange(40 * 784, torch::kFloat32) * 0.01).reshape({40, 1, 28, 28});
    const Data data{images, torch::arange(40) % 10, images, torch::arange(40) % 10};
    Config config;
    config.batch_size = 8;
    scores[world.rank] = train_epoch(model, optimizer, world, make_buckets(state, 4096), data,
                                     config, /*seed=*/42, /*epoch=*/1, /*epochs=*/1);
    std::vector<torch::Tensor> flat;
    for (const auto& p : model->parameters()) flat.push_back(p.detach().flatten());
    weights[world.rank] = torch::cat(flat);
  });
  EXPECT_TRUE(torch::equal(weights[0], weights[1])) << "the ranks' weights drifted apart";
  EXPECT_EQ(scores[0].loss, scores[1].loss);
  EXPECT_EQ(scores[0].accuracy, scores[1].accuracy);
  EXPECT_TRUE(std::isfinite(scores[0].loss));
}

// ---- failures stop the run, within the timeout -------------------------------------------------

TEST(Failure, ARankThatStopsMakesTheOthersFailWithAClearErrorNotHang) {
  const auto started = std::chrono::steady_clock::now();
  try {
    on_ranks(
        2,
        [](World& world) {
          if (world.rank == 1) return;  // leaves: its process group closes its connections
          auto p = torch::zeros({10}, torch::requires_grad());
          p.mutable_grad() = torch::ones({10});
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
          average_gradients(world, make_buckets({p}, 1 << 20));
        },
        std::chrono::seconds(5));
    FAIL() << "rank 0 went on alone";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("rank 0: the gradient all-reduce failed"),
              std::string::npos)
        << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
}

TEST(Launch, TheStoreWorksWithoutLibuvAsOnDebian) {
  // Debian 13's LibTorch has no libuv: make_tcp_store then serves the store without it. The same
  // server here, asked for directly, with a client that sets a key and reads it back.
  c10d::TCPStoreOptions server_options;
  server_options.port = 0;
  server_options.isServer = true;
  server_options.waitWorkers = false;
  server_options.useLibUV = false;
  const auto server = course::make_tcp_store("127.0.0.1", server_options);
  c10d::TCPStoreOptions client_options;
  client_options.port = server->getPort();
  client_options.timeout = std::chrono::seconds(10);
  const auto client = course::make_tcp_store("127.0.0.1", client_options);
  client->set("key", std::vector<uint8_t>{4, 2});
  EXPECT_EQ(server->get("key"), (std::vector<uint8_t>{4, 2}));
}

TEST(Launch, EachRankGetsAGpuOfItsOwnOrAClearRefusal) {
  EXPECT_EQ(rank_device(torch::kCPU, 3), torch::Device(torch::kCPU));  // Gloo: all on the CPU
  const int gpus = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  if (gpus > 0) {
    EXPECT_EQ(rank_device(torch::kCUDA, gpus - 1), torch::Device(torch::kCUDA, gpus - 1));
  }
  try {
    rank_device(torch::kCUDA, gpus);  // one rank more than there are GPUs
    ADD_FAILURE() << "a rank without a GPU of its own must be refused";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("has no GPU of its own"), std::string::npos) << e.what();
  }
}

TEST(Launch, TheRanksGetTheArgumentsWithoutNproc) {
  std::vector<std::string> words{"20_distributed", "--nproc", "2", "--smoke", "--nproc=3", "--x"};
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  EXPECT_EQ(course::arguments_for_ranks(static_cast<int>(argv.size()), argv.data()),
            (std::vector<std::string>{"20_distributed", "--smoke", "--x"}));
}

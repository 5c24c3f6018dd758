// 20_distributed: lesson 08's CNN trained by several processes at once (data parallelism), with
// PyTorch's own communication library, c10d, launched by torchrun as Python's DDP is.
//
// What it teaches:
//   - joining a group of processes: the environment torchrun sets (RANK, WORLD_SIZE, MASTER_ADDR,
//     MASTER_PORT), a TCPStore where the ranks meet, and a ProcessGroupGloo (CPU) or
//     ProcessGroupNCCL (CUDA) on top of it
//   - what DistributedDataParallel does, by hand: the same initial weights on every rank
//     (broadcast), each rank on its own shard of the data (DistributedSampler), and after
//     backward() the gradients averaged over the ranks with all-reduce, in buckets
//   - why one rank with batch 2B and two ranks with batch B train the same model
//   - rank 0 alone evaluates, logs and writes the checkpoint; a failed rank stops the others
// What it leaves out on purpose: overlapping the all-reduce with backward() (DDP's autograd
// hooks), SyncBatchNorm (each rank's batch norm sees its own B images), several machines.
//
// Run:  torchrun --standalone --nproc-per-node=2 --no-python build/release/bin/20_distributed
//           --threads 1                               (one line; torchrun comes with pip's torch)
//       ./course run 20 -- --nproc 2 --threads 1      (the same without Python)
//       ./course run 20 -- --smoke --nproc 2          (512 images, seconds)
#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>  // Gloo's headers: README, "Gloo"
#ifdef COURSE_HAVE_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>
#include <string>
#include <vector>

#include "08_cnn/cnn.h"
#include "course/checkpoint.h"
#include "course/device.h"
#include "course/fashion_mnist.h"
#include "course/history.h"
#include "course/lesson.h"
#include "course/schedule.h"
#include "course/timer.h"
#include "launch.h"

// Dimension legend: N = images in a split, B = images in one rank's batch, W = ranks (world size).

// ==== Configuration ==============================================================================
struct Config {
  course::CnnOptions model;     // lesson 08's CNN: 32 then 64 feature maps, 128 hidden, dropout 0.3
  double lr = 1e-3;             // Adam's peak learning rate; cosine decay to 0 over the run
  int64_t batch_size = 64;      // images per step on each rank: the global batch is W x 64
  double bucket_mb = 0.5;       // gradients are all-reduced in buckets of about this size
  int64_t timeout_s = 300;      // a rendezvous or collective waiting longer fails the run
  int64_t nproc = 0;            // --nproc W: start W ranks of this program here (no torchrun)
  std::string store_file;       // --store-file: ranks started by hand meet in this file
  int64_t rank = 0, world = 1;  // with --store-file: this rank and the world size
};
constexpr int kEpochs = 5;            // default --epochs
constexpr int64_t kEvalBatch = 1000;  // images per forward pass when evaluating

// ==== Joining the group: a store to meet in, a process group to talk through ====================
struct World {
  int rank = 0, size = 1;
  c10::intrusive_ptr<c10d::Backend> backend;  // all-reduce, broadcast: Gloo (CPU) or NCCL (CUDA)
};

// Python: dist.init_process_group("gloo" or "nccl", store=store, rank=rank, world_size=size).
// Returns once every rank has joined (or throws after `timeout`).
World make_world(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                 const torch::Device& device, std::chrono::milliseconds timeout) {
  World world{rank, size, {}};
#ifdef COURSE_HAVE_NCCL
  if (device.is_cuda()) {
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    world.backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
    return world;
  }
#endif
  TORCH_CHECK(device.is_cpu(), "--device ", device.str(), " needs ProcessGroupNCCL, which this ",
              "build has not (a CUDA LibTorch and toolkit): use --device cpu");
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  // Options::create() has no network device: name one. 127.0.0.1: all ranks are on this machine.
  options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  world.backend = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, options);
  return world;
}

// The device of the rank with this LOCAL_RANK: on CUDA its own GPU, cuda:LOCAL_RANK, since NCCL
// needs one GPU per rank (Python: torch.cuda.set_device(local_rank)). More ranks than GPUs is
// refused here, with what to do, rather than failing later inside NCCL or CUDA.
torch::Device rank_device(const torch::Device& chosen, int local_rank) {
  if (!chosen.is_cuda()) return chosen;
  const int gpus = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  TORCH_CHECK(local_rank < gpus, "the rank with LOCAL_RANK ", local_rank,
              " has no GPU of its own: this machine has ", gpus,
              " and NCCL needs one per rank. Start at most that many ranks (--nproc or torchrun's "
              "--nproc-per-node), or train on the CPU with --device cpu (Gloo)");
  return {torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank)};
}

// ==== The three things DDP does ==================================================================
// 1. Every rank starts from rank 0's weights (and batch norm statistics).
void broadcast_from_rank0(c10d::Backend& backend, const std::vector<torch::Tensor>& tensors) {
  for (const auto& tensor : tensors) {
    std::vector<torch::Tensor> one{tensor};  // Gloo broadcasts one tensor per call
    backend.broadcast(one, c10d::BroadcastOptions{/*rootRank=*/0})->wait();
  }
}

// 2. Each rank trains on its own shard: the same shuffled order on every rank (seeded by epoch),
// cut to a multiple of W, then every W-th index from position `rank`. (W,) shards cover each
// used image once. Python: DistributedSampler(data, W, rank, seed=seed, drop_last=True)
torch::Tensor shard(int64_t n, int64_t epoch, uint64_t seed, int rank, int size) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed + epoch);
  const auto order = torch::randperm(n, generator, torch::kInt64);  // (N,)
  const int64_t used = n / size * size;
  return order.slice(0, rank, used, size);  // (N / W,)  Python: order[rank:used:size]
}

// 3. After backward(), the gradients averaged over the ranks. As DDP does, gradients travel in
// buckets of about `bytes`: one all-reduce per bucket, all in flight at once.
std::vector<std::vector<torch::Tensor>> make_buckets(const std::vector<torch::Tensor>& parameters,
                                                     int64_t bytes) {
  std::vector<std::vector<torch::Tensor>> buckets(1);
  int64_t filled = 0;
  for (const auto& p : parameters) {
    if (filled > 0 && filled + p.nbytes() > static_cast<size_t>(bytes)) {
      buckets.emplace_back();
      filled = 0;
    }
    buckets.back().push_back(p);
    filled += static_cast<int64_t>(p.nbytes());
  }
  return buckets;
}

void average_gradients(const World& world, const std::vector<std::vector<torch::Tensor>>& buckets) {
  std::vector<std::vector<torch::Tensor>> flat(buckets.size());
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (size_t b = 0; b < buckets.size(); ++b) {
    std::vector<torch::Tensor> grads;
    for (const auto& p : buckets[b]) grads.push_back(p.grad().flatten());
    flat[b] = {torch::cat(grads)};                       // (numbers in bucket b,)
    works.push_back(world.backend->allreduce(flat[b]));  // SUM over ranks, in place
  }
  for (size_t b = 0; b < buckets.size(); ++b) {
    try {
      works[b]->wait();                  // bounded: the process group's timeout
    } catch (const std::exception& e) {  // Gloo's own errors too ("Connection closed by peer")
      const auto* error = dynamic_cast<const c10::Error*>(&e);
      throw std::runtime_error(fmt::format(
          "rank {}: the gradient all-reduce failed, most likely because another rank stopped "
          "(see its error): {}",
          world.rank, error != nullptr ? error->what_without_backtrace() : e.what()));
    }
    const auto mean = flat[b][0] / world.size;  // Gloo has no AVG: sum, then divide by W
    int64_t offset = 0;
    for (const auto& p : buckets[b]) {
      p.grad().copy_(mean.slice(0, offset, offset + p.numel()).view_as(p));
      offset += p.numel();
    }
  }
}

// Batch norm statistics, averaged over the ranks before rank 0 evaluates.
void average_buffers(const World& world, course::Cnn& model) {
  for (auto& buffer : model->buffers()) {
    if (!buffer.is_floating_point()) continue;  // num_batches_tracked: the same on every rank
    std::vector<torch::Tensor> one{buffer};
    world.backend->allreduce(one)->wait();
    buffer.div_(world.size);
  }
}

// ==== Training: lesson 08's step with the all-reduce between backward() and step() ==============
struct Data {
  torch::Tensor x_train, y_train, x_test, y_test;  // (N, 1, 28, 28) normalised, (N,) labels
};

struct StepResult {
  torch::Tensor loss, logits;  // () this rank's mean loss, (B, 10); read only at log points
};

StepResult train_step(course::Cnn& model, torch::optim::Optimizer& optimizer, const World& world,
                      const std::vector<std::vector<torch::Tensor>>& buckets,
                      const torch::Tensor& images, const torch::Tensor& labels) {
  optimizer.zero_grad();
  const auto logits = model->forward(images);  // (B, 10)
  const auto loss = torch::nn::functional::cross_entropy(logits, labels);
  loss.backward();                    // this rank's gradients, from its B images
  average_gradients(world, buckets);  // now every rank holds the mean over all W x B images
  optimizer.step();                   // the same update on every rank: the weights stay equal
  return {loss.detach(), logits.detach()};
}

struct Score {
  double loss = 0, accuracy = 0;
};

// One epoch on this rank's shard; returns the loss and accuracy over all ranks' images.
Score train_epoch(course::Cnn& model, torch::optim::Optimizer& optimizer, const World& world,
                  const std::vector<std::vector<torch::Tensor>>& buckets, const Data& data,
                  const Config& config, uint64_t seed, int epoch, int epochs) {
  model->train();
  const auto mine = shard(data.x_train.size(0), epoch, seed, world.rank, world.size)
                        .to(data.x_train.device());  // (N / W,)
  const int64_t steps = (mine.size(0) + config.batch_size - 1) / config.batch_size;
  auto totals = torch::zeros({3}, data.x_train.options().dtype(torch::kFloat64));  // loss, right, n
  for (int64_t step = 0; step < steps; ++step) {
    course::set_lr(optimizer,
                   course::cosine_lr(config.lr, (epoch - 1) * steps + step, epochs * steps));
    const auto index = mine.slice(0, step * config.batch_size, (step + 1) * config.batch_size);
    const auto x = data.x_train.index_select(0, index);  // (B, 1, 28, 28)
    const auto y = data.y_train.index_select(0, index);  // (B,)
    const auto result = train_step(model, optimizer, world, buckets, x, y);
    const auto right = result.logits.argmax(1).eq(y).sum().to(torch::kFloat64);
    totals += torch::stack(
        {result.loss * x.size(0), right, torch::full({}, x.size(0), totals.options())});
  }
  std::vector<torch::Tensor> sum{totals};
  world.backend->allreduce(sum)->wait();  // the epoch's numbers over all ranks
  const auto t = sum[0].cpu();
  const double loss = t[0].item<double>() / t[2].item<double>();
  course::stop_if_diverged(loss, epoch, config.lr);
  return {loss, t[1].item<double>() / t[2].item<double>()};
}

Score evaluate(course::Cnn& model, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  model->eval();
  auto loss_sum = torch::zeros({}, x.options());
  auto correct = torch::zeros({}, y.options());
  for (int64_t start = 0; start < x.size(0); start += kEvalBatch) {
    const auto logits = model->forward(x.slice(0, start, start + kEvalBatch));  // (B, 10)
    const auto labels = y.slice(0, start, start + kEvalBatch);
    loss_sum += torch::nn::functional::cross_entropy(
        logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    correct += logits.argmax(1).eq(labels).sum();
  }
  model->train();
  const auto n = static_cast<double>(x.size(0));
  return {loss_sum.item<double>() / n, correct.item<double>() / n};
}

// ==== main: join, data, model, train on every rank, report on rank 0 =============================
#ifndef COURSE_TESTING  // test.cpp includes this file for the functions above, with its own main
int main(int argc, char** argv) {
  try {
    Config config;
    course::Options defaults;
    defaults.epochs = kEpochs;
    course::Flags flags("20_distributed", "Lesson 08's CNN trained by several processes (c10d)",
                        defaults);
    flags.add("--lr", config.lr, "Adam's peak learning rate", {1e-6, 1.0});
    flags.add("--batch-size", config.batch_size, "Images per step on each rank", {1, 60000});
    flags.add("--bucket-mb", config.bucket_mb, "Size of a gradient bucket in MiB", {1e-3, 1024});
    flags.add("--timeout", config.timeout_s, "Seconds a rank waits for the others", {1, 86400});
    flags.add("--nproc", config.nproc, "Start this many ranks here, as torchrun would", {0, 64});
    flags.add("--store-file", config.store_file, "Ranks started by hand meet in this file");
    flags.add("--rank", config.rank, "This rank, with --store-file", {0, 1023});
    flags.add("--world-size", config.world, "Number of ranks, with --store-file", {1, 1024});
    const course::Options& options = flags.parse(argc, argv);
    if (config.nproc > 0) {  // the launcher: starts the ranks, waits, reports the first failure
      return course::spawn_ranks(static_cast<int>(config.nproc),
                                 course::arguments_for_ranks(argc, argv), std::chrono::seconds(5));
    }

    // ---- 1. Join the group: rank 0 prints, logs and saves; the others only train ----------
    const auto device = rank_device(course::choose_device(options.device),
                                    std::stoi(course::env_or("LOCAL_RANK", "0")));
    const auto [rank, size] = course::rank_and_size(config.rank, config.world);
    const std::chrono::milliseconds timeout = std::chrono::seconds(config.timeout_s);
    const World world = make_world(course::connect_store(config.store_file, rank, size, timeout),
                                   rank, size, device, timeout);
    course::Lesson lesson;
    if (world.rank == 0) {
      lesson = course::begin_lesson(flags);  // banner, seed, threads, run folder
    } else {
      if (options.threads > 0) at::set_num_threads(options.threads);
      torch::manual_seed(options.seed);
    }
    lesson.device = device;
    const bool lead = world.rank == 0;
    if (lead) fmt::print("world: {} ranks, {}\n", world.size, world.backend->getBackendName());

    // ---- 2. Data: every rank loads the split, then trains on its own shard ----------------
    const auto train = course::load_fashion_mnist(options, /*train=*/true);
    const auto test = course::load_fashion_mnist(options, /*train=*/false);
    const Data data{course::normalize_fashion(train.images).to(device), train.labels.to(device),
                    course::normalize_fashion(test.images).to(device), test.labels.to(device)};
    const int64_t n_train = data.x_train.size(0);
    if (lead) {
      fmt::print("data: {} train images, {} per rank, {} test images\n", n_train,
                 n_train / world.size, data.x_test.size(0));
    }

    // ---- 3. Model: rank 0's weights everywhere, buckets for the gradients -----------------
    course::Cnn model(config.model);
    model->to(device);
    auto state = model->parameters();
    for (const auto& buffer : model->buffers()) state.push_back(buffer);
    broadcast_from_rank0(*world.backend, state);    // Python: DDP(model) does this
    torch::manual_seed(options.seed + world.rank);  // dropout: different masks on each rank
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(config.lr));
    const auto buckets =
        make_buckets(model->parameters(), static_cast<int64_t>(config.bucket_mb * (1 << 20)));
    if (lead) {
      fmt::print("model: CNN ({} parameters), {} gradient buckets of up to {} MiB\n",
                 course::parameter_count(*model), buckets.size(), config.bucket_mb);
      fmt::print("training: Adam lr {} (cosine to 0), batch {} per rank, {} in all\n", config.lr,
                 config.batch_size, config.batch_size * world.size);
    }

    // ---- 4. Train: every rank an epoch on its shard; rank 0 evaluates and saves -----------
    std::optional<course::History> history;
    if (lead)
      history.emplace(lesson.out_dir,
                      std::vector<std::string>{"train_loss", "train_acc", "test_loss", "test_acc",
                                               "seconds", "compute_seconds"});
    for (int epoch = 1; epoch <= options.epochs; ++epoch) {
      course::Stopwatch clock;
      const Score trained = train_epoch(model, optimizer, world, buckets, data, config,
                                        options.seed, epoch, options.epochs);
      const double train_seconds = clock.seconds();
      average_buffers(world, model);  // batch norm statistics: the mean over the ranks
      if (!lead) continue;            // the others go on to the next epoch and wait there
      const Score tested = evaluate(model, data.x_test, data.y_test);
      const double seconds = clock.seconds();
      fmt::print(
          "epoch {:2}/{} | train loss {:.4f} acc {:.4f} | test loss {:.4f} acc {:.4f} | "
          "{:.1f}s\n",
          epoch, options.epochs, trained.loss, trained.accuracy, tested.loss, tested.accuracy,
          seconds);
      std::fflush(stdout);
      history->add(epoch, {trained.loss, trained.accuracy, tested.loss, tested.accuracy, seconds,
                           train_seconds});
      torch::serialize::OutputArchive archive, model_archive;  // one writer: rank 0
      model->save(model_archive);
      archive.write("model", model_archive);
      course::save_atomically(archive, lesson.out_dir / "checkpoint.pt");
    }

    // ---- 5. Report --------------------------------------------------------------------------
    if (lead) {
      history->plot("20_distributed");
      fmt::print("wrote metrics.csv, loss.png, accuracy.png and checkpoint.pt in {}\n",
                 lesson.out_dir.string());
      history->print_result("20_distributed", n_train);
    }
    return 0;
  } catch (const std::exception& e) {
    return course::report_error(e);
  }
}
#endif  // COURSE_TESTING

// judge.h: lesson 14's judge, lesson 08's CNN (08_cnn/cnn.h) trained the way lesson 08 trains it,
// and kept in a checkpoint (course/checkpoint.h) so that the next run loads it instead. Nothing
// here is new: main.cpp's subject is what the judge says about the generated images.
#pragma once

#include <fmt/format.h>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "08_cnn/cnn.h"
#include "course/checkpoint.h"
#include "course/fashion_mnist.h"
#include "course/timer.h"

namespace course {

/// Trains `judge` like lesson 08 (Adam lr 1e-3, cross-entropy, batches of 128, no augmentation)
/// for `epochs` on normalised images x (N, 1, 28, 28) and labels y (N,).
inline void train_judge(Cnn& judge, const torch::Tensor& x, const torch::Tensor& y, int epochs) {
  constexpr int64_t kBatch = 128;
  torch::optim::Adam optimizer(judge->parameters(), torch::optim::AdamOptions(1e-3));
  judge->train();
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    const auto order = torch::randperm(x.size(0), torch::kInt64).to(x.device());  // (N,)
    for (int64_t start = 0; start < x.size(0); start += kBatch) {
      const auto index = order.slice(0, start, start + kBatch);
      optimizer.zero_grad();
      const auto logits = judge->forward(x.index_select(0, index));  // (B, 10)
      torch::nn::functional::cross_entropy(logits, y.index_select(0, index)).backward();
      optimizer.step();
    }
  }
}

/// The judge loaded from `path` when an earlier run saved it there, else trained now on `train`
/// for `epochs` and saved at `path` for the next run. `how` says which happened, for the output.
struct Judge {
  Cnn model;
  std::string how;
};

inline Judge load_or_train_judge(const std::filesystem::path& path, const FashionMnist& train,
                                 int epochs, torch::Device device) {
  Cnn judge;
  judge->to(device);
  if (std::filesystem::exists(path)) {
    auto archive = open_checkpoint(path, device);  // checks the checksum, names the file
    judge->load(archive);
    return {judge, fmt::format("loaded from {}", path.string())};
  }
  Stopwatch clock;
  train_judge(judge, normalize_fashion(train.images).to(device), train.labels.to(device), epochs);
  torch::serialize::OutputArchive archive;
  judge->save(archive);
  save_atomically(archive, path);
  return {judge, fmt::format("trained for {} epochs in {:.1f}s, saved as {}", epochs,
                             clock.seconds(), path.string())};
}

}  // namespace course

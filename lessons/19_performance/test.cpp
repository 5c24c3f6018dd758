// Tests of lesson 19: the very functions main.cpp (and its amp.h, measure.h) define, against a hand
// count and Python PyTorch's values in golden.json (written by reference.py --golden): the FLOP
// count, the autocast guard (state restored, also on an exception; the weight cache cleared), the
// dtypes under autocast, the GradScaler against torch.amp.GradScaler, channels_last, the profile
// summary, InferenceMode in evaluate, and the malloc settings.
#define COURSE_TESTING
#include "main.cpp"

#include <gtest/gtest.h>

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "golden.h"

using course::testing::AllClose;
using course::testing::Golden;

namespace {

class Performance : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(0);
    at::autocast::set_autocast_enabled(at::kCPU, false);
    at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
  }
  const Golden golden_{"19_performance"};
};
using Autocast = Performance;
using Scaler = Performance;

torch::Tensor stripes(int64_t count) {  // (count, 1, 28, 28) without a random stream
  const auto position = torch::arange(28 * 28, torch::kFloat32).reshape({1, 1, 28, 28});
  const auto frequency =
      0.01 * (1 + torch::arange(count, torch::kFloat32)).reshape({count, 1, 1, 1});
  return torch::sin(position * frequency);
}

}  // namespace

// ---- measure first ------------------------------------------------------------------------------

TEST_F(Performance, MultiplyAddsMatchAHandCount) {
  // conv1 28*28*32*9 = 225,792; conv2 14*14*64*9*32 = 3,612,672; fc 3136*128 = 401,408;
  // head 128*10 = 1,280: 4,241,152 per image forward.
  const course::CnnOptions lesson08;
  EXPECT_EQ(forward_macs(lesson08), 4241152);
  // Training: 3 x 4,241,152 - 225,792 (no gradient for the images) = 12,497,664; x 2 FLOPs.
  EXPECT_DOUBLE_EQ(training_flops_per_image(lesson08), 24995328.0);
  const auto small = course::CnnOptions().channels1(4).channels2(8).hidden(16);
  EXPECT_EQ(forward_macs(small), golden_.tensor("flops/outputs/forward_macs")[1].item<int64_t>());
  EXPECT_DOUBLE_EQ(training_flops_per_image(small),
                   golden_.tensor("flops/outputs/training_flops")[1].item<double>());
}

TEST_F(Performance, OpClassesByName) {
  EXPECT_EQ(op_class("aten::conv2d"), "convolution");
  EXPECT_EQ(op_class("autograd::engine::evaluate_function: ConvolutionBackward0"), "convolution");
  EXPECT_EQ(op_class("aten::native_batch_norm"), "batch norm");
  EXPECT_EQ(op_class("autograd::engine::evaluate_function: NativeBatchNormBackward0"),
            "batch norm");
  EXPECT_EQ(op_class("aten::max_pool2d"), "max pooling");
  EXPECT_EQ(op_class("aten::linear"), "linear");
  EXPECT_EQ(op_class("autograd::engine::evaluate_function: AddmmBackward0"), "linear");
  EXPECT_EQ(op_class("aten::relu"), "relu");
  EXPECT_EQ(op_class("autograd::engine::evaluate_function: ThresholdBackward0"), "relu");
  EXPECT_EQ(op_class("aten::cross_entropy_loss"), "loss");
  EXPECT_EQ(op_class("autograd::engine::evaluate_function: NllLossBackward0"), "loss");
  EXPECT_EQ(op_class("optimizer.step"), "optimizer");
  EXPECT_EQ(op_class("aten::add_"), "other");
}

TEST_F(Performance, ProfileCountsEachOpOnceAndFindsTheConvolutions) {
  Config config;
  config.batch_size = 32;
  const Setting fp32{"fp32", 1};
  auto t = make_trainer(config, fp32, torch::kCPU, 0);
  const auto x = stripes(32);
  const auto y = torch::arange(32) % 10;
  namespace prof = torch::autograd::profiler;
  train_step(t.model, t.optimizer, x, y, fp32);  // warm-up
  prof::prepareProfiler(prof::ProfilerConfig(prof::ProfilerState::KINETO),
                        {torch::profiler::impl::ActivityType::CPU});
  course::Stopwatch clock;
  prof::enableProfiler(prof::ProfilerConfig(prof::ProfilerState::KINETO),
                       {torch::profiler::impl::ActivityType::CPU});
  for (int i = 0; i < 3; ++i) train_step(t.model, t.optimizer, x, y, fp32);
  const auto result = prof::disableProfiler();
  const double wall = clock.seconds();
  const auto seconds = seconds_by_class(result->events());
  double total = 0;
  for (const auto& [op, s] : seconds) total += s;
  // Nested ops counted once: the classes add up to no more than the time that passed.
  EXPECT_LE(total, wall);
  EXPECT_GT(total, 0.3 * wall);
  for (const char* op : {"convolution", "batch norm", "max pooling", "linear", "optimizer"}) {
    ASSERT_TRUE(seconds.count(op)) << op;
    EXPECT_GT(seconds.at(op), 0.0) << op;
  }
  EXPECT_GT(seconds.at("convolution"), seconds.at("relu"));
}

TEST_F(Performance, MatmulPeakIsAPositiveRate) {
  const double gflops = matmul_gflops(torch::kFloat, torch::kCPU, 128, 2);
  EXPECT_GT(gflops, 0.0);  // (a loaded machine can make it small, not zero)
  EXPECT_LT(gflops, 1e5);
}

// ---- autocast ----------------------------------------------------------------------------------

TEST_F(Autocast, GuardTurnsAutocastOnAndRestoresThePreviousState) {
  at::autocast::set_autocast_dtype(at::kCPU, at::kHalf);  // a previous state to come back to
  {
    AutocastGuard guard(at::kCPU, true, at::kBFloat16);
    EXPECT_TRUE(at::autocast::is_autocast_enabled(at::kCPU));
    EXPECT_EQ(at::autocast::get_autocast_dtype(at::kCPU), at::kBFloat16);
    {
      AutocastGuard off(at::kCPU, false, at::kBFloat16);  // nested: off inside, on again after
      EXPECT_FALSE(at::autocast::is_autocast_enabled(at::kCPU));
    }
    EXPECT_TRUE(at::autocast::is_autocast_enabled(at::kCPU));
  }
  EXPECT_FALSE(at::autocast::is_autocast_enabled(at::kCPU));
  EXPECT_EQ(at::autocast::get_autocast_dtype(at::kCPU), at::kHalf);
}

TEST_F(Autocast, GuardRestoresTheStateWhenAnExceptionLeavesTheScope) {
  try {
    AutocastGuard guard(at::kCPU, true, at::kBFloat16);
    torch::nn::Linear(3, 2)(torch::ones({1, 4}));  // the wrong width: LibTorch throws
    FAIL() << "no exception";
  } catch (const std::exception&) {
  }
  EXPECT_FALSE(at::autocast::is_autocast_enabled(at::kCPU));
  EXPECT_EQ(at::autocast::get_autocast_dtype(at::kCPU), at::kBFloat16);
}

TEST_F(Autocast, LeavingTheOutermostGuardDropsTheCachedBf16Weights) {
  torch::nn::Linear linear(torch::nn::LinearOptions(4, 2).bias(false));
  const auto x = torch::ones({1, 4});
  torch::Tensor before, after;
  {
    AutocastGuard guard(at::kCPU, true, at::kBFloat16);
    before = linear(x);
  }
  {
    torch::NoGradGuard no_grad;
    linear->weight.mul_(2);  // what an optimizer step does
  }
  {
    AutocastGuard guard(at::kCPU, true, at::kBFloat16);
    after = linear(x);
  }
  EXPECT_EQ(after.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(AllClose(after.to(torch::kFloat), 2 * before.to(torch::kFloat), 1e-2, 1e-3));
}

TEST_F(Autocast, ConvRunsInBf16AndTheLossInFp32) {
  course::Cnn model;
  const auto x = stripes(4);
  AutocastGuard guard(at::kCPU, true, autocast_dtype(torch::kCPU));
  EXPECT_EQ(autocast_dtype(torch::kCPU), torch::kBFloat16);
  EXPECT_EQ(model->conv1(x).scalar_type(), torch::kBFloat16);
  const auto logits = model->forward(x);
  EXPECT_EQ(logits.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(torch::nn::functional::cross_entropy(logits, torch::arange(4)).scalar_type(),
            torch::kFloat);
}

TEST_F(Autocast, TrainStepUnderAutocastIsCloseToFp32ButNotEqual) {
  Config config;
  config.model.dropout(0.0);  // the same network in both: only the precision differs
  const auto x = stripes(16);
  const auto y = torch::arange(16) % 10;
  auto a = make_trainer(config, {"fp32", 1}, torch::kCPU, 0);
  auto b = make_trainer(config, {"bf16", 1, false, true}, torch::kCPU, 0);
  const auto loss32 = train_step(a.model, a.optimizer, x, y, {"fp32", 1});
  const auto loss16 = train_step(b.model, b.optimizer, x, y, {"bf16", 1, false, true});
  EXPECT_EQ(loss16.scalar_type(), torch::kFloat);
  EXPECT_TRUE(AllClose(loss16, loss32, 2e-2, 0));
  EXPECT_FALSE(torch::equal(loss16, loss32));                 // bf16 rounding shows
  EXPECT_FALSE(at::autocast::is_autocast_enabled(at::kCPU));  // the step left it as it was
  // The weights stay fp32, and the step changed them.
  EXPECT_EQ(b.model->conv1->weight.scalar_type(), torch::kFloat);
  EXPECT_FALSE(
      torch::equal(a.model->conv1->weight,
                   make_trainer(config, {"fp32", 1}, torch::kCPU, 0).model->conv1->weight));
}

TEST_F(Performance, TrainStepClearsTheGradientsFirst) {
  Config config;
  config.lr = 1e-6;           // the weights hardly move: two steps see the same gradients
  config.model.dropout(0.0);  // nor does dropout change them
  auto t = make_trainer(config, {"fp32", 1}, torch::kCPU, 0);
  const auto x = stripes(8);
  const auto y = torch::arange(8) % 10;
  train_step(t.model, t.optimizer, x, y, {"fp32", 1});
  const auto first = t.model->conv1->weight.grad().clone();
  train_step(t.model, t.optimizer, x, y, {"fp32", 1});
  const double ratio = (t.model->conv1->weight.grad().norm() / first.norm()).item<double>();
  EXPECT_NEAR(ratio, 1.0, 0.2);  // not 2: the first step's gradients were cleared
}

// ---- GradScaler ---------------------------------------------------------------------------------

TEST_F(Scaler, MatchesPythonsGradScalerOnFiniteAndInfiniteGradients) {
  const std::string in = "grad_scaler/inputs/", out = "grad_scaler/outputs/";
  auto grads = golden_.tensor(in + "grads").to(torch::kFloat);  // (steps, 3)
  const auto special = golden_.tensor(in + "special");
  const double inf = std::numeric_limits<double>::infinity();
  grads = grads.masked_fill(special.eq(1), inf).masked_fill(special.eq(2), -inf);
  grads = grads.masked_fill(special.eq(3), std::numeric_limits<double>::quiet_NaN());
  auto p = golden_.tensor(in + "start").to(torch::kFloat).requires_grad_(true);
  torch::optim::SGD optimizer({p}, torch::optim::SGDOptions(golden_.scalar(in + "lr")));
  GradScaler scaler(torch::kCPU, golden_.scalar(in + "init_scale"),
                    golden_.scalar(in + "growth_factor"), golden_.scalar(in + "backoff_factor"),
                    static_cast<int64_t>(golden_.scalar(in + "growth_interval")));
  const auto scales = golden_.tensor(out + "scale"), stepped = golden_.tensor(out + "stepped");
  const auto params = golden_.tensor(out + "params");
  for (int64_t i = 0; i < grads.size(0); ++i) {
    optimizer.zero_grad();
    scaler.scale((p * grads[i]).sum()).backward();
    EXPECT_EQ(scaler.step(optimizer), stepped[i].item<double>() == 1.0) << "step " << i;
    scaler.update();
    EXPECT_DOUBLE_EQ(scaler.current_scale(), scales[i].item<double>()) << "step " << i;
    EXPECT_TRUE(AllClose(p.detach(), params[i].to(torch::kFloat))) << "step " << i;
  }
}

TEST_F(Scaler, SkipsTheStepOnInfAndHalvesTheScale) {
  auto p = torch::ones({2}, torch::requires_grad());
  torch::optim::SGD optimizer({p}, torch::optim::SGDOptions(0.1));
  GradScaler scaler(torch::kCPU, /*init_scale=*/8.0);
  scaler.scale((p * torch::tensor({1.0f, std::numeric_limits<float>::infinity()})).sum())
      .backward();
  EXPECT_FALSE(scaler.step(optimizer));
  scaler.update();
  EXPECT_TRUE(torch::equal(p.detach(), torch::ones({2})));  // not stepped
  EXPECT_DOUBLE_EQ(scaler.current_scale(), 4.0);
  optimizer.zero_grad();
  scaler.scale((p * torch::tensor({1.0f, 2.0f})).sum()).backward();  // gradient 4 * (1, 2)
  EXPECT_TRUE(scaler.step(optimizer));
  EXPECT_TRUE(AllClose(p.detach(), torch::tensor({0.9f, 0.8f})));  // unscaled before the step
}

TEST_F(Scaler, TrainStepScalesTheLossStepsAndUpdatesTheScale) {
  Config config;
  config.model.dropout(0.0);  // the two models see the same network
  auto a = make_trainer(config, {"fp32", 1}, torch::kCPU, 0);
  auto b = make_trainer(config, {"fp32", 1}, torch::kCPU, 0);
  GradScaler scaler(torch::kCPU, /*init_scale=*/8.0, 2.0, 0.5, /*growth_interval=*/1);
  const auto x = stripes(8);
  const auto y = torch::arange(8) % 10;
  const auto plain = train_step(a.model, a.optimizer, x, y, {"fp32", 1});
  const auto scaled = train_step(b.model, b.optimizer, x, y, {"fp32", 1}, &scaler);
  EXPECT_TRUE(AllClose(scaled, plain));            // the loss returned is not scaled
  EXPECT_DOUBLE_EQ(scaler.current_scale(), 16.0);  // one good step: update() doubled it
  // The gradients were unscaled before the step: the same update as without the scaler.
  EXPECT_TRUE(AllClose(b.model->conv1->weight.grad(), a.model->conv1->weight.grad(), 1e-4, 1e-7));
  EXPECT_TRUE(AllClose(b.model->conv1->weight, a.model->conv1->weight, 1e-4, 1e-6));
  EXPECT_FALSE(
      torch::equal(b.model->conv1->weight,
                   make_trainer(config, {"fp32", 1}, torch::kCPU, 0).model->conv1->weight));
}

TEST_F(Scaler, Fp16StepWithTheGradScalerTrains_CUDA) {
  COURSE_REQUIRE_CUDA();
  Config config;
  const Setting fp16{"fp16", 1, true, true};
  auto t = make_trainer(config, fp16, torch::kCUDA, 0);
  ASSERT_TRUE(t.scaler.has_value());
  const auto x = stripes(16).to(torch::kCUDA), y = (torch::arange(16) % 10).to(torch::kCUDA);
  for (int i = 0; i < 3; ++i) {
    const auto loss = train_step(t.model, t.optimizer, x, y, fp16, &*t.scaler);
    EXPECT_TRUE(std::isfinite(loss.item<double>()));
  }
}

// ---- the other levers ---------------------------------------------------------------------------

TEST_F(Performance, ChannelsLastChangesTheLayoutNotTheResult) {
  Config config;
  const Setting nhwc{"cl", 1, true};
  auto a = make_trainer(config, {"fp32", 1}, torch::kCPU, 0);
  auto b = make_trainer(config, nhwc, torch::kCPU, 0);
  EXPECT_TRUE(b.model->conv2->weight.is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_FALSE(a.model->conv2->weight.is_contiguous(torch::MemoryFormat::ChannelsLast));
  const auto x = stripes(4);  // one channel: NCHW and NHWC are the same bytes
  const auto conv = b.model->conv2(b.model->conv1(x));
  EXPECT_TRUE(conv.is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_EQ(conv.stride(1), 1);  // channels vary fastest (NHWC)
  a.model->eval();
  b.model->eval();
  EXPECT_TRUE(AllClose(b.model->forward(x), a.model->forward(x), 1e-4, 1e-5));
}

TEST_F(Performance, EvaluateUsesInferenceModeAndEvalMode) {
  course::Cnn model;
  const auto x = stripes(8);
  const auto y = torch::arange(8) % 10;
  const auto on = evaluate(model, x, y, {"fp32", 1}, /*inference_mode=*/true);
  EXPECT_TRUE(on.predicted.is_inference());
  EXPECT_TRUE(model->is_training());  // back in train mode
  const auto off = evaluate(model, x, y, {"fp32", 1}, /*inference_mode=*/false);
  EXPECT_FALSE(off.predicted.is_inference());
  EXPECT_TRUE(torch::equal(on.predicted, off.predicted));
  model->eval();
  const auto expected = model->forward(x).argmax(1);  // eval mode: batch norm's running stats
  EXPECT_TRUE(torch::equal(on.predicted, expected));
  EXPECT_DOUBLE_EQ(on.accuracy, expected.eq(y).sum().item<double>() / 8);
}

TEST_F(Performance, MallocKeepsFreedMemory) {
  ASSERT_TRUE(keep_freed_memory());  // glibc accepts both settings
  // 30 MiB, under the new mmap threshold: from the heap, and kept there after free (no trim).
  // With glibc's defaults it would be mmap'ed and handed back to the kernel at free.
  constexpr size_t kBytes = 30u << 20;
  auto* block = static_cast<char*>(std::malloc(kBytes));
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, kBytes);
  std::free(block);
  EXPECT_GE(mallinfo2().fordblks, kBytes);  // free bytes still in the heap
}

TEST_F(Performance, TimeStepsReturnsMillisecondsPerStep) {
  Config config;
  config.batch_size = 8;
  config.bench_steps = 2;
  const Data data{stripes(16), torch::arange(16) % 10, stripes(8), torch::arange(8) % 10};
  at::set_num_threads(2);
  const double ms = time_steps(config, data, {"bf16", 1, true, true}, 0);
  EXPECT_EQ(at::get_num_threads(), 1);  // the setting's threads
  at::set_num_threads(2);
  EXPECT_GT(ms, 0.0);
  EXPECT_LT(ms, 10000.0);
  EXPECT_FALSE(at::autocast::is_autocast_enabled(at::kCPU));
}

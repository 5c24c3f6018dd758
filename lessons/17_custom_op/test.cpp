// Tests of lesson 17: the operator's kernels against the composed ATen ops on random and
// edge-case shapes, its refusals, its registration, its gradients, and the functions of main.cpp
// against the numbers Python computed (golden.json). The *_CUDA tests run only on a GPU.
#define COURSE_TESTING
#include "main.cpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "golden.h"

using course::ops17::swiglu;
using course::testing::AllClose;
using course::testing::error_of;
using course::testing::Golden;

class CustomOp : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(17); }
};

// Shapes that catch the usual kernel bugs: empty, one element, sizes that are not a multiple of
// the vector width (8 floats, 4 doubles), several threads' worth (> kGrainSize), and more dims.
std::vector<std::vector<int64_t>> edge_shapes() {
  return {{0}, {1}, {3}, {7}, {8}, {9}, {31}, {33}, {70001}, {1000003}, {3, 5, 17}, {2, 0, 4}};
}

TEST_F(CustomOp, ForwardEqualsComposedOnEdgeShapesFloat32) {
  for (const auto& shape : edge_shapes()) {
    const torch::Tensor a = 4 * torch::randn(shape), b = torch::randn(shape);
    const torch::Tensor out = swiglu(a, b);
    EXPECT_EQ(out.sizes(), a.sizes());
    EXPECT_TRUE(AllClose(out, swiglu_composed(a, b), 1e-5, 1e-6)) << torch::IntArrayRef(shape);
  }
}

TEST_F(CustomOp, ForwardEqualsComposedOnEdgeShapesFloat64) {
  for (const auto& shape : edge_shapes()) {
    const torch::Tensor a = 4 * torch::randn(shape, torch::kDouble);
    const torch::Tensor b = torch::randn(shape, torch::kDouble);
    EXPECT_TRUE(AllClose(swiglu(a, b), swiglu_composed(a, b), 1e-12, 1e-14))
        << torch::IntArrayRef(shape);
  }
}

TEST_F(CustomOp, ForwardHandlesNonContiguousInputs) {
  const torch::Tensor a = torch::randn({33, 65}).t();              // a transpose
  const torch::Tensor b = torch::randn({2, 65, 33}).select(0, 1);  // contiguous, for contrast
  EXPECT_TRUE(AllClose(swiglu(a, b), swiglu_composed(a, b)));
  const torch::Tensor every_other = torch::randn({2, 201}).index(
      {torch::indexing::Slice(),
       torch::indexing::Slice(torch::indexing::None, torch::indexing::None, 2)});
  EXPECT_TRUE(AllClose(swiglu(every_other, every_other.flip(1)),
                       swiglu_composed(every_other, every_other.flip(1))));
  EXPECT_TRUE(swiglu(a, b).is_contiguous());
}

TEST_F(CustomOp, ForwardKeepsExtremeValuesFiniteAndNaNsNaN) {
  const torch::Tensor a = torch::tensor({-100.0F, -88.0F, -20.0F, 0.0F, 20.0F, 88.0F, 100.0F});
  const torch::Tensor b = torch::full({7}, 0.5F);
  EXPECT_TRUE(AllClose(swiglu(a, b), swiglu_composed(a, b), 1e-5, 1e-6));
  const torch::Tensor nan = torch::tensor({std::nanf(""), 1.0F});
  EXPECT_TRUE(std::isnan(swiglu(nan, torch::ones({2}))[0].item<float>()));
}

TEST_F(CustomOp, ForwardMatchesPythonsValues) {
  const Golden golden("17_custom_op");
  const torch::Tensor a = golden.tensor("forward/inputs/a"), b = golden.tensor("forward/inputs/b");
  EXPECT_TRUE(AllClose(swiglu_via_dispatcher(a, b), golden.tensor("forward/outputs/out")));
  EXPECT_TRUE(AllClose(course::ops17::swiglu_cpu(a, b), golden.tensor("forward/outputs/out")));
}

TEST_F(CustomOp, BackwardEqualsComposedAutogradOnEdgeShapes) {
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    for (const auto& shape : edge_shapes()) {
      const torch::Tensor a = 4 * torch::randn(shape, dtype), b = torch::randn(shape, dtype);
      const torch::Tensor grad = torch::randn(shape, dtype);
      const torch::Tensor x = a.clone().requires_grad_(true), y = b.clone().requires_grad_(true);
      swiglu_composed(x, y).backward(grad);
      const auto [grad_a, grad_b] = course::ops17::swiglu_backward_cpu(grad, a, b);
      EXPECT_TRUE(AllClose(grad_a, x.grad(), 1e-5, 1e-5)) << torch::IntArrayRef(shape);
      EXPECT_TRUE(AllClose(grad_b, y.grad(), 1e-5, 1e-5)) << torch::IntArrayRef(shape);
    }
  }
}

TEST_F(CustomOp, AutogradTakesNonContiguousOutputGradients) {
  // The gradient of sum() is one number expanded to the shape: strides of 0.
  const torch::Tensor x = torch::randn({5, 7}, torch::requires_grad());
  const torch::Tensor y = torch::randn({5, 7}, torch::requires_grad());
  swiglu(x, y).sum().backward();
  const torch::Tensor x2 = x.detach().clone().requires_grad_(true);
  const torch::Tensor y2 = y.detach().clone().requires_grad_(true);
  swiglu_composed(x2, y2).sum().backward();
  EXPECT_TRUE(AllClose(x.grad(), x2.grad(), 1e-5, 1e-6));
  EXPECT_TRUE(AllClose(y.grad(), y2.grad(), 1e-5, 1e-6));
}

TEST_F(CustomOp, GradientsMatchCentralDifferencesAndPython) {
  const Golden golden("17_custom_op");
  const torch::Tensor a = golden.tensor("gradients/inputs/a"),
                      b = golden.tensor("gradients/inputs/b");
  const torch::Tensor weights = golden.tensor("gradients/inputs/weights");
  const GradientErrors errors = check_gradients(a, b, weights, /*step=*/1e-6);
  EXPECT_LT(errors.a, 1e-7);
  EXPECT_LT(errors.b, 1e-7);
  const torch::Tensor x = a.clone().requires_grad_(true), y = b.clone().requires_grad_(true);
  (swiglu(x, y) * weights).sum().backward();
  EXPECT_TRUE(AllClose(x.grad(), golden.tensor("gradients/outputs/grad_a"), 1e-6, 1e-7));
  EXPECT_TRUE(AllClose(y.grad(), golden.tensor("gradients/outputs/grad_b"), 1e-6, 1e-7));
}

TEST_F(CustomOp, NumericGradientIsCentralDifference) {
  // f(x) = sum(x^3): f' = 3 x^2, which a central difference of step 1e-4 gets to ~1e-8.
  const torch::Tensor x = torch::tensor({-2.0, 0.5, 3.0}, torch::kDouble);
  const torch::Tensor numeric = numeric_gradient(
      [](const torch::Tensor& t) { return t.pow(3).sum().item<double>(); }, x, /*step=*/1e-4);
  EXPECT_TRUE(AllClose(numeric, 3 * x * x, 1e-7, 1e-7));
}

TEST_F(CustomOp, RefusesOtherDtypesWithAMessage) {
  EXPECT_NE(error_of([] {
              swiglu(torch::arange(4), torch::arange(4));
            }).find("course::swiglu computes in float32 or float64, got Long"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              swiglu(torch::ones({4}, torch::kHalf), torch::ones({4}, torch::kHalf));
            }).find("float32 or float64, got Half"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              swiglu(torch::ones({4}), torch::ones({4}, torch::kDouble));
            }).find("one dtype"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              course::ops17::swiglu_backward_cpu(torch::ones({4}, torch::kLong), torch::ones({4}),
                                                 torch::ones({4}));
            }).find("course::swiglu_backward"),
            std::string::npos);
}

TEST_F(CustomOp, RefusesMismatchedShapesAndDevices) {
  EXPECT_NE(error_of([] { swiglu(torch::ones({4}), torch::ones({3})); }).find("same shape"),
            std::string::npos);
  // A meta tensor (shape only, no data) stands in for a second device on a machine without GPU.
  EXPECT_NE(error_of([] {
              course::ops17::swiglu_cpu(torch::ones({4}), torch::ones({4}, torch::kMeta));
            }).find("one device"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              course::ops17::swiglu_cpu(torch::ones({4}, torch::kMeta),
                                        torch::ones({4}, torch::kMeta));
            }).find("CPU kernel got a tensor on meta"),
            std::string::npos);
}

TEST_F(CustomOp, IsRegisteredWithSchemaAndKernels) {
  const auto handle = c10::Dispatcher::singleton().findSchemaOrThrow("course::swiglu", "");
  EXPECT_EQ(c10::toString(handle.schema()), "course::swiglu(Tensor a, Tensor b) -> Tensor");
  EXPECT_NE(registered_kernels().find("CPU yes"), std::string::npos);
  EXPECT_NE(registered_kernels().find("AutogradCPU yes"), std::string::npos);
#if defined(COURSE_OPS17_CUDA)
  EXPECT_NE(registered_kernels().find("CUDA yes"), std::string::npos);
#endif
  const auto backward =
      c10::Dispatcher::singleton().findSchemaOrThrow("course::swiglu_backward", "");
  EXPECT_TRUE(backward.hasComputedKernelForDispatchKey(c10::DispatchKey::CPU));
  // Without the Autograd kernel, a tensor that requires grad would get no grad_fn.
  EXPECT_TRUE(swiglu(torch::ones({2}, torch::requires_grad()), torch::ones({2})).requires_grad());
}

TEST_F(CustomOp, CpuFloat32LoopIsTheOneTheMachineSupports) {
  const std::string name = course::ops17::cpu_kernel_name();
  EXPECT_TRUE(name == "avx2" || name == "default") << name;
}

TEST_F(CustomOp, CpuKernelsUseTheIntraOpThreads) {
  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  EXPECT_EQ(course::ops17::cpu_threads_used(/*n=*/4 * 32768), 2);  // OpenMP compiled in
  EXPECT_EQ(course::ops17::cpu_threads_used(/*n=*/1000), 1);       // one grain: one thread
  at::set_num_threads(threads);
}

TEST_F(CustomOp, SpeedRowsAreMeasured) {
  const SpeedRow row = measure_speed(/*elements=*/4096, /*repeats=*/3, torch::kCPU);
  EXPECT_EQ(row.elements, 4096);
  EXPECT_GT(row.composed, 0);
  EXPECT_GT(row.fused, 0);
  EXPECT_GT(row.training_speed_up, 0);
  EXPECT_DOUBLE_EQ(median_seconds([] {}, 1, torch::kCPU) >= 0, true);
}

TEST_F(CustomOp, MedianSecondsIsTheMiddleTime) {
  // Call 0 is the warm-up; then five timed calls that sleep 0 or 50 ms. Three of five sleep:
  // the median is at least 50 ms. Two of five sleep: it is far below (the mean would be 20 ms).
  for (const bool three_slow : {true, false}) {
    const std::vector<int> sleeps =
        three_slow ? std::vector<int>{0, 0, 0, 50, 50, 50} : std::vector<int>{0, 50, 50, 0, 0, 0};
    size_t call = 0;
    const double median = median_seconds(
        [&] { std::this_thread::sleep_for(std::chrono::milliseconds(sleeps.at(call++))); },
        /*repeats=*/5, torch::kCPU);
    EXPECT_EQ(call, 6U);
    if (three_slow) {
      EXPECT_GE(median, 0.050);
    } else {
      EXPECT_LT(median, 0.025);
    }
  }
}

TEST_F(CustomOp, SpeedTableShowsBytesOverTimeAndRatios) {
  // 1e6 elements: composed moves 20 MB in 2 ms (10 GB/s), fused 12 MB in 1 ms (12 GB/s).
  ::testing::internal::CaptureStdout();
  print_speed_table({{/*elements=*/1000000, /*composed=*/0.002, /*fused=*/0.001,
                      /*training_speed_up=*/1.5}});
  const std::string table = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(
      table.find("1000000 |      2.0000   10.00 |      1.0000   12.00 |    2.00x |      1.50x"),
      std::string::npos)
      << table;
}

// The network of section 5 with Python's weights: the same losses as Python, fused or composed.
TEST_F(CustomOp, TrainingMatchesPythonFusedAndComposed) {
  const Golden golden("17_custom_op");
  Config config;
  config.steps = static_cast<int64_t>(golden.scalar("training/inputs/steps"));
  config.lr = golden.scalar("training/inputs/lr");
  for (const bool fused : {true, false}) {
    SwiGLUNet net(/*hidden=*/8, fused);
    {
      const torch::NoGradGuard no_grad;
      for (auto& item : net->named_parameters()) {
        item.value().copy_(golden.tensor("training/inputs/" + item.key()));
      }
    }
    const TrainResult result =
        train(net, golden.tensor("training/inputs/x"), golden.tensor("training/inputs/y"), config);
    EXPECT_NEAR(result.first_loss, golden.scalar("training/outputs/first_loss"), 1e-5) << fused;
    EXPECT_NEAR(result.last_loss, golden.scalar("training/outputs/last_loss"), 1e-5) << fused;
    EXPECT_LT(result.last_loss, result.first_loss);
  }
}

TEST_F(CustomOp, TrainingStopsOnNaN) {
  Config config;
  config.steps = 2;
  SwiGLUNet net(/*hidden=*/4, /*fused=*/true);
  const torch::Tensor x = torch::linspace(-1, 1, 8).unsqueeze(1);
  EXPECT_NE(error_of([&] {
              train(net, x, torch::full({8, 1}, NAN), config);
            }).find("lower --lr"),
            std::string::npos);
}

// ==== CUDA: the kernel is linked everywhere nvcc ran; it runs where a GPU is ====================
#if defined(COURSE_OPS17_CUDA)
TEST_F(CustomOp, CudaKernelRefusesCpuTensors) {
  EXPECT_NE(error_of([] {
              course::ops17::swiglu_cuda(torch::ones({4}), torch::ones({4}));
            }).find("CUDA kernel got a tensor on cpu"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              course::ops17::swiglu_backward_cuda(torch::ones({4}), torch::ones({4}),
                                                  torch::ones({4}));
            }).find("CUDA kernel got a tensor on cpu"),
            std::string::npos);
}

TEST_F(CustomOp, ForwardAndBackwardEqualComposed_CUDA) {
  COURSE_REQUIRE_CUDA();
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    for (const auto& shape : edge_shapes()) {
      const auto options = torch::dtype(dtype).device(torch::kCUDA);
      const torch::Tensor a = 4 * torch::randn(shape, options), b = torch::randn(shape, options);
      EXPECT_TRUE(AllClose(swiglu(a, b).cpu(), swiglu_composed(a, b).cpu(), 1e-5, 1e-6));
      const torch::Tensor grad = torch::randn(shape, options);
      const torch::Tensor x = a.clone().requires_grad_(true), y = b.clone().requires_grad_(true);
      swiglu_composed(x, y).backward(grad);
      const auto [grad_a, grad_b] = course::ops17::swiglu_backward_cuda(grad, a, b);
      EXPECT_TRUE(AllClose(grad_a.cpu(), x.grad().cpu(), 1e-5, 1e-5));
      EXPECT_TRUE(AllClose(grad_b.cpu(), y.grad().cpu(), 1e-5, 1e-5));
    }
  }
}

TEST_F(CustomOp, NonContiguousAndGradients_CUDA) {
  COURSE_REQUIRE_CUDA();
  const torch::Tensor a = torch::randn({33, 65}, torch::kCUDA).t();
  const torch::Tensor b = torch::randn({65, 33}, torch::kCUDA);
  EXPECT_TRUE(AllClose(swiglu(a, b).cpu(), swiglu_composed(a, b).cpu()));
  const auto f64 = torch::dtype(torch::kDouble).device(torch::kCUDA);
  const torch::Tensor ga = torch::linspace(-3, 3, 12, f64).reshape({3, 4});
  const GradientErrors errors = check_gradients(ga, torch::sin(ga), torch::cos(ga), 1e-6);
  EXPECT_LT(errors.a, 1e-7);
  EXPECT_LT(errors.b, 1e-7);
}

TEST_F(CustomOp, RefusesTensorsOnTwoDevices_CUDA) {
  COURSE_REQUIRE_CUDA();
  EXPECT_NE(
      error_of([] { swiglu(torch::ones({4}, torch::kCUDA), torch::ones({4})); }).find("one device"),
      std::string::npos);
}
#endif

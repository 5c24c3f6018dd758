// logistic_regression.cpp: the model, the loss written out, accuracy, one training step,
// evaluation. See logistic_regression.h for what each function promises.
#include "logistic_regression.h"

#include <algorithm>

namespace course::logistic_regression {

namespace F = torch::nn::functional;

SoftmaxRegressionImpl::SoftmaxRegressionImpl(const SoftmaxRegressionOptions& options_)
    : options(options_) {
  TORCH_CHECK(options.in_features() > 0 && options.num_classes() > 1,
              "SoftmaxRegression needs in_features > 0 and num_classes > 1, got ",
              options.in_features(), " and ", options.num_classes());
  // nn::Linear's default init, the same as Python's: weight and bias uniform in
  // (-1/sqrt(in_features), 1/sqrt(in_features)).
  linear = register_module("linear", torch::nn::Linear(torch::nn::LinearOptions(
                                         options.in_features(), options.num_classes())));
}

torch::Tensor SoftmaxRegressionImpl::forward(const torch::Tensor& inputs) {
  // B = batch. (B, 28, 28) images become (B, 784) rows; (B, 784) stays as it is.
  const torch::Tensor x = inputs.flatten(/*start_dim=*/1);  // (B, in_features)
  TORCH_CHECK(x.size(1) == options.in_features(), "SoftmaxRegression expects ",
              options.in_features(), " inputs per sample, got ", x.size(1), " (input shape ",
              inputs.sizes(), ")");
  return linear(x);  // (B, num_classes)
}

torch::Tensor prepare_images(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 3 && images.scalar_type() == torch::kUInt8,
              "prepare_images expects uint8 images (N, 28, 28), got ", images.scalar_type(), " ",
              images.sizes());
  const torch::Tensor pixels = images.to(torch::kFloat32).div(255.0);  // (N, 28, 28) in 0..1
  return pixels.sub(kPixelMean).div(kPixelStd).reshape({images.size(0), -1});  // (N, 784)
}

torch::Tensor cross_entropy_two_steps(const torch::Tensor& logits, const torch::Tensor& targets) {
  // Step 1: log-probabilities. log_softmax(z)_c = z_c - log(sum_k exp(z_k)), computed stably.
  const torch::Tensor log_probabilities = torch::log_softmax(logits, /*dim=*/1);  // (B, C)
  // Step 2: pick -log p[target] in each row and average: the negative log-likelihood.
  return F::nll_loss(log_probabilities, targets);  // ()
}

torch::Tensor count_correct(const torch::Tensor& logits, const torch::Tensor& targets) {
  const torch::Tensor predicted = logits.argmax(/*dim=*/1);  // (B,) class with the largest score
  return predicted.eq(targets).sum();                        // () int64
}

StepResult train_step(SoftmaxRegression& model, torch::optim::Optimizer& optimizer,
                      const torch::Tensor& inputs, const torch::Tensor& targets) {
  optimizer.zero_grad();
  const torch::Tensor logits = model->forward(inputs);           // (B, C)
  const torch::Tensor loss = F::cross_entropy(logits, targets);  // ()
  loss.backward();
  optimizer.step();
  return {loss.detach(), logits.detach()};
}

Evaluation evaluate(SoftmaxRegression& model, const torch::Tensor& inputs,
                    const torch::Tensor& targets, int64_t batch_size) {
  TORCH_CHECK(batch_size > 0, "evaluate needs batch_size > 0, got ", batch_size);
  const int64_t count = inputs.size(0);
  TORCH_CHECK(count > 0 && targets.size(0) == count, "evaluate needs as many targets (",
              targets.size(0), ") as inputs (", count, "), and at least one");
  torch::NoGradGuard no_grad;  // Python: with torch.no_grad():
  const bool was_training = model->is_training();
  model->eval();
  // Sum (not mean) per batch, divide once at the end: a short last batch then weighs right.
  torch::Tensor loss_sum = torch::zeros({}, inputs.options());
  torch::Tensor correct = torch::zeros({}, targets.options());
  for (int64_t start = 0; start < count; start += batch_size) {
    const int64_t end = std::min(start + batch_size, count);
    const torch::Tensor x = inputs.slice(/*dim=*/0, start, end);   // Python: inputs[start:end]
    const torch::Tensor y = targets.slice(/*dim=*/0, start, end);  // (b,)
    const torch::Tensor logits = model->forward(x);                // (b, C)
    loss_sum += F::cross_entropy(logits, y, F::CrossEntropyFuncOptions().reduction(torch::kSum));
    correct += count_correct(logits, y);
  }
  model->train(was_training);
  const auto n = static_cast<double>(count);
  return {loss_sum.item<double>() / n, correct.item<double>() / n};
}

torch::Tensor weight_images(SoftmaxRegression& model) {
  TORCH_CHECK(model->options.in_features() == kPixels,
              "weight_images needs a model with 784 inputs (28x28 images)");
  torch::NoGradGuard no_grad;
  const torch::Tensor weight = model->linear->weight.detach().to(torch::kCPU);      // (C, 784)
  const torch::Tensor low = std::get<0>(weight.min(/*dim=*/1, /*keepdim=*/true));   // (C, 1)
  const torch::Tensor high = std::get<0>(weight.max(/*dim=*/1, /*keepdim=*/true));  // (C, 1)
  const torch::Tensor scaled = (weight - low) / (high - low).clamp_min(1e-12);      // 0..1
  return scaled.reshape({-1, 28, 28});                                              // (C, 28, 28)
}

}  // namespace course::logistic_regression

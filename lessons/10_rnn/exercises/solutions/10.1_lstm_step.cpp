// Solution of exercise 10.1: one matmul for the four gates, chunk(4), then the two updates.
#include <torch/torch.h>

#include <tuple>

std::tuple<torch::Tensor, torch::Tensor> lstm_step(const torch::Tensor& x, const torch::Tensor& h,
                                                   const torch::Tensor& c,
                                                   const torch::Tensor& weight_ih,
                                                   const torch::Tensor& weight_hh,
                                                   const torch::Tensor& bias_ih,
                                                   const torch::Tensor& bias_hh) {
  const auto gates = x.matmul(weight_ih.t()) + bias_ih + h.matmul(weight_hh.t()) + bias_hh;
  const auto chunks = gates.chunk(4, /*dim=*/1);  // i, f, g, o: (B, H) each
  const auto input_gate = torch::sigmoid(chunks[0]);
  const auto forget_gate = torch::sigmoid(chunks[1]);
  const auto candidate = torch::tanh(chunks[2]);
  const auto output_gate = torch::sigmoid(chunks[3]);
  const auto c_next = forget_gate * c + input_gate * candidate;  // (B, H)
  const auto h_next = output_gate * torch::tanh(c_next);         // (B, H)
  return {h_next, c_next};
}

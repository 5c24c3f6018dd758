// Exercise 10.1: one LSTM step by hand.
//
// Write lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh): x (B, I) is this step's
// input, h and c (B, H) the hidden state and the memory (cell state) so far; the weights are
// nn::LSTMCell's: weight_ih (4H, I), weight_hh (4H, H), bias_ih and bias_hh (4H,). Their rows hold
// the four gates stacked in the order i, f, g, o, so one matmul computes all four:
//   gates = x W_ih^T + b_ih + h W_hh^T + b_hh     (B, 4H), cut into i, f, g, o of (B, H) each
//   i, f, o = sigmoid(...)   g = tanh(...)
//   c_next = f * c + i * g          (keep some of the old memory, write some of the candidate)
//   h_next = o * tanh(c_next)
// Return {h_next, c_next}. Python:  h_next, c_next = nn.LSTMCell(I, H)(x, (h, c))
// Do not call torch::lstm_cell or an LSTMCell module: write the gates out.
//
// Check it: ./course check 10.1     A hint: ./course hint 10.1
#include <torch/torch.h>

#include <tuple>

std::tuple<torch::Tensor, torch::Tensor> lstm_step(const torch::Tensor& x, const torch::Tensor& h,
                                                   const torch::Tensor& c,
                                                   const torch::Tensor& weight_ih,
                                                   const torch::Tensor& weight_hh,
                                                   const torch::Tensor& bias_ih,
                                                   const torch::Tensor& bias_hh) {
  // TODO: replace this line with your code.
  return {h, c};
}

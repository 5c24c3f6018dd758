// Solution of exercise 10.2: pack (unsorted lengths: enforce_sorted false), run, take h_n's last.
#include <torch/torch.h>

torch::Tensor packed_final_state(torch::nn::GRU& gru, const torch::Tensor& vectors,
                                 const torch::Tensor& lengths) {
  const auto packed = torch::nn::utils::rnn::pack_padded_sequence(
      vectors, lengths, /*batch_first=*/true, /*enforce_sorted=*/false);
  const auto h_n = std::get<1>(gru->forward_with_packed_input(packed));  // (1, B, H)
  return h_n[-1];  // (B, H), in the batch's order: the packing's sorting is undone for h_n
}

// Exercise 10.2: the final hidden state of texts of different lengths, without reading padding.
//
// A batch of texts is padded to the longest one: vectors (B, T, E), text b's real steps are the
// first lengths[b]; the rest is padding. Write packed_final_state(gru, vectors, lengths): run the
// GRU (one layer, one direction, batch_first) over each text's own steps only, and return each
// text's hidden state after its own last character, (B, H), in the batch's order.
// Running the GRU over the padded tensor as it is would go on through the padding: every text but
// the longest would end with a state that has read padding. Pack the batch first:
// torch::nn::utils::rnn::pack_padded_sequence (lengths: int64 on the CPU, in any order), then
// gru->forward_with_packed_input, whose h_n (1, B, H) holds each text's state after its last step.
// Python:  packed = pack_padded_sequence(vectors, lengths, batch_first=True, enforce_sorted=False)
//          _, h_n = gru(packed)
//          return h_n[-1]
//
// Check it: ./course check 10.2     A hint: ./course hint 10.2
#include <torch/torch.h>

torch::Tensor packed_final_state(torch::nn::GRU& gru, const torch::Tensor& vectors,
                                 const torch::Tensor& lengths) {
  // TODO: replace this line with your code.
  return torch::zeros({vectors.size(0), gru->options.hidden_size()});
}

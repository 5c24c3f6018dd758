// char_lstm.h: lesson 11's model, a character-level language model (an embedding, an LSTM and a
// linear head) in LibTorch's own idiom (an options struct, CharLstmImpl, TORCH_MODULE). Lesson 11
// trains it; lesson 12 includes it as "11_char_lm/char_lstm.h" to race it against a transformer.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <tuple>

namespace course {

// Dimension legend: B = batch (streams of text), T = time steps, V = vocabulary, E = embedding,
// H = hidden units, L = stacked LSTM layers.

/// What an LSTM remembers between calls: (h, c), the hidden and the cell state, each (L, B, H).
/// Python: the tuple (h, c) that nn.LSTM returns and takes.
using LstmState = std::tuple<torch::Tensor, torch::Tensor>;

/// The sizes of a CharLstm. The defaults are lesson 11's model; the vocabulary comes from the data.
struct CharLstmOptions {
  /* implicit */ CharLstmOptions(int64_t vocabulary = 0) : vocabulary_(vocabulary) {}
  TORCH_ARG(int64_t, vocabulary);       ///< V: distinct tokens (code points)
  TORCH_ARG(int64_t, embedding) = 128;  ///< E: numbers that stand for one token
  TORCH_ARG(int64_t, hidden) = 256;     ///< H: size of the hidden and the cell state
  TORCH_ARG(int64_t, layers) = 1;       ///< L: stacked LSTM layers
  TORCH_ARG(double, dropout) = 0.2;     ///< dropout on the embeddings and the LSTM's outputs
};

/// tokens (B, T) -> embedding -> dropout -> LSTM -> dropout -> linear -> logits (B, T, V): at each
/// step, a score for every token of the vocabulary to come next.
class CharLstmImpl : public torch::nn::Module {
 public:
  explicit CharLstmImpl(const CharLstmOptions& options_) : options(options_) {
    namespace nn = torch::nn;
    TORCH_CHECK(options.vocabulary() > 0,
                "CharLstm needs the vocabulary size: CharLstmOptions(vocabulary.size())");
    // Python: nn.Embedding(V, E)
    embedding =
        register_module("embedding", nn::Embedding(options.vocabulary(), options.embedding()));
    // Python: nn.LSTM(E, H, num_layers=L, batch_first=True, dropout=...): batch_first makes the
    // tensors (B, T, ...); LSTM's own dropout acts between stacked layers only.
    lstm = register_module("lstm",
                           nn::LSTM(nn::LSTMOptions(options.embedding(), options.hidden())
                                        .num_layers(options.layers())
                                        .batch_first(true)
                                        .dropout(options.layers() > 1 ? options.dropout() : 0.0)));
    head = register_module("head", nn::Linear(options.hidden(), options.vocabulary()));
    dropout = register_module("dropout", nn::Dropout(nn::DropoutOptions(options.dropout())));
  }

  /// tokens (B, T) int64 -> logits (B, T, V) for the token after each step, and the state after
  /// the last step. Without a state the LSTM starts from zeros.
  std::tuple<torch::Tensor, LstmState> forward(const torch::Tensor& tokens,
                                               const std::optional<LstmState>& state = {}) {
    TORCH_CHECK(tokens.dim() == 2 && tokens.scalar_type() == torch::kInt64,
                "CharLstm expects int64 token ids (B, T), got ", tokens.scalar_type(), " ",
                tokens.sizes(), "; for one sequence (T,) use tokens.unsqueeze(0)");
    const auto x = dropout(embedding(tokens));  // (B, T, E); dropout only in train()
    auto [outputs, next] = lstm(x, state);      // (B, T, H); h and c (L, B, H)
    return {head(dropout(outputs)), next};      // (B, T, V)
  }

  /// The state a stream starts from: zeros (L, B, H) on the model's device.
  LstmState zero_state(int64_t batch) const {
    const auto zeros =
        torch::zeros({options.layers(), batch, options.hidden()}, head->weight.options());
    return {zeros, zeros.clone()};
  }

  CharLstmOptions options;
  torch::nn::Embedding embedding{nullptr};
  torch::nn::LSTM lstm{nullptr};
  torch::nn::Linear head{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(CharLstm);

}  // namespace course

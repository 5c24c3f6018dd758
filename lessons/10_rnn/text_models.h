// text_models.h: lesson 10's two text classifiers in LibTorch's own idiom (XImpl + TORCH_MODULE):
// the bag-of-characters baseline, and TextRnn (embedding -> packed RNN, LSTM or GRU -> linear).
// Both take a batch of texts as tokens (B, T) padded with kPad and their lengths (B,), and give
// logits (B, classes). main.cpp trains them side by side.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

// Dimension legend: B = texts in a batch, T = characters of the longest text in the batch,
// E = embedding width, H = hidden width, V = vocabulary size.
constexpr int64_t kPad = 0, kUnk = 1;  // the tokens of the padding and of unseen characters

// ==== The baseline: how often each character occurs, then logistic regression ====================
class BagOfCharactersImpl : public torch::nn::Module {
 public:
  BagOfCharactersImpl(int64_t vocabulary, int64_t classes)  // one input per token but <pad>
      : linear(register_module("linear", torch::nn::Linear(vocabulary - 1, classes))) {}

  /// tokens (B, T), lengths (B,) -> logits (B, classes). The order of the characters is lost.
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& lengths) {
    auto counts = torch::zeros({tokens.size(0), linear->options.in_features() + 1},
                               linear->weight.options());  // (B, V)
    counts.scatter_add_(1, tokens, torch::ones(tokens.sizes(), counts.options()));
    // Shares of the text's length, without the <pad> column. Python: counts[:, 1:] / lengths
    return linear(counts.slice(1, kPad + 1) / lengths.to(counts.options()).unsqueeze(1));
  }
  torch::nn::Linear linear;
};
TORCH_MODULE(BagOfCharacters);

// ==== The recurrent classifier: embedding -> RNN, LSTM or GRU -> final states -> linear ==========
struct TextRnnOptions {
  TORCH_ARG(std::string, cell) = "lstm";  ///< rnn, lstm or gru
  TORCH_ARG(int64_t, vocabulary) = 0;     ///< V, with <pad> and <unk>
  TORCH_ARG(int64_t, classes) = 5;
  TORCH_ARG(int64_t, embedding) = 64;     ///< E: the width of a character's vector
  TORCH_ARG(int64_t, hidden) = 64;        ///< H: the width of the hidden state, per direction
  TORCH_ARG(int64_t, layers) = 1;         ///< stacked (2: the second reads the first's outputs)
  TORCH_ARG(bool, bidirectional) = true;  ///< a second pass from the end to the start
  TORCH_ARG(double, dropout) = 0.3;       ///< on the final states, before the linear head
};

// h_n (layers * directions, B, H) -> the last layer's final states, the forward direction's then
// the backward one's: (B, directions * H). Python: torch.cat([h_n[-2], h_n[-1]], dim=1)
torch::Tensor last_layer(const torch::Tensor& h_n, int64_t directions) {
  const auto last = h_n.slice(0, h_n.size(0) - directions);  // (directions, B, H)
  return last.transpose(0, 1).reshape({h_n.size(1), -1});    // (B, directions * H)
}

class TextRnnImpl : public torch::nn::Module {
 public:
  explicit TextRnnImpl(const TextRnnOptions& options_) : options(options_) {
    const auto& o = options;
    embedding = register_module(
        "embedding",
        torch::nn::Embedding(
            torch::nn::EmbeddingOptions(o.vocabulary(), o.embedding()).padding_idx(kPad)));
    // Whichever it is, it is registered as "rnn" (Python: self.rnn): the weight names match.
    if (o.cell() == "rnn")
      rnn = register_module("rnn", torch::nn::RNN(recurrent<torch::nn::RNNOptions>()));
    if (o.cell() == "lstm")
      lstm = register_module("rnn", torch::nn::LSTM(recurrent<torch::nn::LSTMOptions>()));
    if (o.cell() == "gru")
      gru = register_module("rnn", torch::nn::GRU(recurrent<torch::nn::GRUOptions>()));
    TORCH_CHECK(rnn || lstm || gru, "TextRnn: cell must be rnn, lstm or gru, not ", o.cell());
    dropout = register_module("dropout", torch::nn::Dropout(o.dropout()));
    head = register_module("head", torch::nn::Linear(directions() * o.hidden(), o.classes()));
  }

  /// tokens (B, T) padded with kPad, lengths (B,) int64 on the CPU -> logits (B, classes).
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& lengths) {
    return head(dropout(last_layer(final_states(tokens, lengths), directions())));
  }

  /// h_n: each layer's and direction's hidden state after each text's own last character,
  /// (layers * directions, B, H), in the batch's order.
  torch::Tensor final_states(const torch::Tensor& tokens, const torch::Tensor& lengths) {
    const auto vectors = embedding(tokens);  // (B, T, E)
    // Python: pack_padded_sequence(vectors, lengths, batch_first=True, enforce_sorted=False)
    const auto packed =
        torch::nn::utils::rnn::pack_padded_sequence(vectors, lengths, /*batch_first=*/true,
                                                    /*enforce_sorted=*/false);
    if (lstm) return std::get<0>(std::get<1>(lstm->forward_with_packed_input(packed)));  // h, c
    if (gru) return std::get<1>(gru->forward_with_packed_input(packed));
    return std::get<1>(rnn->forward_with_packed_input(packed));
  }

  int64_t directions() const { return options.bidirectional() ? 2 : 1; }

  TextRnnOptions options;
  torch::nn::Embedding embedding{nullptr};
  torch::nn::RNN rnn{nullptr};  // one of the three is made
  torch::nn::LSTM lstm{nullptr};
  torch::nn::GRU gru{nullptr};
  torch::nn::Dropout dropout{nullptr};
  torch::nn::Linear head{nullptr};

 private:
  template <typename LayerOptions>  // RNNOptions, LSTMOptions and GRUOptions have these fields
  LayerOptions recurrent() const {
    return LayerOptions(options.embedding(), options.hidden())
        .num_layers(options.layers())
        .bidirectional(options.bidirectional())
        .batch_first(true);  // (B, T, E), as the embedding gives it
  }
};
TORCH_MODULE(TextRnn);

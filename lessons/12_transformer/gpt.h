// gpt.h: lesson 12's model, a small decoder-only transformer (GPT) written from scratch in
// LibTorch's own idiom (an options struct, XImpl + TORCH_MODULE): token and position embeddings,
// pre-norm blocks of causal self-attention and an MLP, a final LayerNorm and an output layer tied
// to the token embedding. A KvCache lets generation feed one new token at a time.
#pragma once

#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace course {

// Dimension legend: B = batch, T = tokens in, C = embedding width, H = heads, D = C / H per head,
// S = positions attended to (T, or past + T with a cache), V = vocabulary.

/// The sizes of a Gpt. The defaults are lesson 12's model; the vocabulary comes from the data.
struct GptOptions {
  /* implicit */ GptOptions(int64_t vocabulary = 0) : vocabulary_(vocabulary) {}
  TORCH_ARG(int64_t, vocabulary);       ///< V: distinct tokens
  TORCH_ARG(int64_t, context) = 128;    ///< longest sequence: positions 0 .. context - 1
  TORCH_ARG(int64_t, embedding) = 128;  ///< C: numbers per token inside the model
  TORCH_ARG(int64_t, heads) = 4;        ///< H: attention heads; C must divide by H
  TORCH_ARG(int64_t, layers) = 4;       ///< transformer blocks
  TORCH_ARG(double, dropout) = 0.1;     ///< on attention weights and on each residual branch
};

/// The keys and values of every position seen so far, for one block: (B, H, S, D) each, undefined
/// while empty. Python: a (k, v) pair per layer.
struct LayerCache {
  torch::Tensor keys, values;
};
using KvCache = std::vector<LayerCache>;  ///< one LayerCache per block

/// Multi-head causal self-attention: each position looks at itself and at the positions before it.
class CausalSelfAttentionImpl : public torch::nn::Module {
 public:
  explicit CausalSelfAttentionImpl(const GptOptions& options_) : options(options_) {
    TORCH_CHECK(options.embedding() % options.heads() == 0, "the embedding width ",
                options.embedding(), " must divide by the number of heads ", options.heads());
    const int64_t C = options.embedding();
    qkv = register_module("qkv", torch::nn::Linear(C, 3 * C));  // queries, keys, values at once
    proj = register_module("proj", torch::nn::Linear(C, C));
    dropout = register_module("dropout", torch::nn::Dropout(options.dropout()));
  }

  /// x (B, T, C) -> (B, T, C). With a cache, the new keys and values join it and the queries
  /// attend to every position it holds; once it holds positions, it takes one token at a time.
  torch::Tensor forward(const torch::Tensor& x, LayerCache* cache = nullptr) {
    const int64_t B = x.size(0), T = x.size(1), C = options.embedding(), H = options.heads();
    const auto parts = qkv(x).split(C, /*dim=*/2);    // 3 x (B, T, C)
    const auto heads = [&](const torch::Tensor& t) {  // (B, T, C) -> (B, H, T, D)
      return t.view({B, T, H, C / H}).transpose(1, 2);
    };
    auto q = heads(parts[0]), k = heads(parts[1]), v = heads(parts[2]);
    bool causal = true;  // each query sees its own position and the ones before
    if (cache != nullptr) {
      if (cache->keys.defined()) {
        TORCH_CHECK(T == 1, "a filled KV cache takes one new token at a time, got ", T);
        k = torch::cat({cache->keys, k}, /*dim=*/2);  // (B, H, S, D): the past, then the new one
        v = torch::cat({cache->values, v}, 2);
        causal = false;  // one query at the last position: everything in the cache is its past
      }
      cache->keys = k;
      cache->values = v;
    }
    // softmax(q k^T / sqrt(D) + causal mask) v in one fused call. Python:
    // F.scaled_dot_product_attention(q, k, v, None, p, is_causal=True)
    auto y = torch::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{},
                                                 is_training() ? options.dropout() : 0.0,
                                                 /*is_causal=*/causal);  // (B, H, T, D)
    y = y.transpose(1, 2).contiguous().view({B, T, C});  // the heads side by side again
    return dropout(proj(y));
  }

  GptOptions options;
  torch::nn::Linear qkv{nullptr}, proj{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(CausalSelfAttention);

/// A pre-norm transformer block: x + attention(LayerNorm(x)), then x + mlp(LayerNorm(x)).
class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const GptOptions& options) {
    namespace nn = torch::nn;
    const int64_t C = options.embedding();
    ln1 = register_module("ln1", nn::LayerNorm(nn::LayerNormOptions({C})));
    attention = register_module("attention", CausalSelfAttention(options));
    ln2 = register_module("ln2", nn::LayerNorm(nn::LayerNormOptions({C})));
    mlp = register_module("mlp",
                          nn::Sequential(nn::Linear(C, 4 * C), nn::GELU(), nn::Linear(4 * C, C),
                                         nn::Dropout(options.dropout())));
  }

  torch::Tensor forward(torch::Tensor x, LayerCache* cache = nullptr) {  // (B, T, C) -> same
    x = x + attention(ln1(x), cache);  // the residual stream: each branch adds to it
    return x + mlp->forward(ln2(x));
  }

  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  CausalSelfAttention attention{nullptr};
  torch::nn::Sequential mlp{nullptr};
};
TORCH_MODULE(Block);

/// tokens (B, T) -> logits (B, T, V) for the token after each position.
class GptImpl : public torch::nn::Module {
 public:
  explicit GptImpl(const GptOptions& options_) : options(options_) {
    namespace nn = torch::nn;
    TORCH_CHECK(options.vocabulary() > 0, "Gpt needs the vocabulary size: GptOptions(V)");
    token_embedding = register_module("token_embedding",
                                      nn::Embedding(options.vocabulary(), options.embedding()));
    position_embedding = register_module("position_embedding",
                                         nn::Embedding(options.context(), options.embedding()));
    dropout = register_module("dropout", nn::Dropout(options.dropout()));
    blocks = register_module("blocks", nn::ModuleList());
    for (int64_t i = 0; i < options.layers(); ++i) blocks->push_back(Block(options));
    ln_f = register_module("ln_f", nn::LayerNorm(nn::LayerNormOptions({options.embedding()})));
    // GPT-2's initialisation: weights N(0, 0.02), those that write into the residual stream
    // smaller (0.02 / sqrt(2 * layers)), biases 0; the LayerNorms keep their ones.
    torch::NoGradGuard no_grad;
    for (auto& item : named_parameters()) {
      const std::string& name = item.key();
      const auto ends_with = [&](const std::string& end) {
        return name.size() >= end.size() && name.substr(name.size() - end.size()) == end;
      };
      if (ends_with("bias")) {
        item.value().zero_();
      } else if (ends_with("proj.weight") || ends_with("mlp.2.weight")) {
        item.value().normal_(0.0, 0.02 / std::sqrt(2.0 * static_cast<double>(options.layers())));
      } else if (name.find("ln") == std::string::npos) {
        item.value().normal_(0.0, 0.02);
      }
    }
  }

  /// tokens (B, T) int64 -> logits (B, T, V). With a cache (filled by earlier calls), the tokens
  /// continue the sequence it holds: their positions start after it.
  torch::Tensor forward(const torch::Tensor& tokens, KvCache* cache = nullptr) {
    TORCH_CHECK(tokens.dim() == 2 && tokens.scalar_type() == torch::kInt64,
                "Gpt expects int64 token ids (B, T), got ", tokens.scalar_type(), " ",
                tokens.sizes());
    if (cache != nullptr && cache->empty()) cache->resize(blocks->size());
    const int64_t start = cache != nullptr ? cache_length(*cache) : 0, T = tokens.size(1);
    TORCH_CHECK(start + T <= options.context(), "Gpt sees at most ", options.context(),
                " positions, got ", start + T, "; use a shorter text or a larger context");
    const auto positions = torch::arange(start, start + T, tokens.options());   // (T,)
    auto x = dropout(token_embedding(tokens) + position_embedding(positions));  // (B, T, C)
    for (size_t i = 0; i < blocks->size(); ++i) {
      x = blocks[i]->as<Block>()->forward(x, cache != nullptr ? &(*cache)[i] : nullptr);
    }
    // Weight tying: the output layer is the token embedding itself, (B, T, C) x (V, C)^T.
    // Python: F.linear(x, self.token_embedding.weight)
    return torch::nn::functional::linear(ln_f(x), token_embedding->weight);  // (B, T, V)
  }

  /// How many positions a cache holds.
  static int64_t cache_length(const KvCache& cache) {
    return cache.empty() || !cache[0].keys.defined() ? 0 : cache[0].keys.size(2);
  }

  GptOptions options;
  torch::nn::Embedding token_embedding{nullptr}, position_embedding{nullptr};
  torch::nn::Dropout dropout{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm ln_f{nullptr};
};
TORCH_MODULE(Gpt);

}  // namespace course

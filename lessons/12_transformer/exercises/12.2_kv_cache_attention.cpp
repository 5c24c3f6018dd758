// Exercise 12.2: attention with a key/value cache, as generation runs it.
//
// AttentionCache holds the keys and values of every position seen so far, each (B, H, S, D);
// both are undefined (empty) before the first call. Write attend_with_cache(q, k, v, cache):
// q, k, v (B, H, T, D) are the new positions' queries, keys and values. Append k and v to the
// cache along the positions (dim 2; on the first call the cache simply becomes k and v), then
// return (B, H, T, D): the new queries attending to every position in the cache.
//   - the first call is the prompt: T positions at once, with the causal mask (each sees itself
//     and the positions before it);
//   - every later call brings one token (T = 1) that attends to the whole cache, its own past:
//     no mask. (A causal mask for 1 query and S keys is aligned to the top-left corner: it would
//     let the new token see only position 0.)
// You may use torch::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0,
// /*is_causal=*/...). Python:  k = torch.cat([cache_k, k], 2); v = torch.cat([cache_v, v], 2)
//                              F.scaled_dot_product_attention(q, k, v, is_causal=first_call)
//
// Check it: ./course check 12.2     A hint: ./course hint 12.2
#include <torch/torch.h>

struct AttentionCache {
  torch::Tensor keys, values;  // (B, H, S, D) each; undefined while empty
};

torch::Tensor attend_with_cache(const torch::Tensor& q, const torch::Tensor& k,
                                const torch::Tensor& v, AttentionCache& cache) {
  // TODO: replace this line with your code.
  return v;
}

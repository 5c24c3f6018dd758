#!/usr/bin/env python3
"""12_transformer in Python PyTorch: the same GPT (gpt.h), data, AdamW with two parameter groups,
warm-up and cosine schedule, the race against lesson 11's LSTM for the same training time, and
generation with and without a key/value cache; the same flags and printed lines as main.cpp.

    python lessons/12_transformer/reference.py --threads 2      # Tang and Song poems
    python lessons/12_transformer/reference.py --smoke          # 10 steps, seconds
    python lessons/12_transformer/reference.py --golden         # write golden.json
"""
import math
import pathlib
import sys

import torch
import torch.nn.functional as F
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "common" / "python"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
import course_common  # noqa: E402

# Lesson 11's reference.py: the corpus, the vocabulary, the LSTM and sample_next.
lesson11 = course_common.lesson_reference("11_char_lm")

LESSON = "12_transformer"
SMOKE_STEPS = 10
LOG_EVERY = 100


# ---- the model (gpt.h) --------------------------------------------------------------------------
class CausalSelfAttention(nn.Module):
    def __init__(self, embedding, heads, dropout):
        super().__init__()
        assert embedding % heads == 0
        self.qkv = nn.Linear(embedding, 3 * embedding)
        self.proj = nn.Linear(embedding, embedding)
        self.dropout = nn.Dropout(dropout)
        self.heads, self.p = heads, dropout

    def forward(self, x, cache=None):
        B, T, C = x.shape
        q, k, v = [t.view(B, T, self.heads, C // self.heads).transpose(1, 2)
                   for t in self.qkv(x).split(C, 2)]
        causal = True
        if cache is not None:
            if cache.get("keys") is not None:
                assert T == 1
                k = torch.cat([cache["keys"], k], 2)
                v = torch.cat([cache["values"], v], 2)
                causal = False
            cache["keys"], cache["values"] = k, v
        y = F.scaled_dot_product_attention(q, k, v, None, self.p if self.training else 0.0,
                                           is_causal=causal)
        return self.dropout(self.proj(y.transpose(1, 2).contiguous().view(B, T, C)))


class Block(nn.Module):
    def __init__(self, embedding, heads, dropout):
        super().__init__()
        self.ln1 = nn.LayerNorm(embedding)
        self.attention = CausalSelfAttention(embedding, heads, dropout)
        self.ln2 = nn.LayerNorm(embedding)
        self.mlp = nn.Sequential(nn.Linear(embedding, 4 * embedding), nn.GELU(),
                                 nn.Linear(4 * embedding, embedding), nn.Dropout(dropout))

    def forward(self, x, cache=None):
        x = x + self.attention(self.ln1(x), cache)
        return x + self.mlp(self.ln2(x))


class Gpt(nn.Module):
    def __init__(self, vocabulary, context=128, embedding=128, heads=4, layers=4, dropout=0.1):
        super().__init__()
        self.context = context
        self.token_embedding = nn.Embedding(vocabulary, embedding)
        self.position_embedding = nn.Embedding(context, embedding)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([Block(embedding, heads, dropout) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(embedding)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("bias"):
                    p.zero_()
                elif name.endswith("proj.weight") or name.endswith("mlp.2.weight"):
                    p.normal_(0.0, 0.02 / math.sqrt(2.0 * layers))
                elif "ln" not in name:
                    p.normal_(0.0, 0.02)

    def forward(self, tokens, cache=None):
        if cache is not None and not cache:
            cache.extend({} for _ in self.blocks)
        start = cache[0]["keys"].shape[2] if cache and cache[0].get("keys") is not None else 0
        T = tokens.shape[1]
        assert start + T <= self.context
        positions = torch.arange(start, start + T, device=tokens.device)
        x = self.dropout(self.token_embedding(tokens) + self.position_embedding(positions))
        for i, block in enumerate(self.blocks):
            x = block(x, cache[i] if cache is not None else None)
        return F.linear(self.ln_f(x), self.token_embedding.weight)


# ---- attention written out, training (main.cpp) -------------------------------------------------
def attention_written_out(q, k, v):
    T = q.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    future = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1)
    return torch.softmax(scores.masked_fill(future, float("-inf")), -1) @ v


def learning_rate(peak, progress, warmup):
    if progress < warmup:
        return peak * progress / warmup
    rest = min(1.0, (progress - warmup) / (1.0 - warmup))
    return peak * (0.1 + 0.45 * (1.0 + math.cos(math.pi * rest)))


def make_optimizer(model, lr, weight_decay):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.99))


def get_batch(tokens, batch, window):
    starts = torch.randint(tokens.shape[0] - window, (batch, 1), device=tokens.device)
    index = starts + torch.arange(window, device=tokens.device)
    return tokens[index], tokens[index + 1]


def logits_of(model, x):
    out = model(x)
    return out[0] if isinstance(out, tuple) else out


def train_step(model, optimizer, batch, clip):
    inputs, targets = batch
    optimizer.zero_grad()
    loss = F.cross_entropy(logits_of(model, inputs).flatten(0, 1), targets.flatten())
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss.detach()


def evaluate(model, tokens, window):
    model.eval()
    n = (tokens.shape[0] - 1) // window
    with torch.no_grad():
        inputs = tokens[:n * window].view(n, window)
        targets = tokens[1:n * window + 1].view(n, window)
        loss = F.cross_entropy(logits_of(model, inputs).flatten(0, 1), targets.flatten())
    model.train()
    return loss.item()


def train(model, optimizer, tokens, validation, args, lr, steps, seconds, name):
    model.train()
    count = 0
    clock = course_common.Stopwatch()
    while (count < steps) if steps > 0 else (clock.seconds() < seconds):
        progress = (count + 1) / steps if steps > 0 else clock.seconds() / seconds
        lesson11.set_lr(optimizer, learning_rate(lr, progress, args.warmup))
        loss = train_step(model, optimizer, get_batch(tokens, args.batch, args.context), args.clip)
        count += 1
        if count % LOG_EVERY == 0:
            value = loss.item()
            if not math.isfinite(value):
                raise SystemExit(f"error: {name}: the loss became NaN")
            print(f"{name:<4} step {count:4} | train loss {value:.4f} | val loss "
                  f"{evaluate(model, validation, args.context):.4f} | {clock.seconds():.1f}s",
                  flush=True)
    return count, clock.seconds(), evaluate(model, validation, args.context)


def generate(model, prompt, length, temperature, top_k, use_cache):
    model.eval()
    cache = [] if use_cache else None
    with torch.no_grad():
        tokens = prompt.to(model.token_embedding.weight.device).unsqueeze(0)
        logits = model(tokens, cache)
        for i in range(length):
            next_token = torch.full((1, 1), lesson11.sample_next(logits[0, -1], temperature, top_k),
                                    dtype=torch.int64, device=tokens.device)
            tokens = torch.cat([tokens, next_token], 1)
            if i + 1 == length:
                break
            logits = model(next_token, cache) if use_cache else model(tokens)
    model.train()
    return tokens[0, prompt.shape[0]:].cpu()


def run(args):
    device, _ = course_common.begin(args, LESSON)
    entries = lesson11.load_corpus(args, args.corpus)
    train_text, validation_text, _, _ = lesson11.split_entries(entries)
    vocabulary = lesson11.Vocabulary(train_text + validation_text)
    train_tokens = vocabulary.encode(train_text)
    validation = vocabulary.encode(validation_text)
    print(f"corpus {args.corpus}: {train_tokens.shape[0]} tokens for training, "
          f"{validation.shape[0]} for validation, vocabulary {len(vocabulary)}")

    q, k, v = (torch.randn(2, 4, 16, 8) for _ in range(3))
    fused = F.scaled_dot_product_attention(q, k, v, None, 0.0, is_causal=True)
    print("attention: scaled_dot_product_attention and softmax(q k^T / sqrt(d) + mask) v differ "
          f"by at most {(fused - attention_written_out(q, k, v)).abs().max().item():.1e}")

    gpt = Gpt(len(vocabulary), layers=args.layers).to(device)
    optimizer = make_optimizer(gpt, args.lr, 0.1)
    count = sum(p.numel() for p in gpt.parameters())
    print(f"model: GPT {args.layers} layers, 4 heads, embedding 128, context 128, dropout 0.1 "
          f"({count} parameters)")
    print(f"training: AdamW lr {args.lr:g} (warm-up 10%, cosine to lr/10), weight decay 0.1 on "
          f"{len(optimizer.param_groups[0]['params'])} tensors and 0 on "
          f"{len(optimizer.param_groups[1]['params'])}, batch 16 x 128 tokens, clip 1")

    train_on, val_on = train_tokens.to(device), validation.to(device)
    steps = SMOKE_STEPS if args.smoke else args.steps
    gpt_run = train(gpt, optimizer, train_on, val_on, args, args.lr, steps, 0, "GPT")
    lstm = lesson11.CharLstm(len(vocabulary)).to(device)
    lstm_optimizer = make_optimizer(lstm, 3e-3, 0.1)
    lstm_run = train(lstm, lstm_optimizer, train_on, val_on, args, 3e-3, 0, gpt_run[1], "LSTM")
    print("same training time    steps  seconds  val loss  bits/char  parameters")
    for name, (n, seconds, loss), model in [("LSTM (lesson 11)", lstm_run, lstm),
                                            ("GPT", gpt_run, gpt)]:
        print(f"  {name:<18} {n:6} {seconds:8.1f} {loss:9.4f} {loss / math.log(2):10.3f} "
              f"{sum(p.numel() for p in model.parameters()):11}")

    prompt_text = args.prompt or ("春" if args.corpus == "tang" else "The ")
    prompt = vocabulary.encode(prompt_text)
    length = min(120, 128 - prompt.shape[0])
    clock = course_common.Stopwatch()
    slow = generate(gpt, prompt, length, 0, 0, use_cache=False)
    slow_seconds = clock.seconds()
    clock = course_common.Stopwatch()
    fast = generate(gpt, prompt, length, 0, 0, use_cache=True)
    fast_seconds = clock.seconds()
    print(f"generation, {length} tokens, greedy: without the KV cache {slow_seconds:.2f}s, with it "
          f"{fast_seconds:.2f}s ({slow_seconds / fast_seconds:.1f}x faster); the same tokens: "
          f"{'yes' if torch.equal(slow, fast) else 'no'}")
    torch.manual_seed(args.seed)
    sampled = generate(gpt, prompt, length, 0.8, 20, use_cache=True)
    print(f"sampled (temperature 0.8, top-k 20, seed {args.seed}):\n{prompt_text}"
          f"{vocabulary.decode(sampled)}")
    course_common.result_line(LESSON, steps=gpt_run[0],
                              train_tokens_per_s=gpt_run[0] * 16 * 128 / gpt_run[1],
                              gpt_val_loss=gpt_run[2], lstm_val_loss=lstm_run[2],
                              kv_cache_speedup=slow_seconds / fast_seconds)


def main():
    parser = course_common.parser("12_transformer: a small GPT from scratch")
    parser.add_argument("--corpus", choices=["tang", "english"], default="tang")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--prompt", default="")
    args = parser.parse_args()
    args.batch, args.context, args.warmup, args.clip = 16, 128, 0.1, 1.0
    if args.golden:
        write_golden()
        return
    run(args)


# ---- goldens (test.cpp) -------------------------------------------------------------------------
SIZES = {"vocabulary": 11, "context": 8, "embedding": 8, "heads": 2, "layers": 2}


def fixed_state(model):
    """Every weight from sin/cos of its position (LayerNorm's scale near 1): no random stream."""
    state = {}
    for i, (name, tensor) in enumerate(model.state_dict().items()):
        position = torch.arange(tensor.numel(), dtype=torch.float32)
        if "ln" in name and name.endswith("weight"):
            value = 1.0 + 0.1 * torch.sin(0.9 * position + i)
        elif name.endswith("bias"):
            value = 0.1 * torch.cos(0.7 * position + i)
        else:
            value = 0.5 * torch.sin(0.37 * position + i) / math.sqrt(tensor.shape[-1])
        state[name] = value.reshape(tensor.shape)
    model.load_state_dict(state)
    return {name: tensor.clone() for name, tensor in state.items()}


def golden_gpt():
    model = Gpt(SIZES["vocabulary"], context=SIZES["context"], embedding=SIZES["embedding"],
                heads=SIZES["heads"], layers=SIZES["layers"], dropout=0.0)
    return model, fixed_state(model)


def write_golden():
    cases = {}

    # Attention of fixed q, k, v (B=1, H=2, T=5, D=4): the formula and the fused kernel.
    position = torch.arange(40, dtype=torch.float32).reshape(1, 2, 5, 4)
    q, k, v = torch.sin(0.3 * position), torch.cos(0.2 * position), torch.sin(0.1 * position + 1)
    cases["attention"] = {
        "inputs": {"q": q, "k": k, "v": v},
        "outputs": {"written_out": attention_written_out(q, k, v),
                    "sdpa": F.scaled_dot_product_attention(q, k, v, None, 0.0, is_causal=True)},
    }

    # The small GPT's logits, its evaluation, and greedy generation with the cache.
    model, state = golden_gpt()
    tokens = (torch.arange(12).reshape(2, 6) * 5 + 1) % 11
    text = (torch.arange(40) * 7 + torch.arange(40) // 3) % 11
    prompt = torch.tensor([3, 1, 4])
    cases["model"] = {
        "inputs": {"state": state, "tokens": tokens, "text": text, "prompt": prompt, **SIZES},
        "outputs": {"logits": model(tokens).detach(), "eval_loss": evaluate(model, text, 8),
                    "greedy": generate(model, prompt, 5, 0.0, 0, use_cache=True)},
    }

    # One AdamW step with two parameter groups and clipping, on the small GPT and on a small LSTM.
    inputs = (torch.arange(12).reshape(2, 6) * 3) % 11
    targets = (torch.arange(12).reshape(2, 6) * 3 + 1) % 11
    model, state = golden_gpt()
    optimizer = make_optimizer(model, 0.01, 0.1)
    loss = train_step(model, optimizer, (inputs, targets), clip=0.5)
    lstm = lesson11.CharLstm(11, embedding=6, hidden=8, dropout=0.0)
    lstm_state = lesson11.fixed_state(lstm)
    lstm_loss = train_step(lstm, make_optimizer(lstm, 0.01, 0.1), (inputs, targets), clip=0.5)
    cases["one_step"] = {
        "inputs": {"state": state, "inputs": inputs, "targets": targets, "lr": 0.01,
                   "weight_decay": 0.1, "clip": 0.5, "lstm_state": lstm_state, **SIZES},
        "outputs": {"loss": loss.item(), "lstm_loss": lstm_loss.item(),
                    "state": {n: t.clone() for n, t in model.state_dict().items()},
                    "lstm_state": {n: t.clone() for n, t in lstm.state_dict().items()}},
    }

    # The schedule at fixed points; a batch after torch.manual_seed(5).
    progress = torch.tensor([0.0, 0.05, 0.1, 0.3, 0.55, 0.8, 1.0], dtype=torch.float64)
    torch.manual_seed(5)
    batch_inputs, batch_targets = get_batch(torch.arange(50) * 3, 4, 6)
    cases["schedule"] = {
        "inputs": {"progress": progress, "peak": 1e-3, "warmup": 0.1, "seed": 5},
        "outputs": {"lr": torch.tensor([learning_rate(1e-3, p, 0.1) for p in progress.tolist()],
                                       dtype=torch.float64),
                    "batch_inputs": batch_inputs, "batch_targets": batch_targets},
    }

    import golden  # tests/support/golden.py
    golden.write(LESSON, cases)


if __name__ == "__main__":
    main()

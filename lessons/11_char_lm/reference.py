#!/usr/bin/env python3
"""11_char_lm in Python PyTorch: the same corpora, vocabulary, baselines, LSTM, truncated
backpropagation through time, generation and flags as main.cpp; it prints the same lines.

    python lessons/11_char_lm/reference.py --threads 2            # Tang and Song poems, 10 epochs
    python lessons/11_char_lm/reference.py --corpus english       # English quotations
    python lessons/11_char_lm/reference.py --smoke --epochs 3     # 4096 tokens, seconds
    python lessons/11_char_lm/reference.py --golden               # write golden.json

Lesson 12's reference.py imports this file for the corpus, the vocabulary and the LSTM.
"""
import math
import pathlib
import re
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "common" / "python"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
import course_common  # noqa: E402

LESSON = "11_char_lm"
EPOCHS = 10
SMOKE_TOKENS = 4096
LOG_EVERY = 50
CORPUS_FILES = {"tang": ["tang300", "song100"],
                "english": ["fortunes", "wisdom", "literature", "humorists"]}


# ---- the corpus, the vocabulary and sample_next (tokens.h) --------------------------------------
def read_fortunes(path):
    """course::read_fortunes: entries between lines holding only %, colour escapes removed,
    trailing whitespace trimmed, empty entries skipped."""
    try:
        text = pathlib.Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise SystemExit(f"error: {path}: invalid UTF-8 at byte {e.start}; a fortune file must be "
                         "UTF-8 text")
    entries, entry = [], ""
    for line in text.split("\n"):
        if line == "%":
            entry = entry.rstrip("\n \t\r")
            if entry:
                entries.append(entry)
            entry = ""
        else:
            entry += re.sub(r"\x1b\[[0-9;]*m", "", line) + "\n"
    entry = entry.rstrip("\n \t\r")
    if entry:
        entries.append(entry)
    return entries


def load_corpus(args, corpus):
    files = CORPUS_FILES[corpus]
    folder = course_common.find_dataset("fortunes", args.data_dir, files)
    return [entry for name in files for entry in read_fortunes(folder / name)]


def split_entries(entries):
    """Every tenth entry is validation text; each entry is followed by a blank line."""
    train = "".join(e + "\n\n" for i, e in enumerate(entries) if i % 10 != 9)
    validation = "".join(e + "\n\n" for i, e in enumerate(entries) if i % 10 == 9)
    return train, validation, sum(1 for i in range(len(entries)) if i % 10 != 9), \
        sum(1 for i in range(len(entries)) if i % 10 == 9)


class Vocabulary:
    def __init__(self, text):
        self.characters = sorted(set(text))  # a str is code points already
        self.ids = {c: i for i, c in enumerate(self.characters)}

    def __len__(self):
        return len(self.characters)

    def encode(self, text):
        for c in text:
            if c not in self.ids:
                raise SystemExit(f"error: '{c}' (U+{ord(c):04X}) is not in the vocabulary of this "
                                 "corpus; use characters that the corpus contains")
        return torch.tensor([self.ids[c] for c in text], dtype=torch.int64)

    def decode(self, tokens):
        return "".join(self.characters[i] for i in tokens.tolist())


# ---- baselines (main.cpp) -----------------------------------------------------------------------
def unigram_probabilities(tokens, vocabulary):
    counts = torch.bincount(tokens, minlength=vocabulary).double() + 1
    return counts / counts.sum()


def bigram_probabilities(tokens, unigram):
    """Witten-Bell: P(b | a) = (count(a b) + n(a) P(b)) / (count(a) + n(a))."""
    V = unigram.shape[0]
    pairs = tokens[:-1] * V + tokens[1:]
    counts = torch.bincount(pairs, minlength=V * V).reshape(V, V).double()
    seen = counts.sum(1, keepdim=True)
    followers = (counts > 0).sum(1, keepdim=True).double()
    smoothed = (counts + followers * unigram) / (seen + followers).clamp_min(1)
    return torch.where(seen > 0, smoothed, unigram.expand(V, V))


def baseline_loss(probabilities, tokens):
    p = probabilities[tokens[1:]] if probabilities.dim() == 1 else \
        probabilities[tokens[:-1], tokens[1:]]
    return -p.log().mean().item()


def score(loss):
    """(loss, perplexity, bits per character)."""
    return loss, math.exp(loss), loss / math.log(2.0)


# ---- the model (char_lstm.h) --------------------------------------------------------------------
class CharLstm(nn.Module):
    def __init__(self, vocabulary, embedding=128, hidden=256, layers=1, dropout=0.2):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, embedding)
        self.lstm = nn.LSTM(embedding, hidden, num_layers=layers, batch_first=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Linear(hidden, vocabulary)
        self.dropout = nn.Dropout(dropout)
        self.layers, self.hidden = layers, hidden

    def forward(self, tokens, state=None):
        outputs, state = self.lstm(self.dropout(self.embedding(tokens)), state)
        return self.head(self.dropout(outputs)), state

    def zero_state(self, batch):
        zeros = torch.zeros(self.layers, batch, self.hidden, device=self.head.weight.device)
        return zeros, zeros.clone()


# ---- truncated backpropagation through time (main.cpp) ------------------------------------------
def make_windows(tokens, streams, window):
    length = (tokens.shape[0] - 1) // streams
    inputs = tokens[:streams * length].view(streams, length)
    targets = tokens[1:streams * length + 1].view(streams, length)
    return inputs.split(window, 1), targets.split(window, 1)


def train_step(model, optimizer, inputs, targets, state, clip):
    optimizer.zero_grad()
    logits, state = model(inputs, state)
    loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss.detach(), tuple(s.detach() for s in state)


def set_lr(optimizer, lr):
    for group in optimizer.param_groups:
        group["lr"] = lr


def cosine_lr(base_lr, step, total_steps):
    if total_steps <= 0:
        return base_lr
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * min(max(step, 0), total_steps) / total_steps))


def train_epoch(model, optimizer, windows, lr, clip, epoch, epochs):
    model.train()
    inputs, targets = windows
    steps = len(inputs)
    state = model.zero_state(inputs[0].shape[0])
    loss_sum = torch.zeros((), device=model.head.weight.device)
    seen = 0
    for step in range(steps):
        set_lr(optimizer, cosine_lr(lr, (epoch - 1) * steps + step, epochs * steps))
        loss, state = train_step(model, optimizer, inputs[step], targets[step], state, clip)
        loss_sum += loss * inputs[step].shape[1]
        seen += inputs[step].shape[1]
        if (step + 1) % LOG_EVERY == 0 or step + 1 == steps:
            if not math.isfinite(loss_sum.item() / seen):
                raise SystemExit(f"error: loss became nan at epoch {epoch}; lower --lr (now {lr})")
    return loss_sum.item() / seen


def evaluate(model, tokens):
    model.eval()
    with torch.no_grad():
        logits = model(tokens[:-1].unsqueeze(0))[0][0]
        loss = F.cross_entropy(logits, tokens[1:])
    model.train()
    return loss.item()


# ---- generation (main.cpp) ----------------------------------------------------------------------
def sample_next(logits, temperature, top_k):
    if temperature == 0:
        return logits.argmax().item()
    scaled = logits.float().cpu() / temperature
    if 0 < top_k < scaled.shape[0]:
        kth = scaled.topk(top_k)[0].min()
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    return torch.multinomial(torch.softmax(scaled, 0), 1).item()


def generate(model, prompt, length, temperature, top_k):
    model.eval()
    device = model.head.weight.device
    tokens = []
    with torch.no_grad():
        logits, state = model(prompt.to(device).unsqueeze(0))
        last = logits[0, -1]
        for _ in range(length):
            tokens.append(sample_next(last, temperature, top_k))
            step_logits, state = model(torch.full((1, 1), tokens[-1], dtype=torch.int64,
                                                  device=device), state)
            last = step_logits[0, 0]
    model.train()
    return torch.tensor(tokens, dtype=torch.int64)


def fmt_number(x):
    """A number as fmt's {} prints a double: 0.003, 1, 0.8."""
    return f"{x:g}"


def train(args):
    device, out = course_common.begin(args, LESSON)
    entries = load_corpus(args, args.corpus)
    line = entries[0].split("\n")[0]
    first = line[0]
    print(f"corpus {args.corpus}: {len(entries)} entries; the first line \"{line}\" is "
          f"{len(line.encode())} bytes but {len(line)} code points")
    print(f"UTF-8: \"{first}\" is the bytes {' '.join(f'{b:02x}' for b in first.encode())}, "
          f"code point U+{ord(first):04X}, one token")
    train_text, validation_text, train_entries, validation_entries = split_entries(entries)
    vocabulary = Vocabulary(train_text + validation_text)
    keep = SMOKE_TOKENS if args.smoke else None
    train_tokens = vocabulary.encode(train_text)[:keep]
    validation_tokens = vocabulary.encode(validation_text)[:keep]
    print(f"vocabulary: {len(vocabulary)} code points; training: {train_entries} entries, "
          f"{train_tokens.shape[0]} tokens; validation: {validation_entries} entries, "
          f"{validation_tokens.shape[0]} tokens")

    unigram = unigram_probabilities(train_tokens, len(vocabulary))
    bigram = bigram_probabilities(train_tokens, unigram)
    unigram_score = score(baseline_loss(unigram, validation_tokens))
    bigram_score = score(baseline_loss(bigram, validation_tokens))
    print(f"baselines: unigram val loss {unigram_score[0]:.4f}, bigram val loss "
          f"{bigram_score[0]:.4f}")

    model = CharLstm(len(vocabulary), hidden=args.hidden).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    count = sum(p.numel() for p in model.parameters())
    print(f"model: LSTM embedding 128, hidden {args.hidden}, 1 layer, dropout 0.2 "
          f"({count} parameters)")
    windows = make_windows(train_tokens.to(device), 32, args.window)
    print(f"training: Adam lr {fmt_number(args.lr)} (cosine to 0), 32 streams x windows of "
          f"{args.window} steps, clip 1")

    history = course_common.History(out, ["train_loss", "val_loss", "val_bpc", "seconds"])
    validation = validation_tokens.to(device)
    seconds = 0.0
    for epoch in range(1, args.epochs + 1):
        clock = course_common.Stopwatch()
        train_loss = train_epoch(model, optimizer, windows, args.lr, 1.0, epoch, args.epochs)
        val = score(evaluate(model, validation))
        epoch_seconds = clock.seconds()
        seconds += epoch_seconds
        print(f"epoch {epoch:2}/{args.epochs} | train loss {train_loss:.4f} | val loss "
              f"{val[0]:.4f} ppl {val[1]:.1f} bpc {val[2]:.3f} | {epoch_seconds:.1f}s", flush=True)
        history.add(epoch, [train_loss, val[0], val[2], epoch_seconds])

    lstm_score = score(history.last("val_loss"))
    print(f"validation ({validation_tokens.shape[0] - 1} predictions)  loss  perplexity  bits/char")
    for name, s in [("unigram", unigram_score), ("bigram", bigram_score), ("LSTM", lstm_score)]:
        print(f"  {name:<24} {s[0]:7.4f} {s[1]:11.2f} {s[2]:10.3f}")

    prompt = args.prompt or ("春" if args.corpus == "tang" else "The ")
    prompt_tokens = vocabulary.encode(prompt)
    torch.manual_seed(args.seed)
    sampled = generate(model, prompt_tokens, 100, args.temperature, args.top_k)
    print(f"sampled (temperature {fmt_number(args.temperature)}, top-k {args.top_k}, seed "
          f"{args.seed}):\n{prompt}{vocabulary.decode(sampled)}")
    greedy = generate(model, prompt_tokens, 100, 0, 0)
    print(f"greedy (always the most likely next character):\n{prompt}{vocabulary.decode(greedy)}")
    print(f"wrote metrics.csv in {out}")
    course_common.result_line(LESSON, epochs=args.epochs, epoch_time_s=seconds / args.epochs,
                              val_loss=lstm_score[0], val_bpc=lstm_score[2],
                              bigram_bpc=bigram_score[2])


# ---- goldens (test.cpp) -------------------------------------------------------------------------
def fixed_state(model, scale=1.0):
    """Every weight from sin/cos of its position: no random stream, so the golden is stable."""
    state = {}
    for i, (name, tensor) in enumerate(model.state_dict().items()):
        position = torch.arange(tensor.numel(), dtype=torch.float32)
        if "bias" in name:
            value = 0.1 * torch.cos(0.7 * position + i)
        else:
            value = torch.sin(0.37 * position + i) / math.sqrt(tensor.shape[-1])
        state[name] = scale * value.reshape(tensor.shape)
    model.load_state_dict(state)
    return {name: tensor.clone() for name, tensor in state.items()}


def golden_model(scale=1.0):
    model = CharLstm(11, embedding=6, hidden=8, dropout=0.0)
    return model, fixed_state(model, scale)


def write_golden():
    cases = {}
    sizes = {"vocabulary": 11, "embedding": 6, "hidden": 8}

    # The vocabulary of a text with 3-byte Chinese characters, ASCII and a 4-byte emoji.
    text = "床前明月光，\n疑是地上霜。\nmoon 🌙 moon"
    vocabulary = Vocabulary(text)
    cases["vocabulary"] = {
        "inputs": {"code_points": torch.tensor([ord(c) for c in text])},
        "outputs": {"characters": torch.tensor([ord(c) for c in vocabulary.characters]),
                    "ids": vocabulary.encode(text), "bytes": len(text.encode())},
    }

    # Baselines: 7 tokens, of which the training text never uses 6 (an unseen character).
    position = torch.arange(60)
    train_tokens = (position * 5 + position // 4) % 6
    validation_tokens = (torch.arange(25) * 3 + 1) % 7
    unigram = unigram_probabilities(train_tokens, 7)
    bigram = bigram_probabilities(train_tokens, unigram)
    cases["baselines"] = {
        "inputs": {"train": train_tokens, "validation": validation_tokens, "vocabulary": 7},
        "outputs": {"unigram": unigram, "bigram": bigram,
                    "unigram_loss": baseline_loss(unigram, validation_tokens),
                    "bigram_loss": baseline_loss(bigram, validation_tokens)},
    }

    # One TBPTT step: a state carried in from a window before, SGD (so that clipping shows in the
    # weights; Adam's first step hardly depends on the gradient's scale), clip below the norm.
    model, state = golden_model()
    inputs = (torch.arange(10).reshape(2, 5) * 3) % 11
    targets = (torch.arange(10).reshape(2, 5) * 3 + 1) % 11
    h = 0.5 * torch.sin(torch.arange(16, dtype=torch.float32)).reshape(1, 2, 8)
    c = 0.5 * torch.cos(torch.arange(16, dtype=torch.float32)).reshape(1, 2, 8)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    optimizer.zero_grad()
    logits, _ = model(inputs, (h, c))
    F.cross_entropy(logits.flatten(0, 1), targets.flatten()).backward()
    norm = torch.sqrt(sum(p.grad.pow(2).sum() for p in model.parameters())).item()
    loss, (h_next, c_next) = train_step(model, optimizer, inputs, targets, (h, c), clip=0.1)
    cases["one_step"] = {
        "inputs": {"state": state, "inputs": inputs, "targets": targets, "h": h, "c": c,
                   "lr": 0.5, "clip": 0.1, **sizes},
        "outputs": {"loss": loss.item(), "h": h_next, "c": c_next, "grad_norm": norm,
                    "state": {n: t.clone() for n, t in model.state_dict().items()}},
    }

    # The second epoch of two, with Adam and the cosine schedule: 2 streams of 22, windows of 8
    # (8, 8, 6), the state carried from window to window.
    model, state = golden_model()
    tokens = (torch.arange(45) * 7 + torch.arange(45) // 5) % 11
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    epoch_loss = train_epoch(model, optimizer, make_windows(tokens, 2, 8), 0.01, 1.0, 2, 2)
    cases["epoch"] = {
        "inputs": {"state": state, "tokens": tokens, "streams": 2, "window": 8, "lr": 0.01,
                   "clip": 1.0, **sizes},
        "outputs": {"loss": epoch_loss,
                    "state": {n: t.clone() for n, t in model.state_dict().items()}},
    }

    # Evaluation of the fixed model on 30 tokens, and generation from a prompt: greedy, and
    # sampled after torch.manual_seed(7) with temperature 0.8 and top-k 4. Weights twice as large,
    # so that the greedy choice changes with the context.
    model, state = golden_model(scale=2.0)
    tokens = (torch.arange(30) * 4 + 3) % 11
    prompt = torch.tensor([1, 2, 3])
    greedy = generate(model, prompt, 12, 0.0, 0)
    torch.manual_seed(7)
    sampled = generate(model, prompt, 12, 0.8, 4)
    cases["generate"] = {
        "inputs": {"state": state, "tokens": tokens, "prompt": prompt, "length": 12, "seed": 7,
                   "temperature": 0.8, "top_k": 4, **sizes},
        "outputs": {"eval_loss": evaluate(model, tokens), "greedy": greedy, "sampled": sampled,
                    "prompt_logits": model(prompt.unsqueeze(0))[0][0, -1].detach()},
    }

    # The model in train() mode with dropout 0.5 after torch.manual_seed(3): the masks come from
    # the same generator in the same order (embeddings, then the LSTM's outputs) in both languages.
    model = CharLstm(11, embedding=6, hidden=8, dropout=0.5)
    state = fixed_state(model)
    torch.manual_seed(3)
    cases["dropout"] = {
        "inputs": {"state": state, "inputs": inputs, "seed": 3, "dropout": 0.5, **sizes},
        "outputs": {"logits": model(inputs)[0].detach()},
    }

    import golden  # tests/support/golden.py
    golden.write(LESSON, cases)


def main():
    parser = course_common.parser("11_char_lm: a character-level LSTM language model",
                                  epochs=EPOCHS)
    parser.add_argument("--corpus", choices=["tang", "english"], default="tang")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--prompt", default="")
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--top-k", type=int, default=20)
    args = parser.parse_args()
    if args.golden:
        write_golden()
        return
    train(args)


if __name__ == "__main__":
    main()

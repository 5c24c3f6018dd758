#!/usr/bin/env python3
"""10_rnn in Python PyTorch: the same fortune collections, vocabulary, padding and packing, the
same hand-written LSTM cell, bag-of-characters baseline and RNN/LSTM/GRU classifiers, with the
same flags as main.cpp; it prints the same lines, the table and the RESULT line.

    python lessons/10_rnn/reference.py --threads 2     # the baseline, RNN, LSTM and GRU
    python lessons/10_rnn/reference.py --smoke         # 512 texts cut to 64 characters
    python lessons/10_rnn/reference.py --golden        # write lessons/10_rnn/golden.json
"""
import math
import pathlib
import re
import sys
import time
import types

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "common" / "python"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
import course_common  # noqa: E402

LESSON = "10_rnn"
EPOCHS = 8
COLLECTIONS = "art,computers,cookie,definitions,men-women"
SMOKE_CHARS = 64
PAD, UNK = 0, 1
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


# ---- data (main.cpp: load_texts, build_vocabulary, encode, make_split, take) ------------------
def read_fortunes(path):
    """course::read_fortunes: entries between lines holding only %, colours removed, the end
    trimmed, empty entries skipped; the same errors."""
    try:
        data = pathlib.Path(path).read_bytes()
    except OSError:
        raise SystemExit(f"error: cannot open {path}")
    entries, entry = [], ""
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise SystemExit(f"error: {path}: line {number}: invalid UTF-8 at byte {e.start}; "
                             "a fortune file must be UTF-8 text")
        if line == "%":
            if entry.rstrip("\n \t\r"):
                entries.append(entry.rstrip("\n \t\r"))
            entry = ""
        else:
            entry += ANSI_COLOUR.sub("", line) + "\n"
    if entry.rstrip("\n \t\r"):
        entries.append(entry.rstrip("\n \t\r"))
    if not entries:
        raise SystemExit(f"error: {path} holds no entry (entries are separated by lines holding "
                         "only %)")
    return entries


def load_texts(args):
    """[(text, label)] for train and test: as many texts per collection as the smallest has
    (--smoke: 512 in all), cut to max_chars, a random test_share of each for the test set."""
    names = args.collections.split(",")
    if len(names) < 2:
        raise SystemExit("error: --collections needs two names or more")
    folder = course_common.find_dataset("fortunes", args.data_dir, names)
    entries = [read_fortunes(folder / name) for name in names]
    per_class = min(len(e) for e in entries)
    if args.smoke:
        per_class = min(per_class, course_common.SMOKE_SAMPLES // len(names))
    test_count = round(args.test_share * per_class)
    if test_count < 1 or test_count >= per_class:
        raise SystemExit(f"error: the smallest collection has {per_class} texts: too few to split "
                         "into train and test; choose other --collections")
    max_chars = min(SMOKE_CHARS, args.max_chars) if args.smoke else args.max_chars
    train, test = [], []
    for label, texts in enumerate(entries):
        order = torch.randperm(len(texts))
        for k in range(per_class):
            (test if k < test_count else train).append((texts[order[k]][:max_chars], label))
    return train, test


def build_vocabulary(train):
    return {c: i + 2 for i, c in enumerate(sorted(set("".join(text for text, _ in train))))}


def encode(text, vocabulary):
    return torch.tensor([vocabulary.get(c, UNK) for c in text], dtype=torch.int64)


def make_split(texts, vocabulary, device):
    """(tokens (N, T) padded with PAD on the device, lengths (N,) on the CPU, labels (N,))."""
    tokens = pad_sequence([encode(t, vocabulary) for t, _ in texts], batch_first=True,
                          padding_value=PAD)
    lengths = torch.tensor([len(t) for t, _ in texts], dtype=torch.int64)
    labels = torch.tensor([label for _, label in texts], dtype=torch.int64)
    return tokens.to(device), lengths, labels.to(device)


def take(split, index):
    tokens, lengths, labels = split
    lengths = lengths[index]
    rows = index.to(tokens.device)
    return tokens[rows][:, :int(lengths.max())], lengths, labels[rows]


# ---- the models --------------------------------------------------------------------------------
class BagOfCharacters(nn.Module):
    def __init__(self, vocabulary, classes):
        super().__init__()
        self.linear = nn.Linear(vocabulary - 1, classes)

    def forward(self, tokens, lengths):
        vocabulary = self.linear.in_features + 1
        counts = torch.zeros(tokens.shape[0], vocabulary, device=tokens.device)
        counts.scatter_add_(1, tokens, torch.ones(tokens.shape, device=tokens.device))
        return self.linear(counts[:, PAD + 1:] / lengths.to(counts).unsqueeze(1))


def lstm_cell_by_hand(x, h, c, cell):
    weight = torch.cat([cell.weight_ih, cell.weight_hh], dim=1)      # (4H, I + H)
    gates = torch.cat([x, h], dim=1) @ weight.t() + cell.bias_ih + cell.bias_hh
    i, f, g, o = gates.chunk(4, dim=1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_next = torch.sigmoid(o) * torch.tanh(c_next)
    return h_next, c_next


def last_layer(h_n, directions):
    """(layers * directions, B, H) -> (B, directions * H): torch.cat([h_n[-2], h_n[-1]], 1)."""
    return h_n[-directions:].transpose(0, 1).reshape(h_n.shape[1], -1)


class TextRnn(nn.Module):
    def __init__(self, cell="lstm", vocabulary=0, classes=5, embedding=64, hidden=64, layers=1,
                 bidirectional=True, dropout=0.3):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, embedding, padding_idx=PAD)
        layer = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = layer(embedding, hidden, num_layers=layers, bidirectional=bidirectional,
                         batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.directions = 2 if bidirectional else 1
        self.head = nn.Linear(self.directions * hidden, classes)

    def forward(self, tokens, lengths):
        return self.head(self.dropout(last_layer(self.final_states(tokens, lengths),
                                                 self.directions)))

    def final_states(self, tokens, lengths):
        packed = pack_padded_sequence(self.embedding(tokens), lengths, batch_first=True,
                                      enforce_sorted=False)
        _, h_n = self.rnn(packed)
        return h_n[0] if isinstance(self.rnn, nn.LSTM) else h_n


# ---- training and evaluation ---------------------------------------------------------------------
def train_step(model, optimizer, batch, clip):
    tokens, lengths, labels = batch
    optimizer.zero_grad()
    logits = model(tokens, lengths)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss.detach(), logits.detach()


def evaluate(model, split):
    """The share of the split's texts whose largest logit is their label: one batch."""
    tokens, lengths, labels = split
    model.eval()
    with torch.no_grad():
        predicted = model(tokens, lengths).argmax(1)
    model.train()
    return (predicted == labels).sum().item() / labels.shape[0]


def cosine_lr(base_lr, step, total_steps):
    progress = min(max(step, 0), total_steps) / total_steps
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def train(model, name, train_split, test_split, epochs, lr, args, log_every):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    n = train_split[2].shape[0]
    steps = (n + args.batch_size - 1) // args.batch_size
    accuracy, seconds = 0.0, 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(n)
        loss_sum = torch.zeros((), device=train_split[2].device)
        correct = torch.zeros((), device=train_split[2].device)
        for step in range(steps):
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(lr, (epoch - 1) * steps + step, epochs * steps)
            batch = take(train_split, order[step * args.batch_size:(step + 1) * args.batch_size])
            loss, logits = train_step(model, optimizer, batch, args.clip)
            loss_sum += loss * batch[2].shape[0]
            correct += (logits.argmax(1) == batch[2]).sum()
        loss = loss_sum.item() / n
        seconds += time.perf_counter() - start
        if not math.isfinite(loss):
            raise SystemExit(f"error: {name}: the loss became {loss} in epoch {epoch}; lower the "
                             f"learning rate (now {lr})")
        if epoch % log_every == 0 or epoch == epochs:
            accuracy = evaluate(model, test_split)
            print(f"{name:<8} epoch {epoch:2}/{epochs} | train loss {loss:.4f} acc "
                  f"{correct.item() / n:.4f} | test acc {accuracy:.4f} | {seconds:.1f}s",
                  flush=True)
    return accuracy, seconds


def run(args):
    device, _ = course_common.begin(args, LESSON)
    train_texts, test_texts = load_texts(args)
    vocabulary = build_vocabulary(train_texts)
    train_split = make_split(train_texts, vocabulary, device)
    test_split = make_split(test_texts, vocabulary, device)
    classes = len(args.collections.split(","))
    vocabulary_size = len(vocabulary) + 2
    print(f"data: {classes} collections, {len(train_texts)} train and {len(test_texts)} test texts "
          f"of {train_split[1].double().mean().item():.1f} characters on average")
    print(f"vocabulary: {vocabulary_size} tokens, <pad> and <unk> and the {len(vocabulary)} "
          "characters seen in training")

    cell = nn.LSTMCell(args.embedding, args.hidden)
    x = torch.randn(4, args.embedding)
    h, c = torch.randn(4, args.hidden), torch.randn(4, args.hidden)
    with torch.no_grad():
        h_hand, c_hand = lstm_cell_by_hand(x, h, c, cell)
        h_torch, c_torch = cell(x, (h, c))
    print(f"LSTM cell by hand vs nn::LSTMCell: largest difference "
          f"{(h_hand - h_torch).abs().max().item():.1e} in h, "
          f"{(c_hand - c_torch).abs().max().item():.1e} in c")

    n = test_split[1].shape[0]
    picked = torch.tensor([0, n // 3, 2 * n // 3, n - 1])  # in length order
    four = take(test_split, test_split[1].argsort()[picked])
    packed = pack_padded_sequence(four[0].cpu(), four[1], batch_first=True, enforce_sorted=False)
    sizes = packed.batch_sizes
    print(f"lengths {four[1].tolist()} padded to {list(four[0].shape)}: packed into "
          f"{packed.data.shape[0]} tokens, {sizes[0].item()} texts at step 1, {sizes[-1].item()} "
          f"at step {sizes.shape[0]}")
    stacked = TextRnn(vocabulary=vocabulary_size, classes=classes, layers=2).to(device)
    h_n = stacked.final_states(four[0], four[1])
    print(f"2-layer bidirectional LSTM: h_n {list(h_n.shape)} -> last layer, both directions "
          f"{list(last_layer(h_n, 2).shape)}")

    baseline = BagOfCharacters(vocabulary_size, classes).to(device)
    rows = [("baseline", sum(p.numel() for p in baseline.parameters()),
             *train(baseline, "baseline", train_split, test_split, args.baseline_epochs,
                    args.baseline_lr, args, 10))]
    cells = ["rnn", "lstm", "gru"] if args.cell == "all" else [args.cell]
    for name in cells:
        model = TextRnn(name, vocabulary_size, classes, args.embedding, args.hidden, args.layers,
                        not args.no_bidirectional, args.dropout).to(device)
        parameters = sum(p.numel() for p in model.parameters())
        print(f"model: {name} {args.layers} layer{'s' if args.layers > 1 else ''}"
              f"{'' if args.no_bidirectional else ', bidirectional'}, H {args.hidden}, "
              f"{parameters} parameters")
        rows.append((name, parameters, *train(model, name, train_split, test_split, args.epochs,
                                              args.lr, args, 1)))

    print(f"{'model':<10} {'parameters':>10} {'test acc':>9} {'seconds':>8}")
    for name, parameters, accuracy, seconds in rows:
        print(f"{name:<10} {parameters:>10} {accuracy:>9.4f} {seconds:>8.1f}")
    epoch_seconds = sum(row[3] for row in rows[1:]) / (args.epochs * len(cells))
    values = {"epochs": args.epochs, "epoch_time_s": epoch_seconds,
              "train_samples_per_s": len(train_texts) / epoch_seconds,
              "test_acc": rows[2 if args.cell == "all" else 1][2]}
    for name, _, accuracy, _ in rows:
        values[f"{name}_acc"] = accuracy
    course_common.result_line(LESSON, **values)


# ---- goldens (test.cpp) -------------------------------------------------------------------------
def fixed_state(module, scale=1.0):
    """Every weight from sin/cos of its position: no random stream, so the golden is stable."""
    state = {}
    for i, (name, tensor) in enumerate(module.state_dict().items()):
        position = torch.arange(tensor.numel(), dtype=torch.float32)
        if name.endswith("bias") or "bias_" in name:
            value = 0.1 * torch.cos(0.7 * position + i)
        else:
            value = scale * torch.sin(0.37 * position + i) / math.sqrt(max(tensor.shape[-1], 1))
        state[name] = value.reshape(tensor.shape)
    module.load_state_dict(state)
    return {name: t.clone() for name, t in state.items()}


def code_points(texts):
    """Texts as one flat int64 tensor of code points, and their lengths (golden.json holds
    numbers, not strings)."""
    return (torch.tensor([ord(c) for t in texts for c in t], dtype=torch.int64),
            torch.tensor([len(t) for t in texts], dtype=torch.int64))


def golden_batch(vocabulary=12):
    """Five texts of lengths 3, 7, 1, 5, 7 as tokens (5, 7) padded with PAD, not sorted."""
    lengths = torch.tensor([3, 7, 1, 5, 7])
    position = torch.arange(5 * 7).reshape(5, 7)
    tokens = 2 + (position * 7 + 3) % (vocabulary - 2)
    tokens = torch.where(torch.arange(7) < lengths.unsqueeze(1), tokens,
                         torch.full_like(tokens, PAD))
    return tokens, lengths, torch.tensor([0, 1, 2, 1, 0])


def write_golden():
    import golden
    torch.set_num_threads(1)
    cases = {}

    # Vocabulary and encoding: code point order, <pad> = 0, <unk> = 1 for what training never saw.
    train_texts = ["héllo, world", "床前明月光", "Tab\there", "zebra: 42%"]
    vocabulary = build_vocabulary([(t, 0) for t in train_texts])
    probe = "hello, 世界!\t"
    points, lengths = code_points(train_texts)
    cases["vocabulary"] = {
        "inputs": {"points": points, "lengths": lengths, "probe": code_points([probe])[0]},
        "outputs": {"characters": torch.tensor([ord(c) for c in vocabulary], dtype=torch.int64),
                    "probe_tokens": encode(probe, vocabulary)},
    }
    # Padding: the training texts as a split.
    tokens, split_lengths, _ = make_split([(t, 0) for t in train_texts], vocabulary, "cpu")
    cases["pad"] = {"inputs": {}, "outputs": {"tokens": tokens, "lengths": split_lengths}}

    # The hand-written cell and LSTMCell with fixed weights.
    cell = nn.LSTMCell(3, 4)
    state = fixed_state(cell)
    x = torch.sin(torch.arange(6, dtype=torch.float32)).reshape(2, 3)
    h = 0.5 * torch.cos(torch.arange(8, dtype=torch.float32)).reshape(2, 4)
    c = torch.sin(0.3 * torch.arange(8, dtype=torch.float32) + 1).reshape(2, 4)
    with torch.no_grad():
        h_next, c_next = cell(x, (h, c))
    cases["lstm_cell"] = {"inputs": {"x": x, "h": h, "c": c, "state": state},
                          "outputs": {"h": h_next, "c": c_next}}

    # The baseline's logits.
    tokens, lengths, labels = golden_batch()
    bag = BagOfCharacters(12, 3)
    state = fixed_state(bag)
    with torch.no_grad():
        cases["bag"] = {"inputs": {"tokens": tokens, "lengths": lengths, "state": state},
                        "outputs": {"logits": bag(tokens, lengths)}}

    # Each cell, 2 layers, bidirectional: h_n and the logits of the padded, unsorted batch.
    for name in ["rnn", "lstm", "gru"]:
        model = TextRnn(name, vocabulary=12, classes=3, embedding=4, hidden=5, layers=2,
                        bidirectional=True, dropout=0.0)
        state = fixed_state(model)
        model.eval()
        with torch.no_grad():
            h_n = model.final_states(tokens, lengths)
            logits = model(tokens, lengths)
        cases[f"text_{name}"] = {"inputs": {"tokens": tokens, "lengths": lengths, "state": state},
                                 "outputs": {"h_n": h_n, "logits": logits}}

    # One training step of a bidirectional LSTM classifier: Adam, the gradient clipped to 0.1
    # (its norm is larger, so the clipping matters).
    model = TextRnn("lstm", vocabulary=12, classes=3, embedding=4, hidden=5, layers=1,
                    bidirectional=True, dropout=0.0)
    state = fixed_state(model, scale=3.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    model.zero_grad()
    F.cross_entropy(model(tokens, lengths), labels).backward()
    norm = torch.sqrt(sum((p.grad ** 2).sum() for p in model.parameters())).item()
    loss, logits = train_step(model, optimizer, (tokens, lengths, labels), clip=0.1)
    cases["one_step"] = {
        "inputs": {"tokens": tokens, "lengths": lengths, "labels": labels, "state": state,
                   "lr": 0.01, "clip": 0.1},
        "outputs": {"loss": loss.item(), "logits": logits, "gradient_norm": norm,
                    "state": {n: t.clone() for n, t in model.state_dict().items()}},
    }
    # Two epochs of train() on that batch, one step each: the cosine schedule halves the learning
    # rate for the second step (lr * 0.5 * (1 + cos(pi / 2))).
    model = TextRnn("lstm", vocabulary=12, classes=3, embedding=4, hidden=5, layers=1,
                    bidirectional=True, dropout=0.0)
    state = fixed_state(model, scale=3.0)
    split = (tokens, lengths, labels)
    train(model, "lstm", split, split, 2, 0.01, types.SimpleNamespace(batch_size=5, clip=0.1), 2)
    cases["two_epochs"] = {
        "inputs": {"tokens": tokens, "lengths": lengths, "labels": labels, "state": state,
                   "lr": 0.01, "clip": 0.1},
        "outputs": {"state": {n: t.clone() for n, t in model.state_dict().items()}},
    }
    golden.write(LESSON, cases)


def main():
    parser = course_common.parser("10_rnn: RNN, LSTM and GRU tell fortune collections apart",
                                  epochs=EPOCHS)
    parser.add_argument("--collections", default=COLLECTIONS)
    parser.add_argument("--cell", default="all", choices=["rnn", "lstm", "gru", "all"])
    parser.add_argument("--max-chars", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--no-bidirectional", action="store_true")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    # The rest of main.cpp's Config, not flags there either.
    args.test_share, args.embedding, args.dropout, args.clip = 0.2, 64, 0.3, 1.0
    args.baseline_epochs, args.baseline_lr = 40, 0.05
    if args.golden:
        write_golden()
        return
    run(args)


if __name__ == "__main__":
    main()

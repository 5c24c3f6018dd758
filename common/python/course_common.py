"""course_common.py: what every reference.py shares, the Python twin of common/ (flags, data
location, Fashion-MNIST reading and normalisation, the epoch history and the RESULT line that
./course bench reads, the confusion matrix as text), and what later lessons take from earlier
ones (an earlier reference.py as a module, a model with fixed weights).

A reference.py puts this folder on sys.path:
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "common" / "python"))
"""
import argparse
import gzip
import importlib.util
import math
import os
import pathlib
import re
import struct
import time

import torch

REPO = pathlib.Path(__file__).resolve().parents[2]

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# Mean and standard deviation of the training pixels after /255 (course::kFashionMean, kFashionStd).
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530
# --smoke: samples per split (course::kSmokeSamples).
SMOKE_SAMPLES = 512
FASHION_FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def parser(description, epochs=1):
    """The shared flags, the same names and defaults as common/include/course/flags.h."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data-dir", default="")
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--out", default="")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--golden", action="store_true",
                   help="write tests/golden/<lesson>.json and exit")
    return p


def new_run_folder(root):
    """course::new_run_folder: a new folder root/run_N, N one more than the largest there."""
    root = pathlib.Path(root)
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name[4:]) for p in root.iterdir() if p.is_dir() and
               re.fullmatch(r"run_[1-9][0-9]*", p.name)]
    number = max(numbers, default=0) + 1
    while True:
        try:
            (root / f"run_{number}").mkdir()
            return root / f"run_{number}"
        except FileExistsError:  # another run started at the same moment took it
            number += 1


def run_to_resume(root, file):
    """course::run_to_resume: the latest run folder under root that holds `file`, or root."""
    root = pathlib.Path(root)
    if (root / file).exists():
        return root
    runs = sorted((int(p.name[4:]), p) for p in root.glob("run_*") if p.is_dir() and
                  re.fullmatch(r"run_[1-9][0-9]*", p.name)) if root.is_dir() else []
    for _, folder in reversed(runs):
        if (folder / file).exists():
            return folder
    raise SystemExit(f"error: --resume: no run folder in {root} holds a {file} to continue. Run "
                     "once without --resume (same --out) first, or point --out at the folder "
                     "that holds the runs.")


def begin(args, lesson, checkpoint=None, resume=False):
    """Seed, threads, device, the run's own folder: course::begin_lesson in Python. Each run gets
    <out>/run_N; with `resume` the latest run folder that holds `checkpoint` instead."""
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    root = pathlib.Path(args.out) if args.out else REPO / "build" / "python-out" / lesson
    out = run_to_resume(root, checkpoint) if resume else new_run_folder(root)
    print(f"== {lesson} (Python) | torch {torch.__version__} | device {device} | "
          f"threads {torch.get_num_threads()} | seed {args.seed}", flush=True)
    print(f"run folder: {out} ({'continued, --resume' if resume else 'new'})", flush=True)
    return device, out


def find_dataset(name, data_dir, required):
    """Same search order as course::find_dataset: --data-dir, $COURSE_DATA_DIR, datasets/,
    /usr/share/datasets, /usr/share/games."""
    if data_dir:
        places = [pathlib.Path(data_dir) / name, pathlib.Path(data_dir)]
    else:
        places = []
        if os.environ.get("COURSE_DATA_DIR"):
            if not pathlib.Path(os.environ["COURSE_DATA_DIR"]).is_dir():
                raise SystemExit(f"error: COURSE_DATA_DIR={os.environ['COURSE_DATA_DIR']} does not "
                                 "exist or is not a folder; fix it, or unset it")
            places.append(pathlib.Path(os.environ["COURSE_DATA_DIR"]) / name)
        places += [REPO / "datasets" / name, pathlib.Path("/usr/share/datasets") / name,
                   pathlib.Path("/usr/share/games") / name]
    for place in places:
        if all((place / f).is_file() for f in required):
            return place
    raise SystemExit(f"error: {name} not found (searched {', '.join(map(str, places))}); "
                     "install it with ./course setup or pass --data-dir")


def read_idx(path):
    """An IDX file of unsigned bytes (gzip or plain) as a uint8 tensor."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, kind, dims = struct.unpack(">HBB", data[:4])
    if zero != 0 or kind != 0x08:
        raise ValueError(f"{path}: bad magic number")
    shape = struct.unpack(f">{dims}I", data[4:4 + 4 * dims])
    body = bytearray(data[4 + 4 * dims:])
    count = 1
    for size in shape:
        count *= size
    if len(body) != count:
        raise ValueError(f"{path}: {len(body)} data bytes for shape {shape} "
                         "(truncated or trailing bytes)")
    return torch.frombuffer(body, dtype=torch.uint8).reshape(shape)


def load_fashion_mnist(directory, train, limit=0):
    """(images (N, 28, 28) uint8, labels (N,) int64): course::load_fashion_mnist in Python."""
    prefix = "train" if train else "t10k"
    images = read_idx(pathlib.Path(directory) / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(pathlib.Path(directory) / f"{prefix}-labels-idx1-ubyte.gz").long()
    if limit > 0:
        images, labels = images[:limit].clone(), labels[:limit].clone()
    return images, labels


def load_fashion(args, train):
    """The split found through --data-dir, the first SMOKE_SAMPLES with --smoke:
    course::load_fashion_mnist(options, train)."""
    directory = find_dataset("fashion-mnist", args.data_dir, FASHION_FILES)
    return load_fashion_mnist(directory, train, SMOKE_SAMPLES if args.smoke else 0)


def normalize_fashion(images):
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28): course::normalize_fashion."""
    return ((images.float() / 255.0 - FASHION_MEAN) / FASHION_STD).unsqueeze(1)


def result_line(lesson, **values):
    """The one line ./course bench reads, as course::print_result writes it:
    RESULT lesson=NN_topic key=value ..., each number with 6 significant digits."""
    text = " ".join(f"{k}={v:.6g}" for k, v in values.items())
    print(f"RESULT lesson={lesson} {text}", flush=True)


class History:
    """course::History: one row per epoch with the same columns, written to <out>/metrics.csv at
    once; print_result computes the RESULT line from the rows. (The C++ side also draws the
    curves.)"""

    def __init__(self, out_dir, columns):
        self.columns = ["epoch"] + list(columns)
        self.rows = []
        self.path = pathlib.Path(out_dir) / "metrics.csv"
        self.path.write_text(",".join(self.columns) + "\n")

    def add(self, epoch, values):
        row = [float(epoch)] + [float(v) for v in values]
        if len(row) != len(self.columns):
            raise ValueError(f"metrics row has {len(row)} values for {len(self.columns)} columns")
        self.rows.append(row)
        with self.path.open("a") as f:
            f.write(",".join(f"{v:.10g}" for v in row) + "\n")

    def column(self, name):
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def last(self, name):
        return self.column(name)[-1]

    def print_result(self, lesson, train_samples):
        seconds, compute = self.column("seconds"), self.column("compute_seconds")
        total, epochs = sum(seconds), len(seconds)
        result_line(lesson, epochs=epochs, epoch_time_s=total / epochs,
                    train_samples_per_s=train_samples * epochs / total,
                    test_acc=self.last("test_acc"), outside_share=1.0 - sum(compute) / total)


def format_confusion(matrix, names=FASHION_CLASSES):
    """course::format_confusion: one line per true class, the counts and the recall."""
    corner = "true \\ pred"
    text = f"{corner:<14}" + "".join(f"{p:>6}" for p in range(matrix.shape[0])) + "  recall\n"
    for t, row in enumerate(matrix.tolist()):
        text += f"{f'{t} {names[t]}':<14}" + "".join(f"{count:>6}" for count in row)
        text += f"  {row[t] / sum(row) if sum(row) else 0.0:.3f}\n"
    return text


class Stopwatch:
    def __init__(self):
        self.start = time.perf_counter()

    def seconds(self):
        return time.perf_counter() - self.start


def lesson_reference(lesson):
    """lessons/<lesson>/reference.py as a module: a later lesson's Python builds on an earlier
    lesson's classes (lesson 08's Cnn, lesson 11's corpus and LSTM), as its C++ includes their
    headers (#include "08_cnn/cnn.h")."""
    spec = importlib.util.spec_from_file_location(f"lesson{lesson[:2]}",
                                                  REPO / "lessons" / lesson / "reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fixed_weights(model, weight_gain=1.0, bias_amplitude=0.1):
    """Every weight and batch-norm statistic of `model` from sin/cos of its position, then eval
    mode: no training and no random stream, so golden.json stays the same on every machine and
    LibTorch version. Convolution and linear weights are weight_gain * sin(...) / sqrt(fan_in),
    about the size PyTorch's own init gives at weight_gain sqrt(3)."""
    state = {}
    for i, (name, tensor) in enumerate(model.state_dict().items()):
        position = torch.arange(tensor.numel(), dtype=torch.float32)
        if name.endswith("num_batches_tracked"):
            value = torch.tensor(7 + i)
        elif name.endswith("running_mean"):
            value = 0.2 * torch.sin(1.3 * position + i)
        elif name.endswith("running_var"):
            value = 0.5 + torch.cos(0.8 * position + i) ** 2
        elif name.startswith("bn") and name.endswith("weight"):
            value = 1.0 + 0.1 * torch.sin(0.9 * position + i)
        elif name.endswith("bias"):
            value = bias_amplitude * torch.cos(0.7 * position + i)
        else:
            value = weight_gain * torch.sin(0.37 * position + i) / math.sqrt(tensor[0].numel())
        state[name] = value.reshape(tensor.shape).to(tensor.dtype)
    model.load_state_dict(state)
    return model.eval()

"""course_common.py: what every reference.py shares, the Python twin of common/ (flags, data
location, Fashion-MNIST reading, the RESULT line that ./course bench reads).

A reference.py puts this folder on sys.path:
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "common" / "python"))
"""
import argparse
import gzip
import os
import pathlib
import struct
import time

import torch

REPO = pathlib.Path(__file__).resolve().parents[2]

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
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


def begin(args, lesson):
    """Seed, threads, device, output folder: course::begin_lesson in Python."""
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    out = pathlib.Path(args.out) if args.out else REPO / "build" / "python-out" / lesson
    out.mkdir(parents=True, exist_ok=True)
    print(f"== {lesson} (Python) | torch {torch.__version__} | device {device} | "
          f"threads {torch.get_num_threads()} | seed {args.seed}", flush=True)
    return device, out


def find_dataset(name, data_dir, required):
    """Same search order as course::find_dataset: --data-dir, $COURSE_DATA_DIR, datasets/,
    /usr/share/datasets."""
    if data_dir:
        places = [pathlib.Path(data_dir) / name, pathlib.Path(data_dir)]
    else:
        places = []
        if os.environ.get("COURSE_DATA_DIR"):
            places.append(pathlib.Path(os.environ["COURSE_DATA_DIR"]) / name)
        places += [REPO / "datasets" / name, pathlib.Path("/usr/share/datasets") / name]
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


def result_line(**values):
    """The one line ./course bench reads: RESULT key=value ... (same keys as the C++ side)."""
    text = " ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in values.items())
    print(f"RESULT {text}", flush=True)


class Stopwatch:
    def __init__(self):
        self.start = time.perf_counter()

    def seconds(self):
        return time.perf_counter() - self.start

"""06_datasets in Python PyTorch: the same datasets, transforms, samplers, loaders and fast path as
main.cpp, with the same flags, the same printed lines (the names of the loader ways say
"Dataset[i] + collate" where C++ says "Dataset::get + Stack") and the same RESULT keys.

    python lessons/06_datasets/reference.py [--smoke] [--threads 2] [--workers 2]
    python lessons/06_datasets/reference.py --golden   # writes lessons/06_datasets/golden.json

Python normally reads PNGs with PIL or torchvision.io.read_image; neither is in the course's
virtual environment, so read_png_gray() below decodes the (gray, 8-bit) PNGs with zlib.
"""
import math
import pathlib
import struct
import sys
import zlib

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, RandomSampler, SequentialSampler

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "common" / "python"))
sys.path.insert(0, str(HERE.parents[1] / "tests" / "support"))
import course_common as common  # noqa: E402

LESSON = "06_datasets"
PNG_FOLDER, CSV_FILE = "fashion-mnist-png", "fashion-mnist.csv"


class Config:
    batch_size = 64
    workers = 2
    flip_probability = 0.5  # augmentation: chance of a left-right mirror,
    max_shift = 2           # a shift by whole pixels,
    max_degrees = 10.0      # a rotation drawn from [-max, max]
    max_scale_change = 0.1  # and a scale drawn from [1 - c, 1 + c]


# ---- transforms (main.cpp; affine_matrices is course::affine_matrices in common/) ---------------
def affine_matrices(degrees, shift_x, shift_y, scale, flip, height, width):
    """(B, 2, 3) float64 matrices for F.affine_grid: the inverse of mirror, rotate, scale, shift."""
    radians = degrees.double() * (math.pi / 180.0)
    cos_a, sin_a = torch.cos(radians), torch.sin(radians)
    sign = 1.0 - 2.0 * flip.ne(0).double()
    s, dx, dy = scale.double(), shift_x.double(), shift_y.double()
    h, w = float(height), float(width)
    row0 = torch.stack([sign * cos_a / s, -sign * sin_a * (h / w) / s,
                        -sign * (cos_a * dx - sin_a * dy) / (w / 2.0) / s], dim=1)
    row1 = torch.stack([sin_a * (w / h) / s, cos_a / s,
                        -(sin_a * dx + cos_a * dy) / (h / 2.0) / s], dim=1)
    return torch.stack([row0, row1], dim=1)


def affine(images, theta):
    grid = F.affine_grid(theta.to(images.dtype), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, align_corners=False)


def augment(images, config):
    """A random flip, shift, rotation and scale of each image of (B, C, H, W): one grid_sample."""
    batch, shift = images.shape[0], config.max_shift
    flip = torch.rand(batch, dtype=torch.float64) < config.flip_probability
    shifts = torch.randint(-shift, shift + 1, (batch, 2)).double()
    u = torch.rand(batch, 2, dtype=torch.float64) * 2.0 - 1.0
    theta = affine_matrices(u[:, 0] * config.max_degrees, shifts[:, 0], shifts[:, 1],
                            1.0 + u[:, 1] * config.max_scale_change, flip, *images.shape[-2:])
    return affine(images, theta)


# ---- 1-3. datasets ------------------------------------------------------------------------------
def to_float_image(pixels):
    return pixels.unsqueeze(0).float().div(255.0)  # (1, H, W)


class FashionMnistDataset(Dataset):
    def __init__(self, images, labels):
        self.images, self.labels = images, labels  # (N, H, W) uint8, (N,) int64

    def __len__(self):
        return self.images.shape[0]

    def __getitem__(self, index):
        return to_float_image(self.images[index]), self.labels[index]


def read_png_gray(path):
    """A gray 8-bit PNG as an (H, W) uint8 tensor (PIL.Image.open(path) in everyday code)."""
    data = pathlib.Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG file")
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if (depth, colour, interlace) != (8, 0, 0):
                raise ValueError(f"{path}: only gray 8-bit non-interlaced PNGs are supported")
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw, rows, previous = zlib.decompress(idat), [], bytearray(width)
    for r in range(height):
        start = r * (width + 1)  # each row: one filter-type byte, then the row's bytes
        line = unfilter(raw[start], bytearray(raw[start + 1:start + 1 + width]), previous)
        rows.append(bytes(line))
        previous = line
    return torch.frombuffer(bytearray(b"".join(rows)), dtype=torch.uint8).reshape(height, width)


def unfilter(kind, line, previous):
    """Undoes a PNG row filter (1 byte per pixel): 0 none, 1 sub, 2 up, 3 average, 4 Paeth."""
    if kind == 0:
        return line
    for i in range(len(line)):
        left, up = line[i - 1] if i else 0, previous[i]
        up_left = previous[i - 1] if i else 0
        if kind == 1:
            predicted = left
        elif kind == 2:
            predicted = up
        elif kind == 3:
            predicted = (left + up) // 2
        else:
            p = left + up - up_left
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
            predicted = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
        line[i] = (line[i] + predicted) & 255
    return line


class ImageFolderDataset(Dataset):
    def __init__(self, root):
        root = pathlib.Path(root)
        self.classes = sorted(p.name for p in root.iterdir() if p.is_dir())
        self.samples = [(path, label) for label, name in enumerate(self.classes)
                        for path in sorted((root / name).glob("*.png"), key=lambda p: p.name)]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, label = self.samples[index]
        return to_float_image(read_png_gray(path)), torch.tensor(label)


def read_csv(path, height=28, width=28):
    """The CSV parsed once into the same Dataset (course::read_csv_integers, then read_csv)."""
    lines = pathlib.Path(path).read_text().splitlines()[1:]
    table = torch.tensor([list(map(int, line.split(","))) for line in lines if line])
    return FashionMnistDataset(table[:, 1:].to(torch.uint8).reshape(-1, height, width),
                               table[:, 0].clone())


class Mapped(Dataset):
    """dataset.map(transform) in C++: fn applied to each sample's image."""
    def __init__(self, dataset, fn):
        self.dataset, self.fn = dataset, fn

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        image, label = self.dataset[index]
        return self.fn(image), label


def normalize(image):
    return (image - common.FASHION_MEAN) / common.FASHION_STD


class AugmentOne:
    """augment() of one image (C, H, W), as a batch of one; a class, so worker processes can take
    it (pickle)."""
    def __init__(self, config):
        self.config = config

    def __call__(self, image):
        return augment(image.unsqueeze(0), self.config).squeeze(0)


# ---- golden ------------------------------------------------------------------------------------
def golden():
    from golden import write
    # Rows of (degrees, shift_x, shift_y, scale, flip): no change, a mirror, rotations, shifts,
    # zooms, all at once.
    params = torch.tensor([[0.0, 0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0, 1.0],
                           [10.0, 0.0, 0.0, 1.0, 0.0], [-7.5, 2.0, -1.0, 1.1, 0.0],
                           [30.0, -3.0, 1.5, 0.9, 1.0]], dtype=torch.float64)
    thetas = {f"theta_{h}x{w}": affine_matrices(*params.unbind(1), h, w)
              for h, w in [(28, 28), (20, 30)]}
    # Two smooth test images (sin / cos of the pixel grid), one matrix each.
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, 28), torch.linspace(-1, 1, 28), indexing="ij")
    pictures = torch.stack([torch.sin(3 * xs) * torch.cos(2 * ys), (xs + ys).abs()]).unsqueeze(1)
    picture_theta = thetas["theta_28x28"][[2, 3]].float()
    cases = {
        "affine_matrices": {"inputs": {"params": params}, "outputs": thetas},
        "affine": {"inputs": {"images": pictures, "theta": picture_theta},
                   "outputs": {"transformed": affine(pictures, picture_theta)}},
    }
    write(LESSON, cases)


# ---- the run ------------------------------------------------------------------------------------
def measure(name, loader, samples, epochs):
    clock, seen = common.Stopwatch(), 0
    for _ in range(epochs):
        for images, _labels in loader:
            seen += images.shape[0]
    seconds = clock.seconds()
    if seen != samples * epochs:
        raise SystemExit(f"error: {name}: saw {seen} samples, expected {samples * epochs}")
    rate = seen / seconds
    print(f"  {name:<40} {rate:>10.0f} samples/s  ({seen} samples, {seconds:.3f} s)", flush=True)
    return rate


def fast_pass(images, labels, config, augmented):
    def one_pass():
        for index in torch.randperm(images.shape[0]).split(config.batch_size):
            x = images.index_select(0, index)  # images[index]
            yield (augment(x, config) if augmented else x), labels.index_select(0, index)
    return one_pass


class Pass:
    """Makes a generator function iterable like a loader, once per `for`."""
    def __init__(self, make):
        self.make = make

    def __iter__(self):
        return self.make()


def main():
    p = common.parser("06_datasets: datasets, transforms, samplers and loaders, measured")
    p.add_argument("--batch-size", type=int, default=Config.batch_size)
    p.add_argument("--workers", type=int, default=Config.workers)
    args = p.parse_args()
    if not 1 <= args.batch_size <= 60000 or not 0 <= args.workers <= 64:
        p.error("--batch-size must be in [1, 60000], --workers in [0, 64]")
    if args.golden:
        golden()
        return
    config = Config()
    config.batch_size, config.workers = args.batch_size, args.workers
    common.begin(args, LESSON)
    epochs = args.epochs

    idx_dir = common.find_dataset("fashion-mnist", args.data_dir, common.FASHION_FILES)
    png_dir = common.find_dataset(PNG_FOLDER, args.data_dir, [CSV_FILE])
    print(f"data: {idx_dir} (IDX) and {png_dir} (PNG + CSV)")
    clock = common.Stopwatch()
    train = FashionMnistDataset(*common.load_fashion_mnist(idx_dir, train=True))
    print(f"IDX: {len(train)} training images 28x28 read in {clock.seconds():.2f} s")
    image, label = train[0]
    print(f"train[0]: label {label.item()} ({common.FASHION_CLASSES[label]}), data "
          f"{'x'.join(map(str, image.shape))} in [{image.min():.1f}, {image.max():.1f}], "
          f"mean {image.mean():.4f}")
    n = common.SMOKE_SAMPLES if args.smoke else len(train)
    work = FashionMnistDataset(train.images[:n], train.labels[:n])

    folder = ImageFolderDataset(png_dir)
    clock = common.Stopwatch()
    csv = read_csv(png_dir / CSV_FILE)
    csv_rate = len(csv) / clock.seconds()
    print(f"PNG folder: {len(folder)} images in {len(folder.classes)} classes")
    print(f"CSV: {len(csv)} rows parsed ({csv_rate:.0f} rows/s)")
    difference, mismatches = 0.0, 0
    for i in range(len(folder)):
        (png, png_label), (row, row_label) = folder[i], csv[i]
        idx, idx_label = train[int(folder.samples[i][0].stem)]
        difference = max(difference, (png - row).abs().max().item(), (png - idx).abs().max().item())
        mismatches += int(png_label != row_label or png_label != idx_label)
    print(f"PNG, CSV and IDX agree on {len(folder)} images: max pixel difference {difference:g}, "
          f"label mismatches {mismatches}")

    for name, sampler in [("SequentialSampler", SequentialSampler(csv)),
                          ("RandomSampler", RandomSampler(csv))]:
        labels = next(iter(DataLoader(csv, batch_size=config.batch_size, sampler=sampler)))[1]
        labels = labels[:16].tolist()
        print(f"first batch, {name + ':':<19}labels {' '.join(map(str, labels))} "
              f"({len(set(labels))} distinct)")

    print(f"throughput, batch {config.batch_size}, {n} samples, {epochs} epoch(s) each:")
    result = dict(epochs=epochs, samples=n, csv_parse_rows_per_s=csv_rate)
    w, batch = config.workers, config.batch_size
    images = work.images.unsqueeze(1).float()  # (N, 1, 28, 28)
    images.div_(255.0).sub_(common.FASHION_MEAN).div_(common.FASHION_STD)  # in place
    ways = [
        ("Dataset[i] + collate, 0 workers", "loader_w0_samples_per_s", n,
         DataLoader(Mapped(work, normalize), batch_size=batch, shuffle=True)),
        (f"Dataset[i] + collate, {w} workers", "loader_samples_per_s", n,
         DataLoader(Mapped(work, normalize), batch_size=batch, shuffle=True, num_workers=w)),
        (f"+ flip, shift, rotate, scale, {w} workers", "loader_augment_samples_per_s", n,
         DataLoader(Mapped(Mapped(work, normalize), AugmentOne(config)), batch_size=batch, shuffle=True,
                    num_workers=w)),
        (f"PNG folder (zlib in Python), {w} workers", "image_folder_samples_per_s", len(folder),
         DataLoader(Mapped(folder, normalize), batch_size=batch, shuffle=True, num_workers=w)),
        ("fast path: randperm + index_select", "fast_path_samples_per_s", n,
         Pass(fast_pass(images, work.labels, config, False))),
        ("fast path + augment per batch", "fast_path_augment_samples_per_s", n,
         Pass(fast_pass(images, work.labels, config, True))),
    ]
    for name, key, samples, loader in ways:
        result[key] = measure(name, loader, samples, epochs)
    print(f"the fast path is "
          f"{result['fast_path_samples_per_s'] / result['loader_w0_samples_per_s']:.1f}x "
          "the 0-worker loader")
    common.result_line(LESSON, **result)


if __name__ == "__main__":
    main()

"""Lesson 06 in Python PyTorch: the same datasets, transforms, samplers, loaders and fast path as
main.cpp, with the same flags and the same RESULT keys.

    python lessons/06_datasets/reference.py [--smoke] [--threads 2] [--workers 2]
    python lessons/06_datasets/reference.py --golden   # writes tests/golden/06_datasets.json

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
MEAN, STD = 0.2860, 0.3530
PNG_DATASET, CSV_FILE = "fashion-mnist-png", "fashion-mnist.csv"
BATCH_SIZE, SMOKE_SAMPLES = 64, 512
AUGMENT = dict(flip_probability=0.5, crop_padding=2, max_degrees=10.0, max_scale_change=0.1)


# ---- 4. transforms (the same functions as datasets.cpp) -----------------------------------------
def normalize(images, mean=MEAN, std=STD):
    return (images - mean) / std


def hflip(images):
    return images.flip(-1)


def pad_crop(images, padding, top, left):
    height, width = images.shape[-2:]
    padded = F.pad(images, (padding, padding, padding, padding))
    return padded[..., top:top + height, left:left + width]


def affine_matrices(degrees, shift_x, shift_y, scale, flip, height, width):
    """(B, 2, 3) matrices for F.affine_grid: the inverse of mirror, rotate, scale, shift."""
    radians = degrees * (math.pi / 180.0)
    cos_a, sin_a = torch.cos(radians), torch.sin(radians)
    sign = 1.0 - 2.0 * flip.to(cos_a.dtype)
    h, w = float(height), float(width)
    row0 = torch.stack([sign * cos_a / scale, -sign * sin_a * (h / w) / scale,
                        -sign * (cos_a * shift_x - sin_a * shift_y) / (w / 2.0) / scale], dim=1)
    row1 = torch.stack([sin_a * (w / h) / scale, cos_a / scale,
                        -(sin_a * shift_x + cos_a * shift_y) / (h / 2.0) / scale], dim=1)
    return torch.stack([row0, row1], dim=1)


def affine_matrix(degrees, shift_x, shift_y, scale, flip, height, width):
    one = lambda v: torch.full((1,), float(v), dtype=torch.float64)  # noqa: E731
    return affine_matrices(one(degrees), one(shift_x), one(shift_y), one(scale),
                           one(1.0 if flip else 0.0), height, width)[0].float()


def affine(images, theta):
    single = images.dim() == 3
    batch = images.unsqueeze(0) if single else images
    matrices = (theta.unsqueeze(0) if theta.dim() == 2 else theta).to(batch.dtype)
    grid = F.affine_grid(matrices, list(batch.shape), align_corners=False)
    out = F.grid_sample(batch, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.squeeze(0) if single else out


def augment(image, flip_probability, crop_padding, max_degrees, max_scale_change):
    out = image
    if torch.rand(1).item() < flip_probability:
        out = hflip(out)
    top, left = torch.randint(0, 2 * crop_padding + 1, (2,)).tolist()
    out = pad_crop(out, crop_padding, top, left)
    u = torch.rand(2, dtype=torch.float64) * 2.0 - 1.0
    degrees, scale = u[0].item() * max_degrees, 1.0 + u[1].item() * max_scale_change
    return affine(out, affine_matrix(degrees, 0.0, 0.0, scale, False, *out.shape[-2:]))


def augment_batch(images, flip_probability, crop_padding, max_degrees, max_scale_change):
    batch = images.shape[0]
    flip = torch.rand(batch, dtype=torch.float64) < flip_probability
    shift = torch.randint(-crop_padding, crop_padding + 1, (batch, 2)).double()
    u = torch.rand(batch, 2, dtype=torch.float64) * 2.0 - 1.0
    theta = affine_matrices(u[:, 0] * max_degrees, shift[:, 0], shift[:, 1],
                            1.0 + u[:, 1] * max_scale_change, flip, *images.shape[-2:])
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


class CsvDataset(Dataset):
    def __init__(self, path, height=28, width=28):
        lines = pathlib.Path(path).read_text().splitlines()[1:]
        rows = torch.tensor([list(map(int, line.split(","))) for line in lines if line])
        self.labels = rows[:, 0].clone()
        self.images = rows[:, 1:].to(torch.uint8).reshape(-1, height, width)

    def __len__(self):
        return self.images.shape[0]

    def __getitem__(self, index):
        return to_float_image(self.images[index]), self.labels[index]


class Mapped(Dataset):
    """dataset.map(TensorLambda(fn)) in C++: fn applied to each sample's image."""
    def __init__(self, dataset, fn):
        self.dataset, self.fn = dataset, fn

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        image, label = self.dataset[index]
        return self.fn(image), label


def normalize_sample(image):
    return normalize(image)


def augment_sample(image):
    return normalize(augment(image, **AUGMENT))


# ---- golden -------------------------------------------------------------------------------------
def golden():
    from golden import write
    image = (torch.arange(784, dtype=torch.float32) / 783.0).reshape(1, 28, 28)
    small = torch.arange(42, dtype=torch.float32).reshape(1, 6, 7)
    offsets = torch.tensor([[0, 0], [2, 2], [4, 1], [3, 4]])
    params = torch.tensor([[0.0, 0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0, 1.0],
                           [10.0, 0.0, 0.0, 1.0, 0.0], [-7.5, 2.0, -1.0, 1.1, 0.0],
                           [30.0, -3.0, 1.5, 0.9, 1.0]], dtype=torch.float64)
    sizes = [(28, 28), (20, 30)]
    thetas = {f"theta_{h}x{w}": torch.stack([affine_matrix(*row.tolist()[:4], row[4].item() > 0.5,
                                                           h, w) for row in params])
              for h, w in sizes}
    # Two smooth test images (sin / cos of the pixel grid), one matrix each.
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, 28), torch.linspace(-1, 1, 28), indexing="ij")
    pictures = torch.stack([torch.sin(3 * xs) * torch.cos(2 * ys), (xs + ys).abs()]).unsqueeze(1)
    picture_theta = thetas["theta_28x28"][[2, 3]]
    cases = {
        "normalize": {"inputs": {"image": image}, "outputs": {"normalized": normalize(image)}},
        "hflip": {"inputs": {"image": small}, "outputs": {"flipped": hflip(small)}},
        "pad_crop": {"inputs": {"image": small, "padding": 2, "offsets": offsets},
                     "outputs": {f"crop_{t}_{l}": pad_crop(small, 2, t, l)
                                 for t, l in offsets.tolist()}},
        "affine_matrix": {"inputs": {"params": params}, "outputs": thetas},
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
    print(f"  {name:<44} {rate:>10.0f} samples/s  ({seen} samples, {seconds:.3f} s)", flush=True)
    return rate


def main():
    p = common.parser("Datasets, transforms, samplers and data loaders (Python)")
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    if args.golden:
        golden()
        return
    common.begin(args, LESSON)
    epochs = max(args.epochs, 1)

    idx_dir = common.find_dataset("fashion-mnist", args.data_dir, common.FASHION_FILES)
    png_dir = common.find_dataset(PNG_DATASET, args.data_dir, [CSV_FILE])
    print(f"data: {idx_dir} (IDX) and {png_dir} (PNG + CSV)")

    clock = common.Stopwatch()
    train = FashionMnistDataset(*common.load_fashion_mnist(idx_dir, train=True))
    print(f"IDX: {len(train)} training images 28x28 read in {clock.seconds():.2f} s")
    image, label = train[0]
    print(f"train[0]: label {label.item()} ({common.FASHION_CLASSES[label]}), data "
          f"{'x'.join(map(str, image.shape))} in [{image.min():.1f}, {image.max():.1f}], "
          f"mean {image.mean():.4f}")
    limit = SMOKE_SAMPLES if args.smoke else len(train)
    work = FashionMnistDataset(train.images[:limit], train.labels[:limit])
    samples = len(work)

    folder = ImageFolderDataset(png_dir)
    clock = common.Stopwatch()
    csv = CsvDataset(png_dir / CSV_FILE)
    csv_seconds = clock.seconds()
    csv_rate = len(csv) / csv_seconds
    print(f"PNG folder: {len(folder)} images in {len(folder.classes)} classes")
    print(f"CSV: {len(csv)} rows parsed in {csv_seconds:.3f} s ({csv_rate:.0f} rows/s)")
    difference, mismatches = 0.0, 0
    for i in range(len(folder)):
        (png, png_label), (row, row_label) = folder[i], csv[i]
        idx, idx_label = train[int(folder.samples[i][0].stem)]
        difference = max(difference, (png - row).abs().max().item(), (png - idx).abs().max().item())
        mismatches += int(png_label != row_label or png_label != idx_label)
    print(f"PNG, CSV and IDX agree on {len(folder)} images: max pixel difference {difference:g}, "
          f"label mismatches {mismatches}")

    sequential = DataLoader(csv, batch_size=args.batch_size, sampler=SequentialSampler(csv))
    shuffled = DataLoader(csv, batch_size=args.batch_size, sampler=RandomSampler(csv))
    for name, loader in [("SequentialSampler", sequential), ("RandomSampler", shuffled)]:
        labels = next(iter(loader))[1][:16]
        print(f"first batch, {name + ':':<19}labels {' '.join(map(str, labels.tolist()))}")

    print(f"throughput, batch {args.batch_size}, {samples} samples, {epochs} epoch(s) each:")
    w = args.workers
    plain = Mapped(work, normalize_sample)
    rate0 = measure("Dataset[i] + collate, 0 workers",
                    DataLoader(plain, batch_size=args.batch_size, shuffle=True), samples, epochs)
    rate = measure(f"Dataset[i] + collate, {w} workers",
                   DataLoader(plain, batch_size=args.batch_size, shuffle=True, num_workers=w),
                   samples, epochs)
    augment_rate = measure(f"+ flip, crop, affine, {w} workers",
                           DataLoader(Mapped(work, augment_sample), batch_size=args.batch_size,
                                      shuffle=True, num_workers=w), samples, epochs)
    png_rate = measure(f"PNG folder (zlib in Python), {w} workers",
                       DataLoader(Mapped(folder, normalize_sample), batch_size=args.batch_size,
                                  shuffle=True, num_workers=w), len(folder), epochs)

    all_images = work.images.unsqueeze(1).float()  # (N, 1, 28, 28)
    all_images.div_(255.0).sub_(MEAN).div_(STD)  # in place: no 188 MB temporaries
    all_labels = work.labels

    def fast_path(name, augment_batches):
        clock, seen = common.Stopwatch(), 0
        for _ in range(epochs):
            for indices in torch.randperm(samples).split(args.batch_size):
                images = all_images.index_select(0, indices)  # all_images[indices]
                labels = all_labels.index_select(0, indices)
                if augment_batches:
                    images = augment_batch(images, **AUGMENT)
                seen += labels.shape[0]
        rate = seen / clock.seconds()
        print(f"  {name:<44} {rate:>10.0f} samples/s", flush=True)
        return rate

    fast_rate = fast_path("fast path: randperm + index_select", False)
    fast_augment_rate = fast_path("fast path + augment_batch (one grid_sample)", True)
    print(f"the fast path is {fast_rate / rate0:.1f}x the 0-worker loader")
    common.result_line(lesson=LESSON, epochs=epochs, samples=samples,
                       loader_w0_samples_per_s=round(rate0), loader_samples_per_s=round(rate),
                       loader_augment_samples_per_s=round(augment_rate),
                       image_folder_samples_per_s=round(png_rate),
                       csv_parse_rows_per_s=round(csv_rate),
                       fast_path_samples_per_s=round(fast_rate),
                       fast_path_augment_samples_per_s=round(fast_augment_rate))


if __name__ == "__main__":
    main()

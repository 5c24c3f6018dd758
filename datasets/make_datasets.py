#!/usr/bin/env python3
"""make_datasets.py: writes the small datasets lesson 06 reads, from the real Fashion-MNIST.

    python3 datasets/make_datasets.py                 # -> datasets/fashion-mnist-png/
    python3 datasets/make_datasets.py --out DIR --per-class 50

It writes, into the output folder:
  <label>_<name>/<index>.png   grayscale 28x28 PNGs, the first --per-class images of each class
                               of the training split; <index> is the image's place in the IDX file
  fashion-mnist.csv            the same images as CSV rows in the same order (folders sorted,
                               files sorted by name): label,pixel1,...,pixel784 (Kaggle's layout)

Only the Python 3 standard library is used (gzip, zlib, struct): it runs before any virtual
environment exists. The output is the same, byte for byte, on every run. The folder is never
committed (datasets/*/ is in .gitignore).
"""
import argparse
import gzip
import os
import pathlib
import shutil
import struct
import sys
import zlib

REPO = pathlib.Path(__file__).resolve().parent.parent
SOURCE_FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
# Folder names sort in label order; no '/' (the class name "T-shirt/top" has one).
CLASS_DIRS = ["0_tshirt_top", "1_trouser", "2_pullover", "3_dress", "4_coat",
              "5_sandal", "6_shirt", "7_sneaker", "8_bag", "9_ankle_boot"]
CSV_NAME = "fashion-mnist.csv"
SIZE = 28


def find_source(data_dir):
    """Fashion-MNIST's .gz files: the same search order as course::find_dataset."""
    if data_dir:
        places = [pathlib.Path(data_dir) / "fashion-mnist", pathlib.Path(data_dir)]
    else:
        places = []
        if os.environ.get("COURSE_DATA_DIR"):
            places.append(pathlib.Path(os.environ["COURSE_DATA_DIR"]) / "fashion-mnist")
        places += [REPO / "datasets" / "fashion-mnist",
                   pathlib.Path("/usr/share/datasets/fashion-mnist")]
    for place in places:
        if all((place / name).is_file() for name in SOURCE_FILES):
            return place
    sys.exit(f"error: Fashion-MNIST not found (searched {', '.join(map(str, places))}); "
             "install it with ./course setup (Debian package dataset-fashion-mnist) "
             "or pass --data-dir")


def read_idx_header(stream, path, dims):
    """Checks the magic number (0x0000080D: unsigned bytes, D dimensions); returns the sizes."""
    magic = stream.read(4)
    if len(magic) != 4 or magic[:3] != b"\x00\x00\x08" or magic[3] != dims:
        sys.exit(f"error: {path}: not an IDX file of unsigned bytes with {dims} dimensions")
    return struct.unpack(f">{dims}I", stream.read(4 * dims))


def png_bytes(pixels, width, height):
    """A grayscale 8-bit PNG: signature, IHDR, one IDAT (zlib), IEND; each chunk with its CRC."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    # IHDR: width, height, bit depth 8, colour type 0 (gray), compression 0, filter 0, no interlace.
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    # Every row starts with its filter type; 0 = "None", the bytes as they are.
    rows = b"".join(b"\x00" + pixels[r * width:(r + 1) * width] for r in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
            chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default="", help="where Fashion-MNIST's .gz files are")
    p.add_argument("--out", default=str(REPO / "datasets" / "fashion-mnist-png"),
                   help="output folder (default: datasets/fashion-mnist-png)")
    p.add_argument("--per-class", type=int, default=200, help="images per class, 1 to 1000")
    args = p.parse_args()
    if not 1 <= args.per_class <= 1000:
        sys.exit("error: --per-class must be 1 to 1000")

    source = find_source(args.data_dir)
    labels_path = source / "train-labels-idx1-ubyte.gz"
    with gzip.open(labels_path, "rb") as f:
        (count,) = read_idx_header(f, labels_path, 1)
        labels = f.read(count)

    # The first --per-class indices of each class, in file order.
    chosen = [[] for _ in CLASS_DIRS]
    for index, label in enumerate(labels):
        if len(chosen[label]) < args.per_class:
            chosen[label].append(index)
    last = max(index for indices in chosen for index in indices)

    # Read the images only up to the last one needed (the file is read as a stream).
    images_path = source / "train-images-idx3-ubyte.gz"
    with gzip.open(images_path, "rb") as f:
        _, rows, cols = read_idx_header(f, images_path, 3)
        if (rows, cols) != (SIZE, SIZE):
            sys.exit(f"error: {images_path}: images are {rows}x{cols}, expected {SIZE}x{SIZE}")
        pixels = f.read((last + 1) * SIZE * SIZE)

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # Remove only what this script writes, so a smaller --per-class leaves no stale files.
    (out / CSV_NAME).unlink(missing_ok=True)
    for name in CLASS_DIRS:
        shutil.rmtree(out / name, ignore_errors=True)

    csv_lines = ["label," + ",".join(f"pixel{i + 1}" for i in range(SIZE * SIZE))]
    for label, name in enumerate(CLASS_DIRS):
        folder = out / name
        folder.mkdir()
        # Sorted by file name as a string ("10.png" before "9.png"), as the readers list them.
        for index in sorted(chosen[label], key=lambda i: f"{i}.png"):
            image = pixels[index * SIZE * SIZE:(index + 1) * SIZE * SIZE]
            (folder / f"{index}.png").write_bytes(png_bytes(image, SIZE, SIZE))
            csv_lines.append(f"{label}," + ",".join(map(str, image)))
    # The CSV is written last: when it exists, the folder is complete.
    (out / CSV_NAME).write_text("\n".join(csv_lines) + "\n")
    total = sum(len(indices) for indices in chosen)
    print(f"wrote {total} PNGs in {len(CLASS_DIRS)} class folders and {CSV_NAME} "
          f"({total} rows) to {out}")


if __name__ == "__main__":
    main()

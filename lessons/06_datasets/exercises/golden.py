"""Writes lessons/06_datasets/exercises/golden.json: what the exercises' solutions must give.

    python lessons/06_datasets/exercises/golden.py

Inputs are made without a random stream (arange, a fixed order), so a rerun leaves no diff.
"""
import pathlib
import sys

import torch

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "support"))
import exercise_golden  # noqa: E402


class PixelDataset(torch.utils.data.Dataset):
    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):  # TF.to_tensor of a (H, W) uint8 image: (1, H, W) float in 0..1
        return self.images[i].unsqueeze(0).float() / 255, self.labels[i]


def cases():
    images = (torch.arange(5 * 4 * 6) * 37 % 256).to(torch.uint8).reshape(5, 4, 6)
    labels = torch.tensor([3, 1, 4, 1, 5])
    dataset = PixelDataset(images, labels)
    image3, label3 = dataset[3]
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, shuffle=False)
    batches = list(loader)

    pictures = torch.sin(torch.arange(10 * 4, dtype=torch.float32)).reshape(10, 1, 2, 2)
    classes = torch.arange(10) % 3
    order = torch.tensor([3, 7, 0, 9, 5, 1, 8, 2, 6, 4])
    fast = [(pictures[i], classes[i]) for i in order.split(4)]
    return {
        "pixel_dataset": {
            "inputs": {"images": images, "labels": labels},
            "outputs": {"size": len(dataset), "image3": image3, "label3": int(label3),
                        "all_images": torch.cat([x for x, _ in batches]),
                        "all_labels": torch.cat([y for _, y in batches])},
        },
        "fast_batches": {
            "inputs": {"images": pictures, "labels": classes, "order": order, "batch_size": 4},
            "outputs": {"batches": len(fast),
                        **{f"images{k}": x for k, (x, _) in enumerate(fast)},
                        **{f"labels{k}": y for k, (_, y) in enumerate(fast)}},
        },
    }


if __name__ == "__main__":
    exercise_golden.write("06_datasets", cases())

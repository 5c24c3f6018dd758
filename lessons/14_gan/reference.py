#!/usr/bin/env python3
"""14_gan in Python PyTorch: the same DCGAN, losses, Adam settings, judge and quality score, with
the same flags as main.cpp; it prints the same lines (the C++ side also draws the pictures).

    python lessons/14_gan/reference.py --threads 2     # train (5 epochs)
    python lessons/14_gan/reference.py --smoke         # 512 images, seconds
    python lessons/14_gan/reference.py --golden        # write lessons/14_gan/golden.json
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


Cnn = course_common.lesson_reference("08_cnn").Cnn  # the judge

LESSON = "14_gan"
EPOCHS = 5
LOG_EVERY = 50
EVAL_BATCH = 1000


# ---- the networks (dcgan.h) -------------------------------------------------------------------
class Generator(nn.Module):
    """(B, Z) -> (B, 2W, 7, 7) -> (B, W, 14, 14) -> (B, 1, 28, 28) in [-1, 1]."""

    def __init__(self, noise=64, width=32):
        super().__init__()
        self.noise = noise
        self.up1 = nn.ConvTranspose2d(noise, 2 * width, kernel_size=7, bias=False)
        self.bn1 = nn.BatchNorm2d(2 * width)
        self.up2 = nn.ConvTranspose2d(2 * width, width, kernel_size=4, stride=2, padding=1,
                                      bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.up3 = nn.ConvTranspose2d(width, 1, kernel_size=4, stride=2, padding=1, bias=False)

    def forward(self, noise):
        x = noise.view(noise.shape[0], self.noise, 1, 1)
        x = F.relu(self.bn1(self.up1(x)))
        x = F.relu(self.bn2(self.up2(x)))
        return torch.tanh(self.up3(x))


class Discriminator(nn.Module):
    """(B, 1, 28, 28) -> (B, W, 14, 14) -> (B, 2W, 7, 7) -> (B,) logits."""

    def __init__(self, width=32):
        super().__init__()
        self.down1 = nn.Conv2d(1, width, kernel_size=4, stride=2, padding=1, bias=False)
        self.down2 = nn.Conv2d(width, 2 * width, kernel_size=4, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * width)
        self.head = nn.Conv2d(2 * width, 1, kernel_size=7, bias=False)

    def forward(self, images):
        x = F.leaky_relu(self.down1(images), 0.2)
        x = F.leaky_relu(self.bn2(self.down2(x)), 0.2)
        return self.head(x).flatten()


def init_dcgan(module):
    """pytorch/examples' dcgan weights_init: N(0, 0.02) convolutions, N(1, 0.02) batch norms."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)  # the bias keeps its default, 0


# ---- data, losses, the step (main.cpp) --------------------------------------------------------
def to_gan_range(pixels):
    return (pixels.float() / 127.5 - 1.0).unsqueeze(1)


def gan_to_judge(images):
    return ((images + 1.0) / 2.0 - course_common.FASHION_MEAN) / course_common.FASHION_STD


def discriminator_loss(discriminator, real, fake):
    real_logits, fake_logits = discriminator(real), discriminator(fake)
    loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) +
            F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
    return loss, torch.sigmoid(real_logits).mean().detach(), torch.sigmoid(fake_logits).mean().detach()


def generator_loss(discriminator, fake):
    logits = discriminator(fake)
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


def train_step(generator, discriminator, g_optimizer, d_optimizer, real, noise):
    fake = generator(noise)
    d_optimizer.zero_grad()
    d_loss, d_real, d_fake = discriminator_loss(discriminator, real, fake.detach())
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = generator_loss(discriminator, fake)
    g_loss.backward()
    g_optimizer.step()
    return d_loss.detach(), g_loss.detach(), d_real, d_fake


def train_epoch(generator, discriminator, g_optimizer, d_optimizer, images, args, epoch):
    generator.train()
    discriminator.train()
    n = images.shape[0]
    steps = n // args.batch_size
    if steps == 0:
        raise SystemExit(f"error: --batch-size {args.batch_size} is more than the {n} images")
    order = torch.randperm(n).to(images.device)
    sums = torch.zeros(4, device=images.device)
    compute = 0.0
    for step in range(steps):
        real = images[order[step * args.batch_size:(step + 1) * args.batch_size]]
        noise = torch.randn(args.batch_size, args.noise, device=images.device)
        clock = course_common.Stopwatch()
        result = train_step(generator, discriminator, g_optimizer, d_optimizer, real, noise)
        if images.is_cuda:
            torch.cuda.synchronize()
        compute += clock.seconds()
        sums += torch.stack(result)
        if (step + 1) % LOG_EVERY == 0 or step + 1 == steps:
            mean = (sums / (step + 1)).tolist()
            if not math.isfinite(mean[0] + mean[1]):
                raise SystemExit(f"error: a loss became NaN at epoch {epoch} (D {mean[0]}, G "
                                 f"{mean[1]}); lower --lr (now {args.lr})")
    return (sums / steps).tolist() + [compute]


def draw_samples(generator, noise):
    generator.eval()
    with torch.no_grad():
        images = generator(noise)
    generator.train()
    return ((images + 1.0) / 2.0).cpu()


# ---- the judge ----------------------------------------------------------------------------------
def quality_of(logits, threshold):
    """(confident share, entropy of the predicted classes in bits, (10,) class shares)."""
    probabilities = torch.softmax(logits.double(), dim=1)
    top, predicted = probabilities.max(dim=1)
    shares = torch.bincount(predicted.cpu(), minlength=logits.shape[1]).double() / logits.shape[0]
    entropy = -torch.xlogy(shares, shares).sum().item() / math.log(2.0) + 0.0
    return (top > threshold).double().mean().item(), entropy, shares


def judge_logits(judge, images):
    judge.eval()
    with torch.no_grad():
        return torch.cat([judge(gan_to_judge(images[s:s + EVAL_BATCH]))
                          for s in range(0, images.shape[0], EVAL_BATCH)])


def train_judge(judge, x, y, epochs):
    optimizer = torch.optim.Adam(judge.parameters(), lr=1e-3)
    judge.train()
    for _ in range(epochs):
        order = torch.randperm(x.shape[0]).to(x.device)
        for start in range(0, x.shape[0], 128):
            index = order[start:start + 128]
            optimizer.zero_grad()
            F.cross_entropy(judge(x[index]), y[index]).backward()
            optimizer.step()


def load_or_train_judge(path, train_images, train_labels, epochs, device):
    judge = Cnn().to(device)
    if path.exists():
        judge.load_state_dict(torch.load(path, map_location=device, weights_only=True))
        return judge, f"loaded from {path}"
    clock = course_common.Stopwatch()
    train_judge(judge, course_common.normalize_fashion(train_images).to(device),
                train_labels.to(device), epochs)
    torch.save(judge.state_dict(), path)
    return judge, f"trained for {epochs} epochs in {clock.seconds():.1f}s, saved as {path}"


def format_quality(quality):
    confident, entropy, shares = quality
    return (f"confident {confident:.3f} | class entropy {entropy:.3f} bits | "
            f"largest class {shares.max().item():.3f}")


def train(args):
    device, out = course_common.begin(args, LESSON)
    train_images, train_labels = course_common.load_fashion(args, train=True)
    test_images, test_labels = course_common.load_fashion(args, train=False)
    images = to_gan_range(train_images).to(device)
    print(f"data: {images.shape[0]} train images in [-1, 1], {test_images.shape[0]} test images "
          "for the judge")

    judge_path = out.parent / ("judge-smoke.pt" if args.smoke else "judge.pt")
    judge, how = load_or_train_judge(judge_path, train_images, train_labels, args.judge_epochs,
                                     device)
    verdicts = judge_logits(judge, to_gan_range(test_images).to(device))
    accuracy = (verdicts.argmax(1).cpu() == test_labels).double().mean().item()
    print(f"judge: lesson 08's CNN {how} (test acc {accuracy:.4f})")
    # Training the judge draws random numbers, loading it draws none: seed again, so the GAN is the
    # same whether judge.pt was there or not.
    torch.manual_seed(args.seed)

    generator = Generator(args.noise, args.width)
    discriminator = Discriminator(args.width)
    generator.apply(init_dcgan)
    discriminator.apply(init_dcgan)
    generator.to(device)
    discriminator.to(device)
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=args.lr, betas=(args.beta1, 0.999))
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=args.lr,
                                   betas=(args.beta1, 0.999))
    count = lambda model: sum(p.numel() for p in model.parameters())  # noqa: E731
    print(f"generator: noise {args.noise} -> (1, 28, 28), width {args.width} "
          f"({count(generator)} parameters)")
    print(f"discriminator: (1, 28, 28) -> 1 logit, width {args.width} "
          f"({count(discriminator)} parameters)")
    print(f"training: Adam lr {args.lr:g} betas ({args.beta1:g}, 0.999), batch {args.batch_size}, "
          "non-saturating loss")

    fixed_noise = torch.randn(16, args.noise, device=device)
    history = course_common.History(out, ["d_loss", "g_loss", "d_real", "d_fake", "seconds",
                                          "compute_seconds"])
    for epoch in range(1, args.epochs + 1):
        clock = course_common.Stopwatch()
        d_loss, g_loss, d_real, d_fake, compute = train_epoch(
            generator, discriminator, g_optimizer, d_optimizer, images, args, epoch)
        draw_samples(generator, fixed_noise)  # (the C++ side draws them into progress.png)
        seconds = clock.seconds()
        print(f"epoch {epoch:2}/{args.epochs} | D loss {d_loss:.4f} G loss {g_loss:.4f} | "
              f"D(x) {d_real:.3f} D(G(z)) {d_fake:.3f} | {seconds:.1f}s", flush=True)
        history.add(epoch, [d_loss, g_loss, d_real, d_fake, seconds, compute])

    scored = min(2000, test_images.shape[0])
    noise = torch.randn(scored, args.noise, device=device)
    fakes = draw_samples(generator, noise) * 2.0 - 1.0
    real = quality_of(judge_logits(judge, to_gan_range(test_images[:scored]).to(device)), 0.9)
    fake = quality_of(judge_logits(judge, fakes.to(device)), 0.9)
    print(f"quality: the judge on {scored} images each; confident = top class p > 0.9, entropy "
          f"of the classes (uniform: {math.log2(10):.3f} bits)")
    print(f"real test images | {format_quality(real)}")
    print(f"generated images | {format_quality(fake)}")
    print("generated classes:" + "".join(f" {c} {s:.2f}" for c, s in enumerate(fake[2].tolist())))
    total = sum(history.column("seconds"))
    course_common.result_line(LESSON, epochs=args.epochs, epoch_time_s=total / args.epochs,
                              train_samples_per_s=images.shape[0] * args.epochs / total,
                              confident=fake[0], class_entropy_bits=fake[1],
                              real_confident=real[0])


# ---- goldens (test.cpp) -------------------------------------------------------------------------
def fixed_state(model, offset=0):
    """Every weight from sin of its position: no random stream, so the golden is stable."""
    state = {}
    for i, (name, tensor) in enumerate(model.state_dict().items()):
        position = torch.arange(tensor.numel(), dtype=torch.float32)
        if name.endswith("num_batches_tracked") or "running" in name:
            value = tensor.clone()
        elif name.startswith("bn") and name.endswith("weight"):
            value = 1.0 + 0.1 * torch.sin(0.9 * position + i + offset)
        elif name.endswith("bias"):
            value = 0.1 * torch.cos(0.7 * position + i + offset)
        else:
            value = 0.3 * torch.sin(0.37 * position + i + offset) / math.sqrt(tensor[0].numel())
        state[name] = value.reshape(tensor.shape).to(tensor.dtype)
    model.load_state_dict(state)
    return {name: tensor.clone() for name, tensor in state.items()}


def fixed_images(count, phase=0.0):
    """(count, 1, 28, 28) in (-1, 1): a different stripe pattern per image."""
    position = torch.arange(28 * 28, dtype=torch.float32).reshape(1, 1, 28, 28)
    frequency = 0.01 * (1 + torch.arange(count, dtype=torch.float32)).reshape(count, 1, 1, 1)
    return torch.tanh(torch.sin(position * frequency + phase) + 0.5 * torch.cos(0.2 * position))


def fixed_noise(count, size):
    return torch.cos(0.3 * torch.arange(count * size, dtype=torch.float32)).reshape(count, size)


def write_golden():
    cases = {}
    noise_size, width, batch, lr, beta1 = 4, 2, 3, 2e-4, 0.5

    # The losses of a fixed discriminator on fixed real and fake batches (train mode: batch norm
    # with each batch's own statistics, as in a training step).
    discriminator = Discriminator(width)
    d_state = fixed_state(discriminator, offset=3)
    real, fake = fixed_images(batch), fixed_images(batch, phase=1.0) * 0.5
    discriminator.train()
    loss, d_real, d_fake = discriminator_loss(discriminator, real, fake)
    cases["losses"] = {
        "inputs": {"real": real, "fake": fake, "state": d_state, "width": width},
        "outputs": {"d_loss": loss.item(), "d_real": d_real.item(), "d_fake": d_fake.item(),
                    "g_loss": generator_loss(discriminator, fake).item(),
                    "real_logits": discriminator(real).detach()},
    }

    # One GAN step of both networks from fixed weights, images and noise.
    generator = Generator(noise_size, width)
    g_state = fixed_state(generator)
    discriminator = Discriminator(width)
    fixed_state(discriminator, offset=3)
    noise = fixed_noise(batch, noise_size)
    generator.train()
    discriminator.train()
    fake_before = generator(noise).detach()
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=lr, betas=(beta1, 0.999))
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(beta1, 0.999))
    # Fresh networks with the same weights for the step (the forward above moved the running
    # statistics of the generator's batch norms once).
    generator.load_state_dict(g_state)
    d_loss, g_loss, d_real, d_fake = train_step(generator, discriminator, g_optimizer,
                                                d_optimizer, real, noise)
    cases["gan_step"] = {
        "inputs": {"real": real, "noise": noise, "g_state": g_state, "d_state": d_state,
                   "noise_size": noise_size, "width": width, "lr": lr, "beta1": beta1},
        "outputs": {"fake": fake_before, "d_loss": d_loss.item(), "g_loss": g_loss.item(),
                    "d_real": d_real.item(), "d_fake": d_fake.item(),
                    "g_state": {k: v.clone() for k, v in generator.state_dict().items()},
                    "d_state": {k: v.clone() for k, v in discriminator.state_dict().items()}},
    }

    # A second step with the same batch: the gradients of the first must have been cleared.
    train_step(generator, discriminator, g_optimizer, d_optimizer, real, noise)
    cases["gan_step"]["outputs"]["g_state_2"] = {k: v.clone()
                                                 for k, v in generator.state_dict().items()}
    cases["gan_step"]["outputs"]["d_state_2"] = {k: v.clone()
                                                 for k, v in discriminator.state_dict().items()}

    # A whole epoch (9 images, batches of 3) after torch.manual_seed(0): LibTorch's CPU generator
    # is Python's (the same Mersenne Twister and the same randperm and randn), so the shuffle and
    # the noise are the same numbers in C++.
    generator.load_state_dict(g_state)
    discriminator.load_state_dict(d_state)
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=lr, betas=(beta1, 0.999))
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(beta1, 0.999))
    images = real.repeat(3, 1, 1, 1)  # (9, 1, 28, 28)
    args = type("Args", (), {"batch_size": 3, "noise": noise_size, "lr": lr})()
    torch.manual_seed(0)
    d_loss, g_loss, d_real, d_fake, _ = train_epoch(generator, discriminator, g_optimizer,
                                                    d_optimizer, images, args, 1)
    cases["epoch"] = {
        "inputs": {"seed": 0, "batch_size": 3,
                   "note": "networks and optimizers as in gan_step/inputs; images: its real "
                           "batch three times, (9, 1, 28, 28)"},
        "outputs": {"d_loss": d_loss, "g_loss": g_loss, "d_real": d_real, "d_fake": d_fake,
                    "g_state": {k: v.clone() for k, v in generator.state_dict().items()}},
    }

    # The quality score of fixed logits: 40 images, some confident, classes unevenly used.
    position = torch.arange(40 * 10, dtype=torch.float64).reshape(40, 10)
    logits = 2.0 * torch.sin(0.13 * position) * torch.cos(0.07 * position)
    rows = torch.arange(0, 40, 2)
    logits[rows, (rows * 3) % 7] += 6.0  # every other image: one class clearly ahead
    confident, entropy, shares = quality_of(logits, 0.9)
    collapsed = torch.zeros(8, 10, dtype=torch.float64)
    collapsed[:, 3] = 5.0
    cases["quality"] = {
        "inputs": {"logits": logits, "threshold": 0.9, "collapsed": collapsed},
        "outputs": {"confident": confident, "entropy_bits": entropy, "shares": shares,
                    "collapsed_entropy_bits": quality_of(collapsed, 0.9)[1]},
    }

    # The two scalings of pixels: uint8 (2, 4, 4) -> [-1, 1] -> the judge's normalisation.
    pixels = (torch.arange(32) * 8).to(torch.uint8).reshape(2, 4, 4)
    cases["scaling"] = {"inputs": {"pixels": pixels},
                        "outputs": {"gan": to_gan_range(pixels),
                                    "judge": gan_to_judge(to_gan_range(pixels))}}

    import golden  # tests/support/golden.py
    golden.write(LESSON, cases)


def main():
    parser = course_common.parser("14_gan: a DCGAN on Fashion-MNIST", epochs=EPOCHS)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--beta1", type=float, default=0.5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--noise", type=int, default=64)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--judge-epochs", type=int, default=2)
    args = parser.parse_args()
    if args.golden:
        write_golden()
        return
    train(args)


if __name__ == "__main__":
    main()

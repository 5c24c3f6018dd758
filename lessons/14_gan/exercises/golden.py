"""Writes lessons/14_gan/exercises/golden.json: what the exercises' solutions must give.

    python lessons/14_gan/exercises/golden.py

Inputs and weights are made without a random stream (sin, cos of arange), so a rerun leaves no
diff.
"""
import math
import pathlib
import sys

import torch
import torch.nn.functional as F
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "support"))
import exercise_golden  # noqa: E402


def fill(module, offset):  # every parameter from sin of its index: no random stream
    with torch.no_grad():
        for k, parameter in enumerate(module.parameters()):
            values = torch.sin(torch.arange(parameter.numel(), dtype=torch.float32) * 1.1 + k
                               + offset)
            parameter.copy_(0.5 * values.reshape(parameter.shape))


def gan_losses(discriminator, real, fake):  # lesson 14's discriminator_loss and generator_loss
    real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
    d_loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
              + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
    logits = discriminator(fake)
    return d_loss, F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


def gan_case():
    generator = nn.Linear(3, 6)  # noise (B, 3) -> tanh -> fake samples (B, 6)
    discriminator = nn.Sequential(nn.Linear(6, 1), nn.Flatten(0))  # (B, 6) -> logits (B)
    fill(generator, 0.0)
    fill(discriminator, 2.0)
    noise = torch.cos(torch.arange(12, dtype=torch.float32) * 0.7).reshape(4, 3)
    real = torch.sin(torch.arange(24, dtype=torch.float32) * 0.3 + 0.2).reshape(4, 6)
    fake = torch.tanh(generator(noise))
    d_loss, g_loss = gan_losses(discriminator, real, fake)
    d_loss.backward()
    d_grad = discriminator[0].weight.grad.clone()
    discriminator.zero_grad()
    g_loss.backward()
    large_d, _ = gan_losses(discriminator, 5000 * real, fake)  # real logits -303, -316, 447, 113
    weights = {f"generator.{name}": p.detach() for name, p in generator.named_parameters()}
    weights.update({f"discriminator.{name}": p.detach()
                    for name, p in discriminator.named_parameters()})
    return {"inputs": {"noise": noise, "real": real, **weights},
            "outputs": {"d_loss": d_loss, "g_loss": g_loss, "d_grad": d_grad,
                        "g_grad": generator.weight.grad, "large_d_loss": large_d}}


def class_spread(logits):  # lesson 14's quality_of, without the confidence
    shares = torch.bincount(logits.argmax(1), minlength=logits.shape[1]).double() / logits.shape[0]
    bits = -torch.xlogy(shares, shares).sum().item() / math.log(2)  # 0 log 0 = 0
    return {"shares": shares, "entropy_bits": bits}


def cases():
    logits = 2 * torch.sin(torch.arange(60, dtype=torch.float32) * 0.37).reshape(12, 5)
    logits[:, 4] -= 10  # class 4 is never predicted: its share is 0, and still reported
    return {"gan": gan_case(),
            "spread": {"inputs": {"logits": logits}, "outputs": class_spread(logits)}}


if __name__ == "__main__":
    exercise_golden.write("14_gan", cases())

"""Writes lessons/13_autoencoder_vae/exercises/golden.json: what the exercises' solutions must give.

    python lessons/13_autoencoder_vae/exercises/golden.py

Inputs are made without a random stream (sin, cos of arange), so a rerun leaves no diff.
"""
import pathlib
import sys

import torch
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "support"))
import exercise_golden  # noqa: E402


def reparameterize(mean, logvar, noise):  # lesson 13's vae.h
    return mean + torch.exp(0.5 * logvar) * noise


def vae_loss_terms(logits, images, mean, logvar, beta):  # lesson 13's vae_loss
    recon = F.binary_cross_entropy_with_logits(logits, images, reduction="sum") / images.shape[0]
    kl = (-0.5 * (1 + logvar - mean.pow(2) - logvar.exp())).sum(1).mean()
    return {"loss": recon + beta * kl, "recon": recon, "kl": kl}


def cases():
    n = torch.arange(12, dtype=torch.float32)
    mean = torch.sin(n * 0.9).reshape(4, 3)  # B = 4, L = 3
    logvar = 1.5 * torch.cos(n * 0.6).reshape(4, 3)
    noise = torch.sin(n * 2.1 + 0.5).reshape(4, 3) * 1.2
    mean_leaf, logvar_leaf = mean.clone().requires_grad_(), logvar.clone().requires_grad_()
    z = reparameterize(mean_leaf, logvar_leaf, noise)
    z.sum().backward()

    pixels = torch.arange(3 * 16, dtype=torch.float32)
    logits = 3 * torch.sin(pixels * 0.8).reshape(3, 1, 4, 4)  # B = 3 images of 4x4
    images = (0.5 + 0.5 * torch.cos(pixels * 0.45)).reshape(3, 1, 4, 4)  # in [0, 1]
    code_mean, code_logvar = mean[:3, :2], logvar[:3, :2]  # L = 2
    large = torch.where(images > 0.5, -300.0, 300.0) * torch.ones_like(logits)  # confidently wrong
    return {
        "reparameterize": {"inputs": {"mean": mean, "logvar": logvar, "noise": noise},
                           "outputs": {"z": z, "mean_grad": mean_leaf.grad,
                                       "logvar_grad": logvar_leaf.grad}},
        "elbo": {"inputs": {"logits": logits, "images": images, "mean": code_mean,
                            "logvar": code_logvar, "large_logits": large},
                 "outputs": {"beta1": vae_loss_terms(logits, images, code_mean, code_logvar, 1.0),
                             "beta0.25": vae_loss_terms(logits, images, code_mean, code_logvar,
                                                        0.25),
                             "large": vae_loss_terms(large, images, code_mean, code_logvar, 1.0)}},
    }


if __name__ == "__main__":
    exercise_golden.write("13_autoencoder_vae", cases())

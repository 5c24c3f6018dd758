#!/usr/bin/env python3
"""13_autoencoder_vae in Python PyTorch: the same convolutional autoencoder and VAE, data, losses,
Adam and flags as main.cpp; it prints the same lines (the C++ side also draws the pictures).

    python lessons/13_autoencoder_vae/reference.py --threads 2     # train (3 epochs)
    python lessons/13_autoencoder_vae/reference.py --smoke         # 512 images, seconds
    python lessons/13_autoencoder_vae/reference.py --golden        # write golden.json
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

LESSON = "13_autoencoder_vae"
EPOCHS = 3
LOG_EVERY = 50
EVAL_BATCH = 1000


# ---- the models (vae.h) -----------------------------------------------------------------------
class ConvEncoder(nn.Module):
    def __init__(self, channels1, channels2):
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels1, kernel_size=4, stride=2, padding=1)
        self.conv2 = nn.Conv2d(channels1, channels2, kernel_size=4, stride=2, padding=1)

    def forward(self, images):
        x = F.relu(self.conv1(images))  # (B, C1, 14, 14)
        x = F.relu(self.conv2(x))       # (B, C2, 7, 7)
        return x.flatten(1)             # (B, C2 * 49)


class ConvDecoder(nn.Module):
    def __init__(self, latent, channels1, channels2):
        super().__init__()
        self.channels2 = channels2
        self.fc = nn.Linear(latent, channels2 * 7 * 7)
        self.deconv1 = nn.ConvTranspose2d(channels2, channels1, kernel_size=4, stride=2, padding=1)
        self.deconv2 = nn.ConvTranspose2d(channels1, 1, kernel_size=4, stride=2, padding=1)

    def forward(self, z):
        x = F.relu(self.fc(z)).view(-1, self.channels2, 7, 7)  # (B, C2, 7, 7)
        x = F.relu(self.deconv1(x))                             # (B, C1, 14, 14)
        return self.deconv2(x)                                  # (B, 1, 28, 28) logits


class ConvAutoencoder(nn.Module):
    def __init__(self, latent=2, channels1=32, channels2=64):
        super().__init__()
        self.encoder = ConvEncoder(channels1, channels2)
        self.to_latent = nn.Linear(channels2 * 49, latent)
        self.decoder = ConvDecoder(latent, channels1, channels2)

    def encode(self, images):
        return self.to_latent(self.encoder(images))

    def forward(self, images):
        return self.decoder(self.encode(images))


def reparameterize(mean, logvar, noise):
    std = torch.exp(0.5 * logvar)
    return mean + std * noise


class Vae(nn.Module):
    def __init__(self, latent=2, channels1=32, channels2=64):
        super().__init__()
        self.encoder = ConvEncoder(channels1, channels2)
        self.to_mean = nn.Linear(channels2 * 49, latent)
        self.to_logvar = nn.Linear(channels2 * 49, latent)
        self.decoder = ConvDecoder(latent, channels1, channels2)

    def encode(self, images):
        features = self.encoder(images)
        return self.to_mean(features), self.to_logvar(features)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, images, noise=None):
        mean, logvar = self.encode(images)
        if noise is None:
            noise = torch.randn_like(mean)
        z = reparameterize(mean, logvar, noise)
        return self.decode(z), mean, logvar, z


# ---- the losses (main.cpp) --------------------------------------------------------------------
def reconstruction_loss(logits, images):
    return F.binary_cross_entropy_with_logits(logits, images, reduction="sum") / images.shape[0]


def kl_divergence(mean, logvar):
    return (-0.5 * (1 + logvar - mean.pow(2) - logvar.exp())).sum(1).mean()


def vae_loss(output, images, beta):
    logits, mean, logvar, _ = output
    recon = reconstruction_loss(logits, images)
    kl = kl_divergence(mean, logvar)
    return recon + beta * kl, recon, kl


def ae_train_step(model, optimizer, images):
    optimizer.zero_grad()
    loss = reconstruction_loss(model(images), images)
    loss.backward()
    optimizer.step()
    return loss.detach()


def vae_train_step(model, optimizer, images, beta, noise=None):
    optimizer.zero_grad()
    loss, recon, kl = vae_loss(model(images, noise), images, beta)
    loss.backward()
    optimizer.step()
    return loss.detach(), recon.detach(), kl.detach()


def to_unit(images):
    return (images.float() / 255).unsqueeze(1)


# ---- train and evaluate (main.cpp) ------------------------------------------------------------
def train_epoch(autoencoder, ae_optimizer, vae, vae_optimizer, x_train, args, epoch):
    autoencoder.train()
    vae.train()
    n = x_train.shape[0]
    steps = (n + args.batch_size - 1) // args.batch_size
    order = torch.randperm(n).to(x_train.device)
    ae_sum = torch.zeros((), device=x_train.device)
    vae_sum = torch.zeros((), device=x_train.device)
    compute = 0.0
    for step in range(steps):
        x = x_train[order[step * args.batch_size:(step + 1) * args.batch_size]]
        clock = course_common.Stopwatch()
        ae_sum += ae_train_step(autoencoder, ae_optimizer, x) * x.shape[0]
        vae_sum += vae_train_step(vae, vae_optimizer, x, args.beta)[0] * x.shape[0]
        if x.is_cuda:
            torch.cuda.synchronize()
        compute += clock.seconds()
        if (step + 1) % LOG_EVERY == 0 or step + 1 == steps:
            seen = min(n, (step + 1) * args.batch_size)
            ae, loss = ae_sum.item() / seen, vae_sum.item() / seen
            if not (math.isfinite(ae) and math.isfinite(loss)):
                raise SystemExit(f"error: loss became {ae} (autoencoder) and {loss} (VAE) at "
                                 f"epoch {epoch}; lower --lr (now {args.lr})")
    return ae_sum.item() / n, vae_sum.item() / n, compute


def evaluate(autoencoder, vae, x):
    autoencoder.eval()
    vae.eval()
    clock = course_common.Stopwatch()
    sums = torch.zeros(3, device=x.device)
    with torch.no_grad():
        for start in range(0, x.shape[0], EVAL_BATCH):
            batch = x[start:start + EVAL_BATCH]
            _, recon, kl = vae_loss(vae(batch), batch, 1.0)
            sums += torch.stack([reconstruction_loss(autoencoder(batch), batch), recon, kl]) \
                * batch.shape[0]
    ae, recon, kl = (sums / x.shape[0]).cpu().tolist()
    return ae, recon, kl, clock.seconds()


def train(args):
    device, out = course_common.begin(args, LESSON)
    train_images, _ = course_common.load_fashion(args, train=True)
    test_images, _ = course_common.load_fashion(args, train=False)
    x_train, x_test = to_unit(train_images).to(device), to_unit(test_images).to(device)
    print(f"data: {x_train.shape[0]} train, {x_test.shape[0]} test images, each (1, 28, 28), "
          f"pixels in [0, 1]")

    autoencoder = ConvAutoencoder(latent=args.latent).to(device)
    vae = Vae(latent=args.latent).to(device)
    ae_optimizer = torch.optim.Adam(autoencoder.parameters(), lr=args.lr)
    vae_optimizer = torch.optim.Adam(vae.parameters(), lr=args.lr)
    count = lambda model: sum(p.numel() for p in model.parameters())  # noqa: E731
    print(f"autoencoder: conv 32-64, latent {args.latent} ({count(autoencoder)} parameters)")
    print(f"VAE: conv 32-64, latent {args.latent} as mean and log-variance "
          f"({count(vae)} parameters)")
    print(f"training: Adam lr {args.lr}, batch {args.batch_size}; VAE loss = reconstruction + "
          f"beta * KL, beta {args.beta:g}")

    history = course_common.History(out, ["ae_train_loss", "ae_test_loss", "vae_train_loss",
                                          "vae_test_loss", "vae_test_recon", "vae_test_kl",
                                          "seconds", "compute_seconds"])
    for epoch in range(1, args.epochs + 1):
        clock = course_common.Stopwatch()
        train_ae, train_vae, train_compute = train_epoch(autoencoder, ae_optimizer, vae,
                                                         vae_optimizer, x_train, args, epoch)
        test_ae, recon, kl, test_compute = evaluate(autoencoder, vae, x_test)
        seconds = clock.seconds()
        print(f"epoch {epoch:2}/{args.epochs} | autoencoder train {train_ae:.2f} test "
              f"{test_ae:.2f} | VAE train {train_vae:.2f} test recon {recon:.2f} kl {kl:.2f} "
              f"elbo {-(recon + kl):.2f} | {seconds:.1f}s", flush=True)
        history.add(epoch, [train_ae, test_ae, train_vae, recon + kl, recon, kl, seconds,
                            train_compute + test_compute])
    seconds = history.column("seconds")
    course_common.result_line(LESSON, epochs=args.epochs, epoch_time_s=sum(seconds) / args.epochs,
                              ae_test_recon=test_ae, vae_test_recon=recon,
                              vae_test_elbo=-(recon + kl))


# ---- goldens (test.cpp) -------------------------------------------------------------------------
def fixed_state(model):
    """Every weight from sin/cos of its position: no random stream, so the golden is stable."""
    state = {}
    for i, (name, tensor) in enumerate(model.state_dict().items()):
        position = torch.arange(tensor.numel(), dtype=torch.float32)
        if name.endswith("bias"):
            value = 0.1 * torch.cos(0.7 * position + i)
        else:  # conv and linear weights, about the size PyTorch's own init gives
            fan_in = tensor[0].numel() if "deconv" not in name else tensor.shape[0] * 16
            value = torch.sin(0.37 * position + i) / math.sqrt(fan_in)
        state[name] = value.reshape(tensor.shape)
    model.load_state_dict(state)
    return {name: tensor.clone() for name, tensor in state.items()}


def fixed_images(count):
    """(count, 1, 28, 28) pixels in [0, 1]: a different stripe pattern per image."""
    position = torch.arange(28 * 28, dtype=torch.float32).reshape(1, 1, 28, 28)
    frequency = 0.01 * (1 + torch.arange(count, dtype=torch.float32)).reshape(count, 1, 1, 1)
    return 0.5 + 0.5 * torch.sin(position * frequency) * torch.cos(0.03 * position)


def fixed_noise(count, latent):
    """(count, latent), about N(0, 1) in size, without a random stream."""
    return 1.3 * torch.sin(1.7 * torch.arange(count * latent, dtype=torch.float32) + 0.4) \
        .reshape(count, latent)


def write_golden():
    cases = {}
    sizes = {"latent": 3, "channels1": 4, "channels2": 8}
    images = fixed_images(3)
    noise = fixed_noise(3, sizes["latent"])
    beta = 0.5

    # The VAE's forward pass and its loss terms with fixed weights and fixed noise.
    vae = Vae(**sizes)
    state = fixed_state(vae)
    with torch.no_grad():
        logits, mean, logvar, z = vae(images, noise)
        loss, recon, kl = vae_loss((logits, mean, logvar, z), images, beta)
    cases["elbo"] = {
        "inputs": {"images": images, "noise": noise, "beta": beta, "state": state, **sizes},
        "outputs": {"logits": logits, "mean": mean, "logvar": logvar, "z": z,
                    "loss": loss.item(), "recon": recon.item(), "kl": kl.item(),
                    "elbo": -(recon + kl).item()},
    }

    # One Adam step of that VAE, and one of an autoencoder of the same sizes.
    lr = 1e-3
    optimizer = torch.optim.Adam(vae.parameters(), lr=lr)
    loss, recon, kl = vae_train_step(vae, optimizer, images, beta, noise)
    cases["vae_step"] = {
        "inputs": {"note": "the model, images, noise and beta of elbo", "lr": lr},
        "outputs": {"loss": loss.item(), "recon": recon.item(), "kl": kl.item(),
                    "state": {name: t.clone() for name, t in vae.state_dict().items()}},
    }
    autoencoder = ConvAutoencoder(**sizes)
    ae_state = fixed_state(autoencoder)
    optimizer = torch.optim.Adam(autoencoder.parameters(), lr=lr)
    ae_loss = ae_train_step(autoencoder, optimizer, images)
    cases["ae_step"] = {
        "inputs": {"note": "the images of elbo", "lr": lr, "state": ae_state, **sizes},
        "outputs": {"loss": ae_loss.item(),
                    "state": {name: t.clone() for name, t in autoencoder.state_dict().items()}},
    }

    # The KL term against torch.distributions' own KL of two normal distributions.
    position = torch.arange(12, dtype=torch.float32).reshape(4, 3)
    kl_mean, kl_logvar = torch.sin(position), 1.5 * torch.cos(0.8 * position)
    q = torch.distributions.Normal(kl_mean, torch.exp(0.5 * kl_logvar))
    prior = torch.distributions.Normal(torch.zeros(4, 3), torch.ones(4, 3))
    cases["kl"] = {
        "inputs": {"mean": kl_mean, "logvar": kl_logvar},
        "outputs": {"kl": torch.distributions.kl_divergence(q, prior).sum(1).mean().item(),
                    "ours": kl_divergence(kl_mean, kl_logvar).item()},
    }

    import golden  # tests/support/golden.py
    golden.write(LESSON, cases)


def main():
    parser = course_common.parser("13_autoencoder_vae: an autoencoder and a VAE", epochs=EPOCHS)
    parser.add_argument("--latent", type=int, default=2, help="numbers per code")
    parser.add_argument("--beta", type=float, default=1.0, help="weight of the KL term")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate")
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    if not 1 <= args.latent <= 256 or not 0.0 <= args.beta <= 100.0 or \
            not 1e-6 <= args.lr <= 1.0 or not 1 <= args.batch_size <= 60000:
        parser.error("--latent must be in [1, 256], --beta in [0, 100], --lr in [1e-6, 1], "
                     "--batch-size in [1, 60000]")
    if args.golden:
        write_golden()
        return
    train(args)


if __name__ == "__main__":
    main()

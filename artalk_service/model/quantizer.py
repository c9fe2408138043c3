"""Multi-scale residual binary spherical quantisation (BSQ) over time, as in VAR / ARTalk.

A window's latent z (W frames x D) becomes K scales of tokens, s_0 < ... < s_{K-1} = W.
Each scale quantises the area-downsampled residual with BSQ (unit-normalise, sign,
scale by 1/sqrt(D): an implicit 2^D codebook shared by all scales), upsamples it
back to W frames and subtracts it. A token's code is its D sign bits.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import ModelConfig


def resize(x_BLD: torch.Tensor, length: int) -> torch.Tensor:
    """Resample along time: area average down, linear interpolation up."""
    if x_BLD.shape[1] == length:
        return x_BLD
    mode = "area" if length < x_BLD.shape[1] else "linear"
    return F.interpolate(x_BLD.transpose(1, 2), size=length, mode=mode).transpose(1, 2)


def binary_entropy(p: torch.Tensor) -> torch.Tensor:
    p = p.clamp(1e-6, 1 - 1e-6)
    return -(p * p.log() + (1 - p) * (1 - p).log())


class MultiScaleBSQ(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.scales, self.frames = config.window.scales, config.window.frames
        self.dim = config.autoencoder.latent_dim
        self.inv_temperature = config.autoencoder.inv_temperature
        # BSQ codes all have norm 1; a learned gain per scale lets fine scales add less
        self.log_gain_K = nn.Parameter(torch.zeros(len(self.scales)))

    def codes_to_vectors(self, bits_BlD: torch.Tensor) -> torch.Tensor:
        return (bits_BlD.float() * 2 - 1) * self.dim**-0.5

    def lift(self, q_BsD: torch.Tensor, k: int) -> torch.Tensor:
        """Scale k's quantised tokens -> their contribution to the window's latent (B, W, D)."""
        return resize(q_BsD, self.frames) * self.log_gain_K[k].exp()

    def split(self, x_BND: torch.Tensor) -> list[torch.Tensor]:
        return list(x_BND.split(list(self.scales), dim=1))

    def forward(self, z_BWD: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """z -> (quantised latent f_hat (B, W, D), bits (B, N, D) bool, loss terms)."""
        f_rest, f_hat = z_BWD, torch.zeros_like(z_BWD)
        bits, commit, entropy = [], 0.0, 0.0
        for k, s in enumerate(self.scales):
            u_BsD = F.normalize(resize(f_rest, s), dim=-1)
            q_BsD = torch.where(u_BsD >= 0, 1.0, -1.0) * self.dim**-0.5
            q_BsD = u_BsD + (q_BsD - u_BsD).detach()  # straight-through
            contribution = self.lift(q_BsD, k)
            f_hat, f_rest = f_hat + contribution, f_rest - contribution
            bits.append(u_BsD >= 0)
            commit = commit + (u_BsD - q_BsD.detach()).pow(2).sum(-1).mean()
            entropy = entropy + self.entropy_loss(u_BsD)
        K = len(self.scales)
        return f_hat, torch.cat(bits, dim=1), {"commit": commit / K, "entropy": entropy / K}

    def entropy_loss(self, u_BsD: torch.Tensor) -> torch.Tensor:
        """Per-token bit entropy (want low: confident codes) minus entropy of the average
        bit usage (want high: all codes used), factorised per bit as in the BSQ paper."""
        p_plus = torch.sigmoid(2 * self.inv_temperature * u_BsD * self.dim**-0.5)
        per_token = binary_entropy(p_plus).mean()
        codebook = binary_entropy(p_plus.flatten(0, 1).mean(0)).mean()
        return per_token - codebook

    def bits_to_latent(self, bits_BND: torch.Tensor) -> torch.Tensor:
        """Decode a window's codes to its quantised latent f_hat (B, W, D)."""
        f_hat = 0.0
        for k, bits_BsD in enumerate(self.split(bits_BND)):
            f_hat = f_hat + self.lift(self.codes_to_vectors(bits_BsD), k)
        return f_hat

    def next_scale_inputs(self, bits_BND: torch.Tensor) -> torch.Tensor:
        """Teacher-forcing inputs of scales 1..K-1: the latent accumulated over scales < k,
        resized to s_k. (B, N - s_0, D)."""
        f_hat, inputs = 0.0, []
        for k, bits_BsD in enumerate(self.split(bits_BND)[:-1]):
            f_hat = f_hat + self.lift(self.codes_to_vectors(bits_BsD), k)
            inputs.append(resize(f_hat, self.scales[k + 1]))
        return torch.cat(inputs, dim=1)

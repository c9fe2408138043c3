"""Stage 1: temporal multi-scale quantised motion autoencoder with cross-window context.

Encoder and decoder each see [previous window, current window] (2W frames). The
previous block attends only to itself and the current block to both, so the
previous window's encoding never depends on the current one, while the current
one is coded (and decoded) knowing where the motion came from: seams stay smooth.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .blocks import Block, init_weights
from .config import ModelConfig
from .quantizer import MultiScaleBSQ


def cross_window_mask(frames: int) -> torch.Tensor:
    """(2W, 2W) bool, True = may attend: previous -> previous, current -> both."""
    mask = torch.ones(2 * frames, 2 * frames, dtype=torch.bool)
    mask[:frames, frames:] = False
    return mask


class WindowTransformer(nn.Module):
    """Linear in, learned positions over 2W frames, pre-norm blocks with the cross-window
    mask, linear out; returns the current window's half."""

    def __init__(self, config: ModelConfig, in_dim: int, out_dim: int):
        super().__init__()
        c, W = config.autoencoder, config.window.frames
        self.frames = W
        self.inp = nn.Linear(in_dim, c.width)
        self.pos_1LC = nn.Parameter(torch.zeros(1, 2 * W, c.width))
        self.blocks = nn.ModuleList(Block(c.width, c.heads, c.mlp_ratio, c.dropout) for _ in range(c.depth))
        self.ln = nn.LayerNorm(c.width)
        self.out = nn.Linear(c.width, out_dim)
        self.register_buffer("mask_LL", cross_window_mask(W), persistent=False)
        init_weights(self)
        nn.init.trunc_normal_(self.pos_1LC, std=0.02)

    def forward(self, prev_BWI: torch.Tensor, cur_BWI: torch.Tensor) -> torch.Tensor:
        x_BLC = self.inp(torch.cat([prev_BWI, cur_BWI], dim=1)) + self.pos_1LC
        for block in self.blocks:
            x_BLC = block(x_BLC, self.mask_LL)
        return self.out(self.ln(x_BLC[:, self.frames :]))


class MotionAutoencoder(nn.Module):
    def __init__(self, config: ModelConfig, channels: int):
        super().__init__()
        self.encoder = WindowTransformer(config, channels, config.autoencoder.latent_dim)
        self.quantizer = MultiScaleBSQ(config)
        self.decoder = WindowTransformer(config, config.autoencoder.latent_dim, channels)

    def encode(self, prev_BWC: torch.Tensor, cur_BWC: torch.Tensor):
        """Normalised motion of two consecutive windows -> the current window's
        (quantised latent (B, W, D), bits (B, N, D), quantiser loss terms)."""
        return self.quantizer(self.encoder(prev_BWC, cur_BWC))

    def decode(self, prev_BWD: torch.Tensor, cur_BWD: torch.Tensor) -> torch.Tensor:
        """Quantised latents of two consecutive windows -> current window's motion (B, W, C)."""
        return self.decoder(prev_BWD, cur_BWD)

    def forward(self, motion_B3WC: torch.Tensor):
        """Training pass on three consecutive windows [w-2, w-1, w]: code w-1 and w each
        with its own predecessor (as inference would have), decode w from both.
        Returns (reconstruction of w (B, W, C), quantiser loss terms)."""
        B, three_W, C = motion_B3WC.shape
        m2, m1, m0 = motion_B3WC.view(B, 3, three_W // 3, C).unbind(1)
        f_hat, _, terms = self.encode(torch.cat([m2, m1]), torch.cat([m1, m0]))
        f_prev, f_cur = f_hat.chunk(2)
        return self.decode(f_prev, f_cur), terms

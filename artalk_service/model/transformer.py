"""Stage 2: autoregressive transformer over scales (next-scale prediction, as in VAR).

The sequence is [previous window's N tokens, current window's N tokens]. Previous
tokens see each other; current tokens see all previous tokens and the current
scales up to their own (block-causal by scale). Every token is modulated by its own
audio feature through adaptive layer norm; there is no cross-attention.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .blocks import MLP, Attention, init_weights
from .config import ModelConfig


def scale_mask(scales: tuple[int, ...]) -> torch.Tensor:
    """(2N, 2N) bool, True = may attend."""
    level_N = torch.cat([torch.full((s,), k) for k, s in enumerate(scales)])
    N = level_N.numel()
    mask = torch.zeros(2 * N, 2 * N, dtype=torch.bool)
    mask[:, :N] = True  # the previous window is context for all
    mask[:N, N:] = False  # ... and never sees the current one
    mask[N:, N:] = level_N[None, :] <= level_N[:, None]  # current: scales <= own scale
    return mask


class AdaLNBlock(nn.Module):
    """Pre-norm block whose norms are scaled, shifted and gated per token by the condition."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        c = config.transformer
        self.ln1 = nn.LayerNorm(c.width, elementwise_affine=False)
        self.attn = Attention(c.width, c.heads, qk_norm=True, dropout=c.dropout)
        self.ln2 = nn.LayerNorm(c.width, elementwise_affine=False)
        self.mlp = MLP(c.width, c.mlp_ratio, c.dropout)
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(c.width, 6 * c.width))

    def forward(self, x_BLC, ada_BL6C, mask_LS=None, cache=None):
        gate1, gate2, scale1, scale2, shift1, shift2 = ada_BL6C.chunk(6, dim=-1)
        x_BLC = x_BLC + gate1 * self.attn(self.ln1(x_BLC) * (1 + scale1) + shift1, mask_LS, cache)
        return x_BLC + gate2 * self.mlp(self.ln2(x_BLC) * (1 + scale2) + shift2)


class ScaleTransformer(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        c, scales = config.transformer, config.window.scales
        self.scales, self.num_tokens = scales, sum(scales)
        latent_dim, N = config.autoencoder.latent_dim, sum(scales)

        # 1. input embedding: next-scale inputs -> width; positions over both windows; scale level
        self.word_embed = nn.Linear(latent_dim, c.width)
        self.pos_1LC = nn.Parameter(torch.zeros(1, 2 * N, c.width))
        self.level_embed = nn.Embedding(len(scales), c.width)
        level_N = torch.cat([torch.full((s,), k) for k, s in enumerate(scales)])
        self.register_buffer("level_L", torch.cat([level_N, level_N]), persistent=False)
        self.register_buffer("mask_LL", scale_mask(scales), persistent=False)

        # 2. blocks
        self.blocks = nn.ModuleList(AdaLNBlock(config) for _ in range(c.depth))

        # 3. head: AdaLN-modulated norm, then 2 logits per bit
        self.head_ada = nn.Sequential(nn.SiLU(), nn.Linear(c.width, 2 * c.width))
        self.head_ln = nn.LayerNorm(c.width, elementwise_affine=False)
        self.head = nn.Linear(c.width, 2 * latent_dim)

        init_weights(self)
        nn.init.trunc_normal_(self.pos_1LC, std=0.02)
        for block in self.blocks:  # gates start open so the untrained model is not the identity
            nn.init.ones_(block.ada[-1].bias[: 2 * c.width])

    def embed(self, style_BC: torch.Tensor, next_inputs_BnD: torch.Tensor) -> torch.Tensor:
        """A window's token inputs (B, N, C): the style token, then the next-scale inputs."""
        return torch.cat([style_BC[:, None], self.word_embed(next_inputs_BnD)], dim=1)

    def modulations(self, cond_B2NC: torch.Tensor) -> list[torch.Tensor]:
        """AdaLN parameters of every token, per block then the head: computed once per window
        rather than once per scale step."""
        return [block.ada(cond_B2NC) for block in self.blocks] + [self.head_ada(cond_B2NC)]

    def step(self, x_BlC, ada: list[torch.Tensor], start: int, mask_lS=None, caches: list[dict] | None = None):
        """Run tokens at sequence positions [start, start + l) -> hidden states (B, l, C)."""
        stop = start + x_BlC.shape[1]
        h_BlC = x_BlC + self.pos_1LC[:, start:stop] + self.level_embed(self.level_L[start:stop])
        for i, block in enumerate(self.blocks):
            h_BlC = block(h_BlC, ada[i][:, start:stop], mask_lS, None if caches is None else caches[i])
        return h_BlC

    def logits(self, h_BlC: torch.Tensor, head_ada_Bl2C: torch.Tensor) -> torch.Tensor:
        """Hidden states -> bit logits (B, l, D, 2)."""
        scale, shift = head_ada_Bl2C.chunk(2, dim=-1)
        logits = self.head(self.head_ln(h_BlC) * (1 + scale) + shift)
        return logits.unflatten(-1, (-1, 2))

    def forward(self, x_B2NC: torch.Tensor, cond_B2NC: torch.Tensor) -> torch.Tensor:
        """Teacher forcing over [previous, current] -> the current tokens' logits (B, N, D, 2)."""
        N, ada = self.num_tokens, self.modulations(cond_B2NC)
        h_B2NC = self.step(x_B2NC, ada, 0, self.mask_LL)
        return self.logits(h_B2NC[:, N:], ada[-1][:, N:])

"""Style encoder: a short reference motion clip -> one vector, the AR model's scale-0 token.

Without a reference clip a learned null style is used (training drops the clip now
and then so that the null style means "average speaker").
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .blocks import Block, init_weights
from .config import ModelConfig


class StyleEncoder(nn.Module):
    def __init__(self, config: ModelConfig, channels: int):
        super().__init__()
        c = config.style
        self.max_frames, self.extrapolate = c.max_frames, c.extrapolate
        self.inp = nn.Linear(channels, c.width)
        self.pos_1TC = nn.Parameter(torch.zeros(1, c.max_frames, c.width))
        self.blocks = nn.ModuleList(Block(c.width, c.heads, 4.0) for _ in range(c.depth))
        self.ln = nn.LayerNorm(c.width)
        self.out = nn.Linear(c.width, config.transformer.width)
        self.null_C = nn.Parameter(torch.zeros(config.transformer.width))
        init_weights(self)
        nn.init.trunc_normal_(self.pos_1TC, std=0.02)
        nn.init.trunc_normal_(self.null_C, std=0.02)

    def forward(self, clip_BTC: torch.Tensor) -> torch.Tensor:
        """Normalised reference clips (B, T <= max_frames, channels) -> styles (B, width)."""
        x_BTC = self.inp(clip_BTC) + self.pos_1TC[:, : clip_BTC.shape[1]]
        for block in self.blocks:
            x_BTC = block(x_BTC)
        return self.out(self.ln(x_BTC).mean(1))

    def null(self, batch: int) -> torch.Tensor:
        return self.null_C.expand(batch, -1)

    @torch.no_grad()
    def inference_style(self, clip_TC: torch.Tensor | None) -> torch.Tensor:
        """One session's style (width,): null, or the clip's style pushed slightly away from null."""
        if clip_TC is None:
            return self.null_C.detach().clone()
        style_C = self(clip_TC[None, : self.max_frames])[0]
        return (1 + self.extrapolate) * style_C - self.extrapolate * self.null_C

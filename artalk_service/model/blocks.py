"""Transformer pieces shared by the autoencoder, the style encoder and the AR transformer."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    """Multi-head self-attention with an optional boolean mask (True = may attend),
    optional QK-norm (L2-normalised q and k, learned per-head temperature, as in VAR)
    and an optional key/value cache for incremental decoding."""

    def __init__(self, width: int, heads: int, qk_norm: bool = False, dropout: float = 0.0):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        # log of the attention temperature; clamped so that softmax cannot saturate
        self.log_scale_1H11 = nn.Parameter(torch.full((1, heads, 1, 1), math.log(4.0))) if qk_norm else None

    def forward(
        self, x_BLC: torch.Tensor, mask_LS: torch.Tensor | None = None, cache: dict | None = None
    ) -> torch.Tensor:
        B, L, C = x_BLC.shape
        q, k, v = self.qkv(x_BLC).view(B, L, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        scale = None
        if self.log_scale_1H11 is not None:
            q = F.normalize(q, dim=-1) * self.log_scale_1H11.clamp(max=math.log(100.0)).exp()
            k, scale = F.normalize(k, dim=-1), 1.0
        if cache is not None:  # keys/values of earlier steps, (B, nh, S, hs)
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], dim=2), torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        y_BHLc = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask_LS, scale=scale, dropout_p=self.dropout if self.training else 0.0
        )
        return self.proj(y_BHLc.transpose(1, 2).reshape(B, L, C))


class MLP(nn.Module):
    def __init__(self, width: int, ratio: float, dropout: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(width, int(width * ratio))
        self.fc2 = nn.Linear(int(width * ratio), width)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(F.gelu(self.fc1(x), approximate="tanh")))


class Block(nn.Module):
    """Plain pre-norm transformer block."""

    def __init__(self, width: int, heads: int, mlp_ratio: float, dropout: float = 0.0):
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.attn = Attention(width, heads, dropout=dropout)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = MLP(width, mlp_ratio, dropout)

    def forward(self, x_BLC: torch.Tensor, mask_LL: torch.Tensor | None = None) -> torch.Tensor:
        x_BLC = x_BLC + self.attn(self.ln1(x_BLC), mask_LL)
        return x_BLC + self.mlp(self.ln2(x_BLC))


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """GPT-style init for our own (trainable) layers."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.trunc_normal_(m.weight, std=std)

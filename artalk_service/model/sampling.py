"""Choosing code bits from logits: greedy, or temperature + top-p with per-window seeds;
optionally after classifier-free guidance of the audio (`guide`).

Randomness never comes from a shared generator: each window draws from its own
generator seeded by (seed, utterance, window), on the CPU, so the result does not
depend on how audio was chunked, on batching with other streams, or on the device.
"""

from __future__ import annotations

import numpy as np
import torch

MIN_GUIDANCE, MAX_GUIDANCE = 1.0, 4.0  # classifier-free guidance of the audio: 1 = off


def window_generator(seed: int, utterance: int, window: int) -> torch.Generator:
    entropy = [seed & 0xFFFFFFFFFFFFFFFF, utterance, window]
    state = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def sample_bits(
    logits_BlD2: torch.Tensor, temperature_B: torch.Tensor, top_p_B: torch.Tensor, uniform_BlD: torch.Tensor
) -> torch.Tensor:
    """Bits (B, l, D) bool. Rows with temperature 0 are greedy. With two outcomes per bit,
    top-p keeps the unlikely one only when the likely one has probability < top_p."""
    greedy_BlD = logits_BlD2[..., 1] > logits_BlD2[..., 0]
    t_B11 = temperature_B.clamp(min=1e-6)[:, None, None]
    p1_BlD = torch.sigmoid((logits_BlD2[..., 1] - logits_BlD2[..., 0]) / t_B11)
    keep_both = torch.maximum(p1_BlD, 1 - p1_BlD) < top_p_B[:, None, None]
    sampled = torch.where(keep_both, uniform_BlD < p1_BlD, greedy_BlD)
    return torch.where((temperature_B > 0)[:, None, None], sampled, greedy_BlD)


def draw_bits(
    logits_BsD2: torch.Tensor,
    temperature_B: torch.Tensor,
    top_p_B: torch.Tensor,
    generators: list[torch.Generator | None],
) -> torch.Tensor:
    """One scale's bits (B, s, D) from its logits, for every backend. Random draws only for
    sampling rows; each window has its own generator, so skipping greedy rows changes
    nothing for the others."""
    uniform_BsD = torch.zeros(logits_BsD2.shape[:-1])
    for i, t in enumerate(temperature_B.tolist()):
        if t > 0:
            uniform_BsD[i] = torch.rand(uniform_BsD.shape[1:], generator=generators[i])
    return sample_bits(logits_BsD2, temperature_B, top_p_B, uniform_BsD.to(logits_BsD2.device))


def guide(logits_2BsD2: torch.Tensor, guidance_B: torch.Tensor) -> torch.Tensor:
    """Classifier-free guidance of the audio: logits of B windows hearing their audio, then of the
    same B windows hearing the null audio -> null + g * (audio - null), (B, s, D, 2). g > 1 pushes
    each bit further from what the previous window and the style alone suggest."""
    heard, null = logits_2BsD2.chunk(2)
    return null + guidance_B.to(heard.device)[:, None, None, None] * (heard - null)

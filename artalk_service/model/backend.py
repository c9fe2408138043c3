"""Where the network computes: the seam between MotionModel's streaming logic and the math.

MotionModel asks a backend for four things: a session's style, the speech conditions of a
batch of windows, one batched window of codes and motion, and the codes that stand in for
the window before the first. `TorchBackend` runs them in PyTorch (the reference);
`artalk_service.export.onnx_backend.OnnxBackend` runs the exported graphs on ONNX Runtime. Tensors cross the
seam as torch tensors on the backend's `tensor_device`; code bits are chosen by the same
`draw_bits` in both, so seeded sampling means the same in each.
"""

from __future__ import annotations

import importlib.util
from typing import Protocol

import numpy as np
import torch

from .artalk import ARTalk


class NetworkBackend(Protocol):
    name: str  # "torch" or "onnxruntime"
    device: torch.device  # where the network computes (reported by Describe)
    tensor_device: torch.device  # where the tensors it takes and returns live

    def style(self, clip_TC: np.ndarray | None) -> torch.Tensor:
        """A reference clip in layout units (frames, channels), or None for the null style -> (width,)."""

    def conditions(self, audio_BS: np.ndarray, whisper_dtype: torch.dtype | None) -> list[torch.Tensor]:
        """Audio contexts (B, S) -> AdaLN modulations per block, then the head (ARTalk.conditions)."""

    def generate(
        self,
        ada: list[torch.Tensor],
        style_BC: torch.Tensor,
        prev_bits_BND: torch.Tensor,
        temperature_B: torch.Tensor,
        top_p_B: torch.Tensor,
        generators: list[torch.Generator | None],
        guidance_B: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One window per row -> (codes (B, N, D) bool, motion (B, W, C) in layout units, unclamped).
        guidance_B: classifier-free guidance of the audio per row (None or 1: off)."""

    def initial_bits(self) -> torch.Tensor:
        """Codes of the window before the first: the rest pose (ARTalk.initial_bits). (N, D) bool"""


class TorchBackend:
    """The network in PyTorch, on a CPU or a CUDA device."""

    name = "torch"

    def __init__(self, net: ARTalk, device: str | torch.device = "cpu"):
        self.device = self.tensor_device = torch.device(device)
        self.net = net.to(self.device).eval()

    @torch.inference_mode()
    def style(self, clip_TC: np.ndarray | None) -> torch.Tensor:
        clip = None if clip_TC is None else self.net.normalize(torch.from_numpy(clip_TC).to(self.device))
        return self.net.style.inference_style(clip)

    @torch.inference_mode()
    def conditions(self, audio_BS: np.ndarray, whisper_dtype: torch.dtype | None = None) -> list[torch.Tensor]:
        return self.net.conditions(torch.from_numpy(audio_BS).to(self.device), whisper_dtype)

    @torch.inference_mode()
    def generate(self, ada, style_BC, prev_bits_BND, temperature_B, top_p_B, generators, guidance_B=None):
        bits_BND, motion_BWC = self.net.generate_from(
            ada, style_BC, prev_bits_BND, temperature_B, top_p_B, generators, guidance_B
        )
        return bits_BND, self.net.denormalize(motion_BWC)

    def initial_bits(self) -> torch.Tensor:
        return self.net.initial_bits()[0]


def resolve_backend(name: str, device: torch.device) -> str:
    """`auto` -> the backend artalk-bench measured faster on this kind of device."""
    if name != "auto":
        return name
    # CPU: onnxruntime. On the quiet 2-core reference VM it ran 19-22x real time offline against
    # torch's 13x, a one-stream model step in 34 / 41 ms p50 / p99 against 72 / 80 ms, and held
    # 16 real-time streams against 8 (cpu-2core-onnxruntime-quiet.json, cpu-2core.json); its
    # memory arena costs ~450 MB more RSS.
    # CUDA: torch, until a GPU run of the same benchmark says otherwise (none measured yet).
    if device.type == "cpu" and importlib.util.find_spec("onnxruntime") is not None:
        return "onnxruntime"
    return "torch"

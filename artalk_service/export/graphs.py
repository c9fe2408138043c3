"""The graphs exported to ONNX: small torch modules around the network's parts, each
computing exactly what the onnxruntime backend asks for, tensors in and tensors out.

    speech_encoder       audio contexts -> every token's AdaLN modulations (ARTalk.conditions)
    style_encoder        a reference motion clip -> the session's style, and the null style
    token_embed          style + a window's codes -> its transformer inputs (ARTalk.transformer_inputs)
    transformer_step     one scale step of the AR transformer, its key/value cache explicit
    autoencoder_encoder  normalised motion of two windows -> the current window's codes
    autoencoder_decoder  codes of two windows -> the current window's motion, in layout units

The speech encoder's log-mel front end computes the STFT as a strided convolution by the
windowed DFT basis (ONNX has no complex tensors); everything else calls the model's own
modules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from artalk_service.layout import get_layout
from artalk_service.model.artalk import ARTalk
from artalk_service.model.speech import HOP, N_FFT, LogMel
from artalk_service.model.transformer import ScaleTransformer
from artalk_service.timebase import SAMPLE_RATE


class DftLogMel(nn.Module):
    """speech.LogMel with the STFT as one Conv (equal within float rounding)."""

    def __init__(self, logmel: LogMel):
        super().__init__()
        n, f = torch.arange(N_FFT, dtype=torch.float64), torch.arange(N_FFT // 2 + 1, dtype=torch.float64)
        angle_FN = 2 * math.pi * f[:, None] * n[None] / N_FFT
        basis_2FN = torch.cat([torch.cos(angle_FN), torch.sin(angle_FN)]) * logmel.window.double()
        self.register_buffer("basis_2F1N", basis_2FN.float()[:, None])
        self.register_buffer("filters", logmel.filters.clone())

    def forward(self, audio_BS: torch.Tensor) -> torch.Tensor:
        padded_B1S = F.pad(audio_BS[:, None], (N_FFT // 2, N_FFT // 2), mode="reflect")  # torch.stft(center=True)
        re_BFT, im_BFT = F.conv1d(padded_B1S, self.basis_2F1N, stride=HOP)[..., :-1].chunk(2, dim=1)
        # from here on as LogMel
        log_BMT = (self.filters @ (re_BFT**2 + im_BFT**2)).clamp(min=1e-10).log10()
        log_BMT = torch.maximum(log_BMT, log_BMT.amax(dim=(1, 2), keepdim=True) - 8.0)
        return (log_BMT + 4.0) / 4.0


class SpeechEncoderGraph(nn.Module):
    def __init__(self, net: ARTalk):
        super().__init__()
        self.net, self.logmel, self.rows = net, DftLogMel(net.speech.logmel), net.condition_rows()[0]

    def forward(self, audio_BS: torch.Tensor) -> tuple[torch.Tensor, ...]:
        whisper_BtC = self.net.speech.whisper(self.logmel(audio_BS), self.rows)
        return tuple(self.net.conditions_from_whisper(whisper_BtC))


class NullConditionsGraph(nn.Module):
    """No inputs -> the null audio's modulations (ARTalk.null_conditions), the unconditional
    branch of classifier-free guidance; only models trained with a null audio have it."""

    def __init__(self, net: ARTalk):
        super().__init__()
        self.net = net

    def forward(self) -> tuple[torch.Tensor, ...]:
        return tuple(self.net.null_conditions())


class StyleEncoderGraph(nn.Module):
    def __init__(self, net: ARTalk):
        super().__init__()
        self.net = net

    def forward(self, clip_TC: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A clip in layout units (frames >= 1) -> (its style, the null style), both (width,)."""
        return self.net.style.inference_style(self.net.normalize(clip_TC)), self.net.style.null_C.clone()


class TokenEmbedGraph(nn.Module):
    def __init__(self, net: ARTalk):
        super().__init__()
        self.net = net

    def forward(self, style_BC: torch.Tensor, bits_BND: torch.Tensor) -> torch.Tensor:
        """-> (B, N, C): the style token, then each scale's next-scale input from the codes of
        the scales before it (so a partly decoded window gives its next scale's inputs)."""
        return self.net.transformer_inputs(style_BC, bits_BND)


class TransformerStepGraph(nn.Module):
    """ScaleTransformer.step + logits with the cache explicit: tokens x at sequence positions
    `positions` attend to the cached keys/values and to each other as `mask` allows (True =
    may attend; keys = cached, then these tokens). Returns every token's bit logits and each
    block's keys and values grown by these tokens."""

    def __init__(self, tf: ScaleTransformer):
        super().__init__()
        self.tf = tf

    def forward(self, x_BlC, positions_l, mask_lS, *ada_and_past):
        tf, depth = self.tf, len(self.tf.blocks)
        ada, past = ada_and_past[: depth + 1], ada_and_past[depth + 1 :]
        h_BlC = x_BlC + tf.pos_1LC[0, positions_l] + tf.level_embed(tf.level_L[positions_l])
        present = []
        for i, block in enumerate(tf.blocks):
            cache = {"k": past[2 * i], "v": past[2 * i + 1]}  # Attention appends this step's keys/values
            h_BlC = block(h_BlC, ada[i][:, positions_l], mask_lS, cache)
            present += [cache["k"], cache["v"]]
        return (tf.logits(h_BlC, ada[-1][:, positions_l]), *present)


class MotionEncoderGraph(nn.Module):
    def __init__(self, net: ARTalk):
        super().__init__()
        self.net = net

    def forward(self, prev_BWC: torch.Tensor, cur_BWC: torch.Tensor) -> torch.Tensor:
        return self.net.autoencoder.encode(prev_BWC, cur_BWC)[1]


class MotionDecoderGraph(nn.Module):
    def __init__(self, net: ARTalk):
        super().__init__()
        self.net = net

    def forward(self, prev_bits_BND: torch.Tensor, bits_BND: torch.Tensor) -> torch.Tensor:
        return self.net.denormalize(self.net.decode_bits(prev_bits_BND, bits_BND))


@dataclass(frozen=True)
class Graph:
    """One graph to export: its module, named example inputs (in order), output names and
    the axes that vary at run time."""

    name: str
    module: nn.Module
    inputs: dict[str, torch.Tensor]
    outputs: tuple[str, ...]
    dynamic_axes: dict[str, dict[int, str]]
    varargs_from: int | None = None  # inputs from this one on go to the module's *args


def ada_names(depth: int) -> tuple[str, ...]:
    return tuple(f"ada_{i}" for i in range(depth)) + ("ada_head",)


def cache_names(prefix: str, depth: int) -> tuple[str, ...]:
    return tuple(f"{prefix}_{kv}_{i}" for i in range(depth) for kv in "kv")


def model_graphs(net: ARTalk) -> list[Graph]:
    """Every graph of the network, with example inputs of the runtime's shapes (batch 2)."""
    cfg, B = net.config, 2
    w, D, C = cfg.window, cfg.autoencoder.latent_dim, cfg.transformer.width
    N, depth, heads = w.num_tokens, cfg.transformer.depth, cfg.transformer.heads
    layout, gen = get_layout(cfg.layout), torch.Generator().manual_seed(0)
    channels, S = layout.num_channels, w.context_frames * (SAMPLE_RATE // layout.fps)
    batch = {0: "batch"}

    def bits(*shape):
        return torch.rand(*shape, generator=gen) > 0.5

    def randn(*shape):
        return torch.randn(*shape, generator=gen)

    ada = ada_names(depth)
    ada_example = {name: randn(B, 2 * N, (2 if name == "ada_head" else 6) * C) for name in ada}
    past_len, step_tokens = N + 1, w.scales[1]  # an example mid-window step: the cache holds step 0
    past = {name: randn(B, heads, past_len, C // heads) for name in cache_names("past", depth)}
    step_inputs = {
        "x": randn(B, step_tokens, C),
        "positions": torch.arange(past_len, past_len + step_tokens),
        "mask": torch.ones(step_tokens, past_len + step_tokens, dtype=torch.bool),
        **ada_example,
        **past,
    }
    step_axes = {
        "x": {0: "batch", 1: "tokens"},
        "positions": {0: "tokens"},
        "mask": {0: "tokens", 1: "keys"},
        "logits": {0: "batch", 1: "tokens"},
        **{name: batch for name in ada},
        **{name: {0: "batch", 2: "past"} for name in past},
        **{name: {0: "batch", 2: "keys"} for name in cache_names("present", depth)},
    }
    guidance = (
        [Graph("null_conditions", NullConditionsGraph(net), {}, ada, {})]
        if net.speech.null_features is not None
        else []
    )
    return guidance + [
        Graph(
            "speech_encoder",
            SpeechEncoderGraph(net),
            {"audio": 0.1 * randn(B, S)},
            ada,
            {"audio": batch, **{name: batch for name in ada}},
        ),
        Graph(
            "style_encoder",
            StyleEncoderGraph(net),
            {"clip": randn(cfg.style.max_frames, channels)},
            ("style", "null_style"),
            {"clip": {0: "frames"}},
        ),
        Graph(
            "token_embed",
            TokenEmbedGraph(net),
            {"style": randn(B, C), "bits": bits(B, N, D)},
            ("tokens",),
            {"style": batch, "bits": batch, "tokens": batch},
        ),
        Graph(
            "transformer_step",
            TransformerStepGraph(net.transformer),
            step_inputs,
            ("logits", *cache_names("present", depth)),
            step_axes,
            varargs_from=3,
        ),
        Graph(
            "autoencoder_encoder",
            MotionEncoderGraph(net),
            {"prev_motion": randn(B, w.frames, channels), "motion": randn(B, w.frames, channels)},
            ("bits",),
            {"prev_motion": batch, "motion": batch, "bits": batch},
        ),
        Graph(
            "autoencoder_decoder",
            MotionDecoderGraph(net),
            {"prev_bits": bits(B, N, D), "bits": bits(B, N, D)},
            ("motion",),
            {"prev_bits": batch, "bits": batch, "motion": batch},
        ),
    ]

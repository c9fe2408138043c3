"""The inference facade: a loaded model (`MotionModel`) that opens streams and runs their windows.

`MotionModel` holds the network on a device (computed by a backend: PyTorch by default,
or ONNX Runtime through artalk_service.export), its style presets with their blink rates,
and its identity. `run_windows` computes ready windows of many streams (model/stream.py)
in one batched pass.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import torch

from ..blink_timing import DEFAULT_BLINK_RATE
from ..layout import MotionLayout, get_layout
from ..timebase import SAMPLE_RATE
from .artalk import ARTalk
from .backend import NetworkBackend, TorchBackend
from .checkpoint import load_checkpoint, save_checkpoint
from .config import ModelConfig
from .sampling import MAX_GUIDANCE, MIN_GUIDANCE, window_generator
from .stream import MotionStream, StreamOptions, WindowJob


class MotionModel:
    """The network on a device (run by a backend: PyTorch by default, or ONNX Runtime),
    its style presets (reference clips, each with its blink rate) and identity."""

    sample_rate: int = SAMPLE_RATE

    def __init__(
        self,
        net: ARTalk,
        model_id: str,
        style_presets: dict[str, np.ndarray] | None = None,
        device: str | torch.device = "cpu",
        trained: bool = True,
        encode_ahead: int = 16,
        whisper_dtype: torch.dtype | None = None,
        backend: NetworkBackend | None = None,
        guidance: float = 1.0,
        blink_rates: dict[str, float] | None = None,
    ):
        self.backend = backend or TorchBackend(net, device)
        self.device = self.backend.device
        self.trained = trained  # False for the random-init stand-in used before weights exist
        self.net = net.eval()  # the weights: saved by save(), exported by artalk_service.export
        self.config: ModelConfig = net.config
        self.layout: MotionLayout = get_layout(self.config.layout)
        self.model_id = model_id
        self.style_presets = {k: np.asarray(v, np.float32) for k, v in (style_presets or {}).items()}
        self.blink_rates = {k: float(v) for k, v in (blink_rates or {}).items()}  # per minute, by preset
        self.guidance = self.check_guidance(guidance)  # the default of streams that do not choose
        self.window_frames = self.config.window.frames
        self.lookahead_frames = self.config.window.lookahead_frames
        self.frame_samples = self.sample_rate // self.layout.fps
        rotations = set(self.layout.rotation_channels)
        self._tensors = self.backend.tensor_device
        self._blendshape_C = torch.tensor([c not in rotations for c in self.layout.channels], device=self._tensors)
        self._initial_bits_ND = self.backend.initial_bits()
        # A stream whose next windows' audio is all there (offline, or a client ahead of real
        # time) runs the speech encoder over up to `encode_ahead` of them in one batched pass.
        # Batched and single passes differ by float rounding only; 1 makes a stream's output
        # bit-identical however its audio was chunked.
        self.encode_ahead = encode_ahead
        # Optional speed mode, off by default: the frozen Whisper under bfloat16 autocast
        # (about 2x faster on CPUs with AVX512-BF16; features differ by ~1.4 % mean).
        self.whisper_dtype = whisper_dtype

    @property
    def latency_s(self) -> float:
        """Algorithmic latency: a frame is out at the latest one window + lookahead after its audio."""
        return (self.window_frames + self.lookahead_frames) / self.layout.fps

    # --- construction and IO ---------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu") -> MotionModel:
        ckpt = load_checkpoint(path, device)
        return cls(
            ckpt.net, ckpt.model_id, ckpt.style_presets, device, guidance=ckpt.guidance, blink_rates=ckpt.blink_rates
        )

    @classmethod
    def untrained(
        cls, config: ModelConfig, device: str | torch.device = "cpu", seed: int = 0, **options
    ) -> MotionModel:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = ARTalk(config)
        digest = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True).encode()).hexdigest()[:8]
        return cls(net, f"untrained-{digest}-seed{seed}", {}, device, trained=False, **options)

    def save(self, path: str | Path) -> None:
        save_checkpoint(path, self.net, self.model_id, self.style_presets, self.guidance, self.blink_rates)

    def with_backend(self, backend: NetworkBackend) -> MotionModel:
        """The same model (weights, identity, presets, options) computed by another backend."""
        return MotionModel(
            self.net,
            self.model_id,
            self.style_presets,
            trained=self.trained,
            encode_ahead=self.encode_ahead,
            whisper_dtype=self.whisper_dtype,
            backend=backend,
            guidance=self.guidance,
            blink_rates=self.blink_rates,
        )

    @property
    def guides(self) -> bool:
        """Trained with a null audio condition: guidance above 1 is possible."""
        return self.net.speech.null_features is not None

    @property
    def max_guidance(self) -> float:
        """The largest guidance a stream may ask for: 1 (off) unless trained with a null audio."""
        return MAX_GUIDANCE if self.guides else MIN_GUIDANCE

    def check_guidance(self, guidance: float) -> float:
        if not (math.isfinite(guidance) and MIN_GUIDANCE <= guidance <= MAX_GUIDANCE):
            raise ValueError(f"guidance must be {MIN_GUIDANCE:g} (off) to {MAX_GUIDANCE:g}, got {guidance}")
        if guidance > self.max_guidance:
            raise ValueError(
                f"model {self.model_id} was trained without a null audio condition: it supports "
                f"guidance 1 (off) only, got {guidance}"
            )
        return float(guidance)

    def blink_rate(self, style: str | np.ndarray | None) -> float:
        """Blinks per minute outside phrase ends: the preset's, else the corpus default."""
        return self.blink_rates.get(style, DEFAULT_BLINK_RATE) if isinstance(style, str) else DEFAULT_BLINK_RATE

    # --- streaming ---------------------------------------------------------------------

    def open_stream(self, options: StreamOptions) -> MotionStream:
        if not (math.isfinite(options.temperature) and options.temperature >= 0):
            raise ValueError(f"temperature must be >= 0, got {options.temperature}")
        if not 0 < options.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {options.top_p}")
        guidance = self.guidance if options.guidance is None else self.check_guidance(options.guidance)
        style_C = self.backend.style(self._style_clip(options.style))
        return MotionStream(self, options, style_C, self._initial_bits_ND, guidance)

    def _style_clip(self, style) -> np.ndarray | None:
        if style is None:
            return None
        if isinstance(style, str):
            if style not in self.style_presets:
                raise ValueError(
                    f"unknown style preset {style!r}; available presets: "
                    f"{sorted(self.style_presets) or 'none'} (or pass a reference clip, or no style)"
                )
            return self.style_presets[style]
        clip = np.asarray(style, dtype=np.float32)
        C = self.layout.num_channels
        if clip.ndim != 2 or clip.shape[1] != C or clip.shape[0] < 1:
            raise ValueError(
                f"a style reference clip must be (frames, {C}) in layout {self.layout.name} "
                f"at {self.layout.fps} fps; got shape {clip.shape}"
            )
        if not np.isfinite(clip).all():
            raise ValueError("style reference clip contains NaN or infinity")
        return clip

    @torch.inference_mode()
    def run_windows(self, jobs: list[WindowJob]) -> None:
        """Compute ready windows of many streams in one batched pass per scale."""
        if not jobs:
            return
        if any(job.stream.model is not self for job in jobs):
            raise ValueError("run_windows got a job from a stream of another model")
        opts = [job.stream.options for job in jobs]
        todo = [i for i, job in enumerate(jobs) if job.ada is None]
        fresh = self.conditions([jobs[i].audio for i in todo]) if todo else []
        per_job = [job.ada for job in jobs]
        for j, i in enumerate(todo):
            per_job[i] = [a[j] for a in fresh]
        ada = [torch.stack(parts) for parts in zip(*per_job)]
        style_BC = torch.stack([job.stream.style_C for job in jobs])
        prev_BND = torch.stack([job.prev_bits for job in jobs])
        temperature_B = torch.tensor([o.temperature for o in opts], dtype=torch.float32, device=self._tensors)
        top_p_B = torch.tensor([o.top_p for o in opts], dtype=torch.float32, device=self._tensors)
        guidance_B = torch.tensor([job.stream.guidance for job in jobs], dtype=torch.float32, device=self._tensors)
        generators = [
            window_generator(o.seed, job.utterance, job.window) if o.temperature > 0 else None
            for o, job in zip(opts, jobs)
        ]  # greedy windows draw nothing
        bits_BND, motion_BWC = self.backend.generate(
            ada, style_BC, prev_BND, temperature_B, top_p_B, generators, guidance_B
        )
        frames_BWC = self.clamp(motion_BWC).float().cpu().numpy()
        for job, bits_ND, frames_WC in zip(jobs, bits_BND, frames_BWC):
            job.stream._commit(job, bits_ND, frames_WC)

    @torch.inference_mode()
    def conditions(self, audios: list[np.ndarray]) -> list[torch.Tensor]:
        """Speech encoder + AdaLN modulations of many windows' audio contexts, one batched pass."""
        return self.backend.conditions(np.stack(audios), self.whisper_dtype)

    def clamp(self, motion_BWC: torch.Tensor) -> torch.Tensor:
        """Blendshape weights into [0, 1]; head rotations as they are."""
        return torch.where(self._blendshape_C.to(motion_BWC.device), motion_BWC.clamp(0, 1), motion_BWC)

    @torch.inference_mode()
    def codes(self, motion_TC: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Motion (T, channels) -> the codes of its windows as a stream codes them: each window
        with its predecessor, the first after the rest pose, the last frame repeated to fill the
        last window. -> (previous window's codes, window's codes), each (windows, N, D)."""
        W, (T, C) = self.window_frames, motion_TC.shape
        m_TC = self.net.normalize(torch.as_tensor(motion_TC, dtype=torch.float32, device=self.net.motion_mean.device))
        m_TC = torch.cat([self.net.rest_motion().expand(W, C), m_TC, m_TC[-1:].expand(-T % W, C)])
        windows_nWC = m_TC.view(-1, W, C)
        bits_nND = self.net.autoencoder.encode(windows_nWC[:-1], windows_nWC[1:])[1]
        return torch.cat([self.net.initial_bits(), bits_nND[:-1]]), bits_nND

    @torch.inference_mode()
    def round_trip(self, motion_TC: np.ndarray) -> np.ndarray:
        """Motion (T, channels) through the autoencoder alone (`codes`, then decoded): the best
        that generated codes can express."""
        motion_nWC = self.net.denormalize(self.net.decode_bits(*self.codes(motion_TC)))
        return self.clamp(motion_nWC).reshape(-1, motion_TC.shape[1])[: len(motion_TC)].float().cpu().numpy()

    def animate(self, audio_16k: np.ndarray, options: StreamOptions = StreamOptions()) -> np.ndarray:
        """Offline: a whole utterance -> (ceil(samples / 640), channels) frames, equal to streaming it
        (within float rounding: the speech encoder runs over `encode_ahead` windows at once)."""
        stream = self.open_stream(options)
        stream.push_audio(audio_16k)
        return np.concatenate([stream.process(), stream.flush()])

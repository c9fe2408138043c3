"""Inference API: a loaded model (`MotionModel`) and one stream per session (`MotionStream`).

A stream buffers audio and hands out one `WindowJob` at a time, as soon as the window's
audio and its lookahead have arrived. `MotionModel.run_windows` computes the ready
windows of many streams in one batched pass and hands each stream its frames.

Timeline of an utterance (W = window frames, L = lookahead frames, 640 samples a frame):
window w covers frames [wW, wW + W) and is ready once (wW + W + L) * 640 samples are in;
its speech encoder context is the `context_frames` of audio ending there (silence before
the utterance start). flush() pads silence to finish the last window and trims the output
to ceil(samples / 640) frames.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..layout import MotionLayout, get_layout
from .artalk import ARTalk
from .checkpoint import load_checkpoint, save_checkpoint
from .config import SAMPLE_RATE, ModelConfig
from .sampling import window_generator


@dataclass(frozen=True)
class StreamOptions:
    style: str | np.ndarray | None = None  # preset name, reference clip (frames, channels) at layout fps, or None
    seed: int = 0
    temperature: float = 0.0               # 0 = greedy
    top_p: float = 1.0


@dataclass(frozen=True, eq=False)
class WindowJob:
    """One window of one stream, ready to compute: everything it depends on, frozen."""

    stream: MotionStream
    utterance: int
    window: int
    audio: np.ndarray         # (context_frames * 640,) float32 speech encoder context
    prev_bits: torch.Tensor   # (N, D) bool codes of the window before


class MotionModel:
    """The network on a device, its normalisation, style presets and identity."""

    sample_rate: int = SAMPLE_RATE

    def __init__(self, net: ARTalk, model_id: str, style_presets: dict[str, np.ndarray] | None = None,
                 device: str | torch.device = "cpu", trained: bool = True):
        self.device = torch.device(device)
        self.trained = trained  # False for the random-init stand-in used before weights exist
        self.net = net.to(self.device).eval()
        self.config: ModelConfig = net.config
        self.layout: MotionLayout = get_layout(self.config.layout)
        self.model_id = model_id
        self.style_presets = {k: np.asarray(v, np.float32) for k, v in (style_presets or {}).items()}
        self.window_frames = self.config.window.frames
        self.lookahead_frames = self.config.window.lookahead_frames
        self.frame_samples = self.sample_rate // self.layout.fps
        rotations = set(self.layout.rotation_channels)
        self._blendshape_C = torch.tensor([c not in rotations for c in self.layout.channels], device=self.device)
        self._initial_bits_ND = net.initial_bits()[0]

    @property
    def latency_s(self) -> float:
        """Algorithmic latency: a frame is out at the latest one window + lookahead after its audio."""
        return (self.window_frames + self.lookahead_frames) / self.layout.fps

    # --- construction and IO ---------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu") -> MotionModel:
        net, model_id, presets = load_checkpoint(path, device)
        return cls(net, model_id, presets, device)

    @classmethod
    def untrained(cls, config: ModelConfig, device: str | torch.device = "cpu", seed: int = 0) -> MotionModel:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = ARTalk(config)
        digest = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True).encode()).hexdigest()[:8]
        return cls(net, f"untrained-{digest}-seed{seed}", {}, device, trained=False)

    def save(self, path: str | Path) -> None:
        save_checkpoint(path, self.net, self.model_id, self.style_presets)

    # --- streaming ---------------------------------------------------------------------

    def open_stream(self, options: StreamOptions) -> MotionStream:
        if not (math.isfinite(options.temperature) and options.temperature >= 0):
            raise ValueError(f"temperature must be >= 0, got {options.temperature}")
        if not 0 < options.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {options.top_p}")
        clip = self._style_clip(options.style)
        clip_TC = None if clip is None else self.net.normalize(torch.from_numpy(clip).to(self.device))
        with torch.inference_mode():
            style_C = self.net.style.inference_style(clip_TC)
        return MotionStream(self, options, style_C, self._initial_bits_ND)

    def _style_clip(self, style) -> np.ndarray | None:
        if style is None:
            return None
        if isinstance(style, str):
            if style not in self.style_presets:
                raise ValueError(f"unknown style preset {style!r}; available presets: "
                                 f"{sorted(self.style_presets) or 'none'} (or pass a reference clip, or no style)")
            return self.style_presets[style]
        clip = np.asarray(style, dtype=np.float32)
        C = self.layout.num_channels
        if clip.ndim != 2 or clip.shape[1] != C or clip.shape[0] < 1:
            raise ValueError(f"a style reference clip must be (frames, {C}) in layout {self.layout.name} "
                             f"at {self.layout.fps} fps; got shape {clip.shape}")
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
        audio_BS = torch.from_numpy(np.stack([job.audio for job in jobs])).to(self.device)
        style_BC = torch.stack([job.stream.style_C for job in jobs])
        prev_BND = torch.stack([job.prev_bits for job in jobs])
        temperature_B = torch.tensor([o.temperature for o in opts], dtype=torch.float32, device=self.device)
        top_p_B = torch.tensor([o.top_p for o in opts], dtype=torch.float32, device=self.device)
        generators = [window_generator(o.seed, job.utterance, job.window) for o, job in zip(opts, jobs)]
        bits_BND, motion_BWC = self.net.generate(audio_BS, style_BC, prev_BND, temperature_B, top_p_B, generators)
        motion_BWC = self.net.denormalize(motion_BWC)
        motion_BWC = torch.where(self._blendshape_C, motion_BWC.clamp(0, 1), motion_BWC)
        frames_BWC = motion_BWC.float().cpu().numpy()
        for job, bits_ND, frames_WC in zip(jobs, bits_BND, frames_BWC):
            job.stream._commit(job, bits_ND, frames_WC)

    def animate(self, audio_16k: np.ndarray, options: StreamOptions = StreamOptions()) -> np.ndarray:
        """Offline: a whole utterance -> (ceil(samples / 640), channels) frames, equal to streaming it."""
        stream = self.open_stream(options)
        stream.push_audio(audio_16k)
        return np.concatenate([stream.process(), stream.flush()])


class MotionStream:
    """One session's stream. Not thread-safe; cheap to create."""

    def __init__(self, model: MotionModel, options: StreamOptions, style_C: torch.Tensor,
                 initial_bits_ND: torch.Tensor):
        self.model, self.options, self.style_C = model, options, style_C
        self._bits_ND = initial_bits_ND  # motion context: the previous window's codes
        self._utterance = 0
        self._new_utterance()

    def _new_utterance(self) -> None:
        self._window = 0                          # next window to compute
        self._samples = 0                         # samples pushed in this utterance
        self._audio = np.zeros(0, np.float32)     # buffered tail of the utterance audio ...
        self._audio_start = 0                     # ... starting at this utterance sample
        self._frames: list[np.ndarray] = []       # completed, not yet popped
        self._popped = 0                          # frames popped in this utterance
        self._handed_out = False                  # a job for the next window is out

    @property
    def utterance_samples(self) -> int:
        return self._samples

    def push_audio(self, samples_16k: np.ndarray) -> None:
        samples = np.asarray(samples_16k)
        if not np.issubdtype(samples.dtype, np.floating):
            raise ValueError(f"audio must be float samples in [-1, 1], got {samples.dtype} (int16 PCM: / 32768)")
        samples = samples.astype(np.float32, copy=False)
        if samples.ndim != 1:
            raise ValueError(f"audio must be mono 1-D samples, got shape {samples.shape}")
        if not np.isfinite(samples).all():
            raise ValueError("audio contains NaN or infinity")
        self._audio = np.concatenate([self._audio, samples])
        self._samples += samples.size

    def _window_end(self, window: int) -> int:
        return self.model.config.window.audio_span(window, self.model.frame_samples)[1]

    def _ready(self) -> bool:
        return self._samples >= self._window_end(self._window)

    def _make_job(self) -> WindowJob:
        start, end = self.model.config.window.audio_span(self._window, self.model.frame_samples)
        audio = np.zeros(end - start, np.float32)  # silence before the utterance
        lo, hi = max(start, self._audio_start), min(end, self._audio_start + self._audio.size)
        audio[lo - start: hi - start] = self._audio[lo - self._audio_start: hi - self._audio_start]
        return WindowJob(self, self._utterance, self._window, audio, self._bits_ND)

    def ready_jobs(self) -> list[WindowJob]:
        """The next window if its audio is complete and it is not already handed out."""
        if self._handed_out or not self._ready():
            return []
        self._handed_out = True
        return [self._make_job()]

    def _commit(self, job: WindowJob, bits_ND: torch.Tensor, frames_WC: np.ndarray) -> None:
        if job.utterance != self._utterance or job.window != self._window:
            return  # stale: cancelled, flushed, or computed twice
        self._bits_ND, self._handed_out = bits_ND, False
        self._frames.append(frames_WC)
        self._window += 1
        # drop audio no later window's context reaches back to
        keep_from = self.model.config.window.audio_span(self._window, self.model.frame_samples)[0]
        drop = min(max(0, keep_from - self._audio_start), self._audio.size)
        self._audio, self._audio_start = self._audio[drop:], self._audio_start + drop

    def process(self) -> np.ndarray:
        """Run every ready window here (unbatched) and return the newly completed frames.
        A job already handed out by ready_jobs() is recomputed here; the stale copy is ignored."""
        while self._ready():
            self.model.run_windows([self._make_job()])
        return self.pop_frames()

    def flush(self) -> np.ndarray:
        """End of utterance: finish it on padded silence and return its remaining frames, so that
        it has exactly ceil(samples / 640) frames. The next utterance keeps the motion context."""
        fs, W = self.model.frame_samples, self.model.window_frames
        num_frames = -(-self._samples // fs)
        num_windows = -(-num_frames // W)
        if num_windows:
            self.push_audio(np.zeros(max(0, self._window_end(num_windows - 1) - self._samples), np.float32))
        while self._window < num_windows:
            self.model.run_windows([self._make_job()])
        popped = self._popped
        frames = self.pop_frames()[: num_frames - popped]
        self._utterance += 1
        self._new_utterance()
        return frames

    def cancel(self) -> None:
        """Barge-in: drop buffered audio, pending windows and unpopped frames; keep the motion context."""
        self._utterance += 1
        self._new_utterance()

    def pop_frames(self) -> np.ndarray:
        if not self._frames:
            return np.zeros((0, self.model.layout.num_channels), np.float32)
        frames = np.concatenate(self._frames)
        self._frames.clear()
        self._popped += len(frames)
        return frames

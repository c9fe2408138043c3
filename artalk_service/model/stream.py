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
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..layout import MotionLayout, get_layout
from .artalk import ARTalk
from .backend import NetworkBackend, TorchBackend
from .blinks import BlinkProcess, blink_rate
from .checkpoint import load_checkpoint, save_checkpoint
from .config import SAMPLE_RATE, ModelConfig
from .sampling import MAX_GUIDANCE, MIN_GUIDANCE, window_generator


@dataclass(frozen=True)
class StreamOptions:
    style: str | np.ndarray | None = None  # preset name, reference clip (frames, channels) at layout fps, or None
    seed: int = 0
    temperature: float = 0.0               # 0 = greedy
    top_p: float = 1.0
    guidance: float | None = None          # classifier-free guidance of the audio; None = the model's default


@dataclass(frozen=True, eq=False)
class WindowJob:
    """One window of one stream, ready to compute: everything it depends on, frozen."""

    stream: MotionStream
    utterance: int
    window: int
    audio: np.ndarray         # (context_frames * 640,) float32 speech encoder context
    prev_bits: torch.Tensor   # (N, D) bool codes of the window before
    ada: list[torch.Tensor] | None = None  # its conditions (ARTalk.conditions), if computed ahead


def utterance_samples(buffer: np.ndarray, start: int, end: int, buffer_start: int = 0) -> np.ndarray:
    """Utterance samples [start, end) from `buffer`, whose first sample is utterance sample
    `buffer_start`; silence outside it (float32)."""
    out = np.zeros(end - start, np.float32)
    lo, hi = max(start, buffer_start), min(end, buffer_start + buffer.size)
    if hi > lo:
        out[lo - start: hi - start] = buffer[lo - buffer_start: hi - buffer_start]
    return out


class MotionModel:
    """The network on a device (run by a backend: PyTorch by default, or ONNX Runtime),
    its style presets and identity."""

    sample_rate: int = SAMPLE_RATE

    def __init__(self, net: ARTalk, model_id: str, style_presets: dict[str, np.ndarray] | None = None,
                 device: str | torch.device = "cpu", trained: bool = True, encode_ahead: int = 16,
                 whisper_dtype: torch.dtype | None = None, backend: NetworkBackend | None = None,
                 guidance: float = 1.0):
        self.backend = backend or TorchBackend(net, device)
        self.device = self.backend.device
        self.trained = trained  # False for the random-init stand-in used before weights exist
        self.net = net.eval()  # the weights: saved by save(), exported by artalk_service.export
        self.config: ModelConfig = net.config
        self.layout: MotionLayout = get_layout(self.config.layout)
        self.model_id = model_id
        self.style_presets = {k: np.asarray(v, np.float32) for k, v in (style_presets or {}).items()}
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
        net, model_id, presets, guidance = load_checkpoint(path, device)
        return cls(net, model_id, presets, device, guidance=guidance)

    @classmethod
    def untrained(cls, config: ModelConfig, device: str | torch.device = "cpu", seed: int = 0,
                  **options) -> MotionModel:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = ARTalk(config)
        digest = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True).encode()).hexdigest()[:8]
        return cls(net, f"untrained-{digest}-seed{seed}", {}, device, trained=False, **options)

    def save(self, path: str | Path) -> None:
        save_checkpoint(path, self.net, self.model_id, self.style_presets, self.guidance)

    def with_backend(self, backend: NetworkBackend) -> MotionModel:
        """The same model (weights, identity, presets, options) computed by another backend."""
        return MotionModel(self.net, self.model_id, self.style_presets, trained=self.trained,
                           encode_ahead=self.encode_ahead, whisper_dtype=self.whisper_dtype, backend=backend,
                           guidance=self.guidance)

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
            raise ValueError(f"model {self.model_id} was trained without a null audio condition: it supports "
                             f"guidance 1 (off) only, got {guidance}")
        return float(guidance)

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
        generators = [window_generator(o.seed, job.utterance, job.window) if o.temperature > 0 else None
                      for o, job in zip(opts, jobs)]  # greedy windows draw nothing
        bits_BND, motion_BWC = self.backend.generate(ada, style_BC, prev_BND, temperature_B, top_p_B, generators,
                                                     guidance_B)
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
        m_TC = torch.cat([torch.zeros(W, C, device=m_TC.device), m_TC, m_TC[-1:].expand(-T % W, C)])
        windows_nWC = m_TC.view(-1, W, C)
        bits_nND = self.net.autoencoder.encode(windows_nWC[:-1], windows_nWC[1:])[1]
        return torch.cat([self.net.initial_bits(), bits_nND[:-1]]), bits_nND

    @torch.inference_mode()
    def round_trip(self, motion_TC: np.ndarray) -> np.ndarray:
        """Motion (T, channels) through the autoencoder alone (`codes`, then decoded): the best
        that generated codes can express."""
        motion_nWC = self.net.denormalize(self.net.decode_bits(*self.codes(motion_TC)))
        return self.clamp(motion_nWC).reshape(-1, motion_TC.shape[1])[: len(motion_TC)].float().cpu().numpy()

    def animate(self, audio_16k: np.ndarray, options: StreamOptions = StreamOptions(),
                pipeline: bool = False) -> np.ndarray:
        """Offline: a whole utterance -> (ceil(samples / 640), channels) frames, equal to streaming it
        (within float rounding: the speech encoder runs over `encode_ahead` windows at once).

        pipeline: run the speech encoder in a helper thread, a chunk of windows ahead of the
        transformer (which is sequential over windows), each on one CPU thread, instead of
        running both one after the other on all of torch's threads. Same values; faster on
        a multi-core CPU, where the transformer's small matrix products use one core poorly."""
        stream = self.open_stream(options)
        stream.push_audio(audio_16k)
        if not pipeline or self.device.type != "cpu":
            return np.concatenate([stream.process(), stream.flush()])
        stream.end_audio()
        return self._animate_pipelined(stream)

    def _animate_pipelined(self, stream: MotionStream) -> np.ndarray:
        """Speech conditions are computed in fixed chunks of `encode_ahead` windows (so the
        values do not depend on timing) by a helper thread and, whenever the transformer
        would otherwise wait, by the calling thread too; each on one intra-op thread."""
        audio, audio_start = stream._audio, stream._audio_start  # the whole utterance, padded
        windows = stream._end[1]
        step = max(1, self.encode_ahead)
        chunks = [range(i, min(i + step, windows)) for i in range(0, windows, step)]
        done: dict[int, list] = {}
        state = {"claimed": 0, "consuming": 0, "error": None, "stop": False}
        cond = threading.Condition()

        def encode(k: int) -> None:
            with torch.inference_mode():
                ada = self.conditions([stream._window_audio(w, audio, audio_start) for w in chunks[k]])
            with cond:
                done[k] = [[a[i] for a in ada] for i in range(len(chunks[k]))]
                cond.notify_all()

        def claim(wait: bool) -> int | None:
            """The next chunk nobody encodes yet, at most 2 ahead of the transformer."""
            with cond:
                while state["claimed"] < len(chunks) and not state["stop"]:
                    if state["claimed"] <= state["consuming"] + 2:
                        state["claimed"] += 1
                        return state["claimed"] - 1
                    if not wait:
                        return None
                    cond.wait()
                return None

        def helper() -> None:
            try:
                while (k := claim(wait=True)) is not None:
                    encode(k)
            except BaseException as err:  # noqa: BLE001 - re-raised in the caller
                with cond:
                    state["error"] = err
                    cond.notify_all()

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        worker = threading.Thread(target=helper, name="artalk-encode-ahead", daemon=True)
        worker.start()
        try:
            empty = np.zeros(0, np.float32)
            for k, chunk in enumerate(chunks):
                with cond:
                    state["consuming"] = k
                    cond.notify_all()
                while True:
                    with cond:
                        if state["error"] is not None:
                            raise state["error"]
                        if k in done:
                            item = done.pop(k)
                            break
                    if (j := claim(wait=False)) is not None:
                        encode(j)  # rather than wait: encode a later chunk here
                    else:
                        with cond:
                            if k not in done and state["error"] is None:
                                cond.wait(0.05)
                for w, ada in zip(chunk, item):
                    self.run_windows([WindowJob(stream, stream._utterance, w, empty, stream._bits_ND, ada)])
        finally:
            with cond:
                state["stop"] = True
                cond.notify_all()
            worker.join()
            torch.set_num_threads(threads)
        return stream.close_utterance()


class MotionStream:
    """One session's stream. Not thread-safe; cheap to create."""

    def __init__(self, model: MotionModel, options: StreamOptions, style_C: torch.Tensor,
                 initial_bits_ND: torch.Tensor, guidance: float = 1.0):
        self.model, self.options, self.style_C, self.guidance = model, options, style_C, guidance
        self._bits_ND = initial_bits_ND  # motion context: the previous window's codes
        self._blinks = BlinkProcess(model.layout, blink_rate(options.style), options.seed)
        self._utterance = 0
        self._new_utterance()

    def _new_utterance(self) -> None:
        self._window = 0                          # next window to compute
        self._samples = 0                         # samples pushed in this utterance
        self._audio = np.zeros(0, np.float32)     # buffered tail of the utterance audio ...
        self._audio_start = 0                     # ... starting at this utterance sample
        self._frames: list[np.ndarray] = []       # completed, not yet popped
        self._ada: dict[int, list[torch.Tensor]] = {}  # conditions computed ahead, by window
        self._popped = 0                          # frames popped in this utterance
        self._handed_out = False                  # a job for the next window is out
        self._end: tuple[int, int] | None = None  # after end_audio(): (frames, windows) of the utterance

    def push_audio(self, samples_16k: np.ndarray) -> None:
        if self._end is not None and np.size(samples_16k):
            raise RuntimeError("audio pushed after end_audio(); close_utterance() first")
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

    def _window_audio(self, window: int, buffer: np.ndarray | None = None, buffer_start: int = 0) -> np.ndarray:
        """The window's speech encoder context, from the stream's audio (or `buffer`, whose
        first sample is utterance sample `buffer_start`)."""
        start, end = self.model.config.window.audio_span(window, self.model.frame_samples)
        return self._samples_between(start, end, buffer, buffer_start)

    def _samples_between(self, start: int, end: int, buffer: np.ndarray | None = None,
                         buffer_start: int = 0) -> np.ndarray:
        """Utterance samples [start, end), silence before the utterance."""
        if buffer is None:
            buffer, buffer_start = self._audio, self._audio_start
        return utterance_samples(buffer, start, end, buffer_start)

    def ready_windows(self) -> int:
        """How many windows, from the next one on, have all their audio."""
        fs, w = self.model.frame_samples, self.model.config.window
        if self._samples < self._window_end(self._window):
            return 0
        last = (self._samples // fs - w.frames - w.lookahead_frames) // w.frames  # last w with end <= samples
        return last - self._window + 1

    def _make_job(self, encode_ahead: int = 1) -> WindowJob:
        """The next window's job; with encode_ahead > 1 and more windows ready, their speech
        conditions are computed now in one batched pass and kept for their own jobs."""
        w = self._window
        if w not in self._ada and encode_ahead > 1:
            ahead = [v for v in range(w, w + min(encode_ahead, self.ready_windows())) if v not in self._ada]
            if len(ahead) > 1:
                ada = self.model.conditions([self._window_audio(v) for v in ahead])
                self._ada.update({v: [a[i] for a in ada] for i, v in enumerate(ahead)})
        return WindowJob(self, self._utterance, w, self._window_audio(w), self._bits_ND, self._ada.pop(w, None))

    @property
    def motion_codes(self) -> torch.Tensor:
        """Codes (N, D) of the window computed last: the next window's motion context."""
        return self._bits_ND

    @property
    def has_ready_job(self) -> bool:
        """ready_jobs() would return a job."""
        return not self._handed_out and self._ready()

    @property
    def next_window_end(self) -> int:
        """Utterance samples the next window needs (its end, lookahead included)."""
        return self._window_end(self._window)

    def ready_jobs(self, encode_ahead: int | None = None) -> list[WindowJob]:
        """The next window if its audio is complete and it is not already handed out.
        `encode_ahead` (default: the model's) bounds how many ready windows' speech
        conditions are computed together with it."""
        if self._handed_out or not self._ready():
            return []
        self._handed_out = True
        return [self._make_job(self.model.encode_ahead if encode_ahead is None else encode_ahead)]

    def _commit(self, job: WindowJob, bits_ND: torch.Tensor, frames_WC: np.ndarray) -> None:
        if job.utterance != self._utterance or job.window != self._window:
            return  # stale: cancelled, flushed, or computed twice
        self._bits_ND, self._handed_out = bits_ND, False
        fs, W = self.model.frame_samples, self.model.window_frames
        end = self._window_end(job.window)  # the window's own audio and its lookahead
        self._blinks.layer(frames_WC, self._samples_between(job.window * W * fs, end))
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
            self.model.run_windows([self._make_job(self.model.encode_ahead)])
        return self.pop_frames()

    def flush(self) -> np.ndarray:
        """End of utterance: finish it on padded silence and return its remaining frames, so that
        it has exactly ceil(samples / 640) frames. The next utterance keeps the motion context."""
        self.end_audio()
        self.run_to_end()
        return self.close_utterance()

    def run_to_end(self) -> None:
        """After end_audio(): compute the utterance's remaining windows here (unbatched)."""
        while not self.end_complete:
            self.model.run_windows([self._make_job(self.model.encode_ahead)])

    # The three steps of flush(), for a scheduler that runs the last windows batched:
    def end_audio(self) -> None:
        """No more audio in this utterance: pad silence so that its last window becomes ready.
        Frames past ceil(samples / 640) are never popped."""
        if self._end is not None:
            return
        fs, W = self.model.frame_samples, self.model.window_frames
        num_frames = -(-self._samples // fs)
        num_windows = -(-num_frames // W)
        if num_windows:
            self.push_audio(np.zeros(max(0, self._window_end(num_windows - 1) - self._samples), np.float32))
        self._end = (num_frames, num_windows)

    @property
    def ending(self) -> bool:
        return self._end is not None

    @property
    def end_complete(self) -> bool:
        """end_audio() was called and every window of the utterance is computed."""
        return self._end is not None and self._window >= self._end[1]

    def close_utterance(self) -> np.ndarray:
        """After end_complete: the utterance's remaining frames; the next utterance begins."""
        frames = self.pop_frames()
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
        if self._end is not None:  # the padding's frames
            frames = frames[: max(0, self._end[0] - self._popped)]
        self._popped += len(frames)
        return frames

"""Offline speed: real-time factor of `MotionModel.animate`, and where a window's time goes."""

from __future__ import annotations

import time

import numpy as np
import torch

from artalk_service.bench.pipeline import animate_pipelined
from artalk_service.model import MotionModel, StreamOptions
from artalk_service.timebase import SAMPLE_RATE


def _sync(model: MotionModel) -> None:
    if model.backend.name == "torch" and model.device.type == "cuda":  # onnxruntime returns host arrays: synced
        torch.cuda.synchronize(model.device)


def _timed(model: MotionModel, fn, repeats: int):
    """-> (milliseconds per call after one warm-up call, the last result)."""
    fn()
    _sync(model)
    t0 = time.perf_counter()
    for _ in range(repeats):
        result = fn()
    _sync(model)
    return 1000 * (time.perf_counter() - t0) / repeats, result


def offline_rtf(model: MotionModel, audio: np.ndarray, repeats: int = 3, pipeline: bool = True) -> dict:
    """One stream, whole utterance known up front (speech encoder batched over its windows;
    with `pipeline`, in a helper thread ahead of the transformer)."""
    animate = animate_pipelined if pipeline else MotionModel.animate
    animate(model, audio[:SAMPLE_RATE], StreamOptions())  # warm-up
    times = []
    for _ in range(repeats):
        _sync(model)
        t0 = time.perf_counter()
        frames = animate(model, audio, StreamOptions())
        _sync(model)
        times.append(time.perf_counter() - t0)
    seconds = audio.size / model.sample_rate
    best, median = min(times), float(np.median(times))
    return {
        "audio_seconds": seconds,
        "frames": int(len(frames)),
        "wall_seconds": times,
        "pipeline": pipeline,
        "rtf_best": seconds / best,
        "rtf_median": seconds / median,
        "window_ms_median": 1000 * median / max(1, -(-len(frames) // model.window_frames)),
    }


def deviation(model: MotionModel, audio: np.ndarray) -> dict:
    """Frames of the model's current speed mode against its exact (float32) math."""
    fast = model.animate(audio, StreamOptions())
    mode, model.whisper_dtype = model.whisper_dtype, None
    try:
        exact = model.animate(audio, StreamOptions())
    finally:
        model.whisper_dtype = mode
    diff = np.abs(fast - exact)
    return {
        "mean_abs": float(diff.mean()),
        "max_abs": float(diff.max()),
        "p99_abs": float(np.percentile(diff, 99)),
        "channel_std": float(exact.std(0).mean()),
    }


@torch.inference_mode()
def profile_window(model: MotionModel, batch_sizes=(1, 8, 32), repeats: int = 5) -> list[dict]:
    """Milliseconds per model step for B windows at once, split into its parts: speech
    encoder (log-mel + Whisper), conditions (adapter + AdaLN modulations), the transformer's
    scale steps with sampling, and the autoencoder's decode. Other backends: profile_backend."""
    if model.backend.name != "torch":
        return profile_backend(model, batch_sizes, repeats)
    net, cfg = model.net, model.config
    S = cfg.window.context_frames * model.frame_samples
    N, D = cfg.window.num_tokens, cfg.autoencoder.latent_dim
    out = []
    rows, halves, cur = net.condition_rows()
    for B in batch_sizes:
        audio = torch.randn(B, S, device=model.device) * 0.1
        style = model.open_stream(StreamOptions()).style_C.expand(B, -1).contiguous()
        prev = torch.zeros(B, N, D, dtype=torch.bool, device=model.device)
        temp = torch.zeros(B, device=model.device)
        top_p = torch.ones(B, device=model.device)
        guidance = torch.full((B,), model.guidance, device=model.device)  # the default streams get
        gens = [torch.Generator() for _ in range(B)]
        whisper_ms, feats = _timed(model, lambda: net.speech.whisper_features(audio, rows), repeats)
        cond_ms, ada = _timed(model, lambda: net.conditions(audio), repeats)
        step_ms, _ = _timed(model, lambda: net.generate_from(ada, style, prev, temp, top_p, gens, guidance), repeats)
        latent = net.autoencoder.quantizer.bits_to_latent(prev)
        decode_ms, _ = _timed(model, lambda: net.autoencoder.decode(latent, latent), repeats)
        total_ms, _ = _timed(model, lambda: net.generate(audio, style, prev, temp, top_p, gens, guidance), repeats)
        out.append(
            {
                "batch": B,
                "total_ms": total_ms,
                "whisper_ms": whisper_ms,
                "adapter_and_modulations_ms": max(0.0, cond_ms - whisper_ms),
                "transformer_steps_ms": max(0.0, step_ms - decode_ms),
                "decode_ms": decode_ms,
                "per_window_ms": total_ms / B,
            }
        )
    return out


def profile_backend(model: MotionModel, batch_sizes=(1, 8, 32), repeats: int = 5) -> list[dict]:
    """Milliseconds per model step for B windows at once through the backend interface (any
    backend): the speech encoder with the AdaLN modulations, then the scale steps with
    sampling and the decode."""
    cfg, device = model.config, model.backend.tensor_device
    S, N, D = cfg.window.context_frames * model.frame_samples, cfg.window.num_tokens, cfg.autoencoder.latent_dim
    rng, out = np.random.default_rng(0), []
    for B in batch_sizes:
        audio = (0.1 * rng.standard_normal((B, S))).astype(np.float32)
        style = model.open_stream(StreamOptions()).style_C.expand(B, -1).contiguous()
        prev = torch.zeros(B, N, D, dtype=torch.bool, device=device)
        temp, top_p = torch.zeros(B, device=device), torch.ones(B, device=device)
        guidance = torch.full((B,), model.guidance, device=device)  # the default streams get
        cond_ms, ada = _timed(model, lambda: model.backend.conditions(audio), repeats)
        gen_ms, _ = _timed(
            model, lambda: model.backend.generate(ada, style, prev, temp, top_p, [None] * B, guidance), repeats
        )
        out.append(
            {
                "batch": B,
                "total_ms": cond_ms + gen_ms,
                "conditions_ms": cond_ms,
                "generate_ms": gen_ms,
                "per_window_ms": (cond_ms + gen_ms) / B,
            }
        )
    return out

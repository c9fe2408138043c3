"""Parity of the exported graphs with PyTorch, on real speech.

Every graph call the onnxruntime backend makes while animating the clips is repeated by
the torch module it was exported from, on the same inputs; each output's largest absolute
difference is kept. Separately, both backends decode every clip greedily, each from its own
state, and their codes must be identical in every window of every clip. The style and
motion encoders run on each clip's PyTorch motion. Tolerances: see TOLERANCES.
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from artalk_service.export.graphs import model_graphs
from artalk_service.export.onnx_backend import OnnxBackend
from artalk_service.model import MotionModel, StreamOptions
from artalk_service.timebase import SAMPLE_RATE

# Largest absolute difference allowed per graph output, ONNX Runtime (CPU provider) against
# PyTorch on the same inputs; about 10x what the bundled model shows (README, "ONNX export
# and backends"). Bit outputs (the autoencoder's encoder) are scored by their share of
# mismatched bits; every greedy code must match. Frames may differ by float rounding only
# because their codes match.
TOLERANCES = {
    "speech_encoder": 1e-4,  # AdaLN modulations, magnitudes up to ~10
    "null_conditions": 1e-4,  # the same, of the null audio (models trained with one)
    "style_encoder": 1e-5,
    "token_embed": 1e-5,
    "transformer_step": 1e-4,  # logits and the key/value cache
    "autoencoder_encoder": 1e-2,  # share of mismatched bits: a residual within float rounding of 0 may
    # take the other sign, and the later scales follow it (the service
    # encodes only the rest pose; the greedy codes below must match exactly)
    "autoencoder_decoder": 1e-5,  # frames in layout units (blendshapes 0-1, radians)
    "frames": 1e-5,  # whole clips, end to end
}


class ParityFailed(RuntimeError):
    """An exported graph disagrees with PyTorch beyond its tolerance."""


def speech_clips(count: int, seed: int = 0, max_seconds: float = 5.0) -> tuple[list[np.ndarray], str]:
    """`count` seeded 16 kHz speech clips: espeak-ng voices (every accent and variant) reading
    fortune sentences at varied rates -> (clips, where they came from). Without espeak-ng
    or the fortunes, bench's synthetic speech stands in (and the source says so)."""
    from artalk_service.data.engines import SpeakingParams, get_engine
    from artalk_service.data.text import load_text_pool

    rng = np.random.default_rng(seed)
    try:
        engine, pool = get_engine("espeak"), load_text_pool()
        voices = engine.voices()
        source = f"{engine.version()} reading {pool.source}"
    except OSError as err:
        from artalk_service.audio.sample_speech import sample_speech

        return [sample_speech(max_seconds, seed + i) for i in range(count)], f"synthetic ({err})"
    clips = []
    for _ in tqdm(range(count), desc="speech clips", unit="clip", disable=None):
        text, voice = pool.utterance(rng), voices[int(rng.integers(len(voices)))]
        synthesis = engine.synthesize(text, voice, SpeakingParams(rate=float(rng.uniform(0.8, 1.3))))
        clips.append(synthesis.audio[: int(max_seconds * SAMPLE_RATE)])
    return clips, source


def greedy_codes(model: MotionModel, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An utterance decoded greedily -> (codes of every window (windows, N, D), frames)."""
    stream = model.open_stream(StreamOptions())
    stream.push_audio(audio)
    stream.end_audio()
    codes = []
    while not stream.end_complete:
        model.run_windows(stream.ready_jobs())
        codes.append(stream.motion_codes.cpu().numpy())
    return np.stack(codes), stream.close_utterance()


def measure_parity(model: MotionModel, onnx: OnnxBackend, clips: list[np.ndarray]) -> dict:
    """Parity figures of `onnx` (an export of `model`, which runs on torch) on `clips`."""
    graphs = {graph.name: graph for graph in model_graphs(model.net)}
    max_diff: dict[str, dict[str, float]] = {name: {} for name in graphs}

    def compare(name: str, feeds: dict, outputs: list) -> None:
        graph = graphs[name]
        with torch.inference_mode():
            expected = graph.module(*(torch.from_numpy(feeds[i]) for i in graph.inputs))
        for out, got, want in zip(graph.outputs, outputs, expected if isinstance(expected, tuple) else (expected,)):
            want = want.numpy()
            diff = np.mean(got != want) if want.dtype == bool else np.abs(got - want).max(initial=0.0)
            max_diff[name][out] = max(max_diff[name].get(out, 0.0), float(diff))

    onnx_model = model.with_backend(onnx)
    onnx.on_run = compare
    windows = same_windows = same_clips = 0
    frames_diff = 0.0
    try:
        if "null_conditions" in graphs:  # read once at load time, before this check listens
            onnx.run("null_conditions")
        for audio in tqdm(clips, desc="parity with PyTorch", unit="clip", disable=None):
            want_codes, want_frames = greedy_codes(model, audio)
            got_codes, got_frames = greedy_codes(onnx_model, audio)
            windows += len(want_codes)
            same_windows += int(np.sum(np.all(want_codes == got_codes, axis=(1, 2))))
            if np.array_equal(want_codes, got_codes):
                same_clips += 1
                frames_diff = max(frames_diff, float(np.abs(want_frames - got_frames).max(initial=0.0)))
            # the style and motion encoders (once per session / model at run time) on real motion
            onnx.style(want_frames)
            motion_WC = model.net.normalize(torch.from_numpy(want_frames)).numpy()
            W = model.window_frames
            pairs = np.stack([motion_WC[i : i + 2 * W] for i in range(0, len(motion_WC) - 2 * W + 1, W)])
            if len(pairs):
                onnx.run("autoencoder_encoder", prev_motion=pairs[:, :W].copy(), motion=pairs[:, W:].copy())
    finally:
        onnx.on_run = None
    return {
        "max_abs_diff": max_diff,
        "frames_max_abs_diff": frames_diff,
        "greedy": {
            "clips": len(clips),
            "clips_identical": same_clips,
            "windows": windows,
            "windows_identical": same_windows,
        },
        "tolerances": TOLERANCES,
    }


def check_parity(parity: dict) -> None:
    """Raise ParityFailed unless every figure is within TOLERANCES and all greedy codes match."""
    problems = [
        f"{graph}.{out}: {diff:.3g} > {TOLERANCES[graph]:.3g}"
        for graph, outputs in parity["max_abs_diff"].items()
        for out, diff in outputs.items()
        if diff > TOLERANCES[graph]
    ]
    if parity["frames_max_abs_diff"] > TOLERANCES["frames"]:
        problems.append(f"frames: {parity['frames_max_abs_diff']:.3g} > {TOLERANCES['frames']:.3g}")
    greedy = parity["greedy"]
    if greedy["clips_identical"] != greedy["clips"]:
        problems.append(
            f"greedy codes differ in {greedy['clips'] - greedy['clips_identical']} of "
            f"{greedy['clips']} clips ({greedy['windows'] - greedy['windows_identical']} windows)"
        )
    if problems:
        raise ParityFailed("ONNX export does not match PyTorch: " + "; ".join(problems))

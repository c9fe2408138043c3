"""Where the sync lag comes from: the model's stages taken apart on held-out clips.

    python -m artalk_service.eval.lag --data corpus [--model M] [--clips 60] [--out lag.json]

Systems, each scored by `metrics.evaluate` against the targets:
- autoencoder: the targets through the autoencoder alone (`MotionModel.round_trip`);
- teacher_forced: stage 2 given every window's true previous-window codes, greedy;
- no_context: the same with the rest pose's codes as every previous window (decoded with the
  true ones): what the previous window's codes add to the lag;
- free_running: `MotionModel.animate`, what the service streams.
Each also gets a lag per frame position in the window: the least-squares shift that explains
the lip-gap error by the target's slope (error ~ -lag * slope), > 0 = late. It is rougher than
the cross-correlation lag (smoothing also leaves an error along the slope) but tells the
positions apart. Writes JSON (--out) and prints a table.
"""

from __future__ import annotations

import json

import numpy as np
import torch

from ..data.articulation import lip_gap
from ..model import MotionModel, StreamOptions
from ..model.stream import utterance_samples
from .cli import eval_parser, heldout_clips, parse_eval_args
from .metrics import Clip, evaluate

SYSTEMS = ("autoencoder", "teacher_forced", "no_context", "free_running")


@torch.inference_mode()
def stage2_given_codes(
    model: MotionModel,
    ada: list[torch.Tensor],
    style_C: torch.Tensor,
    prev_nND: torch.Tensor,
    decode_prev_nND: torch.Tensor,
) -> np.ndarray:
    """Every window of a clip at once (`ada`: their conditions), greedy, with the given
    previous-window codes; decoded after `decode_prev_nND`. -> (windows * W, channels)"""
    net, n = model.net, len(prev_nND)
    bits_nND, _ = net.generate_from(ada, style_C.expand(n, -1), prev_nND, torch.zeros(n), torch.ones(n), [None] * n)
    motion_nWC = model.clamp(net.denormalize(net.decode_bits(decode_prev_nND, bits_nND)))
    return motion_nWC.flatten(0, 1).numpy()


def lag_by_position(clips: list[Clip], window: int) -> list[float]:
    """Least-squares lip-gap lag (ms) of each frame position in the window."""
    num, den = np.zeros(window), np.zeros(window)
    for clip in clips:
        ref = lip_gap(clip.reference)
        err = lip_gap(clip.motion[: len(ref)]) - ref
        slope = np.gradient(ref) * 25  # per second
        pos = np.arange(len(ref)) % window
        np.add.at(num, pos, -err * slope)
        np.add.at(den, pos, slope * slope)
    return [round(float(v), 1) for v in 1000 * num / np.maximum(den, 1e-12)]


def diagnose(model: MotionModel, samples: list) -> dict:
    outputs = {name: [] for name in SYSTEMS}
    rest_ND = model.net.initial_bits()[0]
    style_C = model.open_stream(StreamOptions()).style_C  # no style, as animate() below
    for i, s in enumerate(samples):
        prev_nND, _ = model.codes(s.motion)
        T, span = len(s.motion), model.config.window.audio_span
        contexts = [utterance_samples(s.audio, *span(w, model.frame_samples)) for w in range(len(prev_nND))]
        ada = model.conditions(contexts)  # once per clip: both stage-2 runs read the same audio
        outputs["autoencoder"].append(model.round_trip(s.motion))
        outputs["teacher_forced"].append(stage2_given_codes(model, ada, style_C, prev_nND, prev_nND)[:T])
        outputs["no_context"].append(stage2_given_codes(model, ada, style_C, rest_ND.expand_as(prev_nND), prev_nND)[:T])
        outputs["free_running"].append(model.animate(s.audio, StreamOptions(seed=i)))
    report = {}
    for name, motions in outputs.items():
        clips = [Clip(m, s.segments, s.motion) for m, s in zip(motions, samples)]
        r = evaluate(clips)
        report[name] = {
            k: r[k] for k in ("mouth_mean_err", "closure_rate", "opening_rate", "sync_lag_ms", "sync_lag_ci_ms")
        }
        report[name]["lag_by_position_ms"] = lag_by_position(clips, model.window_frames)
    return report


def main(argv: list[str] | None = None) -> None:
    p = eval_parser("python -m artalk_service.eval.lag", __doc__)
    p.add_argument("--out", help="JSON output")
    args = parse_eval_args(p, argv)
    model = MotionModel.load(args.model)
    report = {"model_id": model.model_id, "clips": args.clips, **diagnose(model, heldout_clips(args.data, args.clips))}
    print(f"{'system':16} {'mouth err':>9} {'closure':>8} {'lag ms':>7}  lag by frame position in the window (ms)")
    for name in SYSTEMS:
        r = report[name]
        print(
            f"{name:16} {r['mouth_mean_err']:9.4f} {r['closure_rate']:8.3f} {r['sync_lag_ms']:7.0f}  "
            + " ".join(f"{v:6.1f}" for v in r["lag_by_position_ms"])
        )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()

"""Quality against the classifier-free guidance scale of the audio, for a model trained with a
null audio condition: what to install as its default (`artalk-train install --guidance G`).

    python -m artalk_service.eval.guidance --data corpus --model M [--scales 1,1.5,2,3]
        [--clips 60] [--real DIR] [--out guidance.json]

The model animates the same held-out clips (and real recordings, with --real) at each scale;
each row is `metrics.evaluate` against the targets (aligned phones for real speech), as in
artalk-eval. Writes JSON (--out) and prints a table.
"""

from __future__ import annotations

import json

from ..model import MotionModel, StreamOptions
from .cli import eval_parser, heldout_clips, parse_eval_args, real_clips
from .metrics import Clip, evaluate


def sweep(model: MotionModel, scales: list[float], audio: list, segments: list, references: list) -> dict:
    """Metrics of the model's output at each guidance scale, on the same clips."""
    out = {}
    for g in scales:
        motions = [model.animate(a, StreamOptions(seed=i, guidance=g)) for i, a in enumerate(audio)]
        out[f"{g:g}"] = evaluate([Clip(m, s, r) for m, s, r in zip(motions, segments, references)])
    return out


def main(argv: list[str] | None = None) -> None:
    p = eval_parser("python -m artalk_service.eval.guidance", __doc__)
    p.add_argument("--scales", default="1,1.5,2,3", help="guidance scales, comma-separated")
    p.add_argument("--real", help="directory of real recordings: NAME.wav + NAME.txt transcript")
    p.add_argument("--out", help="JSON output")
    args = parse_eval_args(p, argv)
    model = MotionModel.load(args.model)
    scales = [float(v) for v in args.scales.split(",")]
    for g in scales:
        try:
            model.check_guidance(g)
        except ValueError as err:
            p.error(str(err))
    samples = heldout_clips(args.data, args.clips)
    report = {
        "model_id": model.model_id,
        "clips": len(samples),
        "scales": scales,
        "heldout": sweep(
            model, scales, [s.audio for s in samples], [s.segments for s in samples], [s.motion for s in samples]
        ),
    }
    if args.real:
        real = real_clips(args.real)
        report["real_files"] = len(real.files)
        report["real"] = sweep(model, scales, real.audio, real.segments, real.references)
    print(
        f"{'guidance':>8} | {'mouth err':>9} {'closure (95 %)':>20} {'opening':>7} {'vowel shut':>10} "
        f"{'round AUC':>9} {'lag ms (95 %)':>15}" + (" | real: mouth err closure lag ms" if args.real else "")
    )
    for g in report["heldout"]:
        r = report["heldout"][g]
        line = (
            f"{g:>8} | {r['mouth_mean_err']:9.4f} {r['closure_rate']:7.3f} ({r['closure_ci'][0]:.3f}-"
            f"{r['closure_ci'][1]:.3f}) {r['opening_rate']:7.3f} {r['vowel_closure_rate']:10.3f} "
            f"{r['rounding_auc']:9.3f} {r['sync_lag_ms']:5.0f} ({r['sync_lag_ci_ms'][0]:.0f} to "
            f"{r['sync_lag_ci_ms'][1]:.0f})"
        )
        if args.real:
            q = report["real"][g]
            line += f" | {q['mouth_mean_err']:9.4f} {q['closure_rate']:7.3f} {q['sync_lag_ms']:6.0f}"
        print(line)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()

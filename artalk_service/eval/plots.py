"""Plots for checking a run by eye: learning curves, and predicted against target mouth
curves over a clip's phones.

    python -m artalk_service.eval.plots curves runs/default/log.jsonl runs/default/curves.png
    python -m artalk_service.eval.plots clip --model M --data corpus --index 0 --out clip.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def learning_curves(log_path: str | Path, out: str | Path) -> None:
    records = [json.loads(line) for line in Path(log_path).read_text().splitlines() if line.strip()]
    plt = _plt()
    panels = [
        ("vq", ["loss", "l1", "velocity", "lip_gap"], ["eval_loss", "eval_l1", "eval_mae_mouth"]),
        ("ar", ["loss"], ["eval_loss", "gen_mae_mouth", "gen_mae_head"]),
        ("ar", ["bit_accuracy", "finest_scale_accuracy"], ["eval_bit_accuracy", "eval_finest_scale_accuracy"]),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4))
    for ax, (stage, train_keys, eval_keys) in zip(axes, panels):
        for keys, style in ((train_keys, "-"), (eval_keys, "o-")):
            for k in keys:
                pts = [(r["step"], r[k]) for r in records if r.get("stage") == stage and k in r and "step" in r]
                if pts:
                    ax.plot(*zip(*pts), style, label=k, ms=3)
        ax.set_title(stage)
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def clip_plot(
    pred: np.ndarray,
    target: np.ndarray | None,
    segments,
    out: str | Path,
    title: str = "",
    others: dict[str, np.ndarray] | None = None,
) -> None:
    """Lip gap, JawOpen and rounding (funnel + pucker) of pred (and target, baselines) with
    the phones written along the time axis; p/b/m shaded."""
    from ..data.articulation import lip_gap
    from ..data.phones import BILABIALS
    from ..layout import ARKIT61

    plt = _plt()
    t = (np.arange(len(pred)) + 0.5) / 25
    rows = [
        ("lip gap", lip_gap),
        ("JawOpen", lambda m: m[:, ARKIT61.index("JawOpen")]),
        ("funnel+pucker", lambda m: m[:, ARKIT61.index("MouthFunnel")] + m[:, ARKIT61.index("MouthPucker")]),
    ]
    fig, axes = plt.subplots(len(rows), 1, figsize=(max(10, len(pred) / 12), 7), sharex=True)
    for ax, (name, f) in zip(axes, rows):
        if target is not None:
            ax.plot(t, f(target[: len(pred)]), "k-", lw=2, label="target")
        ax.plot(t, f(pred), "r-", lw=1.5, label="model")
        for label, m in (others or {}).items():
            ax.plot(t, f(m[: len(pred)]), "--", lw=1, label=label)
        for s in segments:
            phone, start, end = (s.phone, s.start, s.end) if hasattr(s, "phone") else s
            if phone in BILABIALS:
                ax.axvspan(start, end, color="orange", alpha=0.25)
            if name == "lip gap" and phone != "sil":
                ax.text((start + end) / 2, 0.95, phone, fontsize=7, ha="center", transform=ax.get_xaxis_transform())
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper right")
    axes[0].set_title(title)
    axes[-1].set_xlabel("s")
    fig.tight_layout()
    fig.savefig(out, dpi=80)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m artalk_service.eval.plots",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("curves")
    c.add_argument("log")
    c.add_argument("out")
    k = sub.add_parser("clip")
    k.add_argument("--model", required=True)
    k.add_argument("--data", help="corpus (held-out clip --index)")
    k.add_argument("--index", type=int, default=0)
    k.add_argument("--wav", help="a wav instead, with --text for forced alignment")
    k.add_argument("--text")
    k.add_argument("--baselines", action="store_true")
    k.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if args.cmd == "curves":
        learning_curves(args.log, args.out)
        return
    from ..model import MotionModel, StreamOptions
    from ..timebase import num_frames
    from . import baselines

    model = MotionModel.load(args.model)
    if args.wav:
        from ..audio.wav import load_wav_16k

        audio = load_wav_16k(Path(args.wav))
        segments = baselines.align_phones(audio, args.text)
        target, title = baselines.articulated_motion(segments, num_frames(len(audio))), Path(args.wav).name
    else:
        from ..data.dataset import iter_samples

        s = next(x for i, x in enumerate(iter_samples(args.data, "heldout")) if i == args.index)
        audio, segments, target, title = s.audio, s.segments, s.motion, f"{s.sample_id} {s.voice} {s.style}: {s.text}"
    others = {}
    if args.baselines:
        others = {
            "energy_jaw": baselines.energy_jaw(audio),
            "recognised_phones": baselines.recognised_phones_motion(audio),
        }
    clip_plot(model.animate(audio, StreamOptions()), target, segments, args.out, title[:150], others)


if __name__ == "__main__":
    main()

"""artalk-eval: lip-sync and motion metrics of a model and the baselines on the same clips.

    artalk-eval --model M --data corpus/ [--clips 60] [--real DIR] [--styles] [--rest] [--guidance G] [--out eval.json]

Held-out corpus clips (voices never trained on) are compared with their targets. With
--real DIR (wav files, each with a .txt transcript beside it) real recordings are
evaluated too, against the articulation model driven by force-aligned phones. --styles
adds the style table: every preset on the same clips, style classification accuracy
(nearest centroid of per-clip channel statistics of the targets) and distances. --rest
adds the rest table (`eval.rest`): lip aperture over 0.5-5 s of silence, noise or babble
before held-out speech, against the aperture in the speech.
Writes JSON (default <model dir>/eval.json) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio.wav import load_wav_16k
from ..model import MotionModel, StreamOptions, default_model_path
from ..timebase import num_frames
from . import baselines
from .metrics import Clip, evaluate

COLUMNS = [
    ("mouth_mean_err", "mouth err", ".4f"),
    ("mouth_max_err", "mouth max", ".3f"),
    ("closure_rate", "closure", ".3f"),
    ("opening_rate", "opening", ".3f"),
    ("vowel_closure_rate", "vowel shut", ".3f"),
    ("rounding_auc", "round AUC", ".3f"),
    ("sync_lag_ms", "lag ms", ".0f"),
    ("fdd", "FDD", ".4f"),
    ("blinks_per_min", "blinks/min", ".1f"),
    ("head_std_deg", "head std°", ".2f"),
]


@dataclass
class RealClips:
    """Real recordings with their references: the articulation model on their phones."""

    files: list[str]
    audio: list[np.ndarray]
    segments: list
    references: list[np.ndarray]
    unaligned: list[str]  # files whose transcript would not align: recognised phones stand in


def real_clips(folder: str) -> RealClips:
    """NAME.wav + NAME.txt transcript pairs, force-aligned (recognised phones where that fails)."""
    wavs = sorted(Path(folder).glob("*.wav"))
    audio = [load_wav_16k(w) for w in wavs]
    segments, unaligned = [], []
    for a, w in zip(audio, wavs):
        try:
            segments.append(baselines.align_phones(a, w.with_suffix(".txt").read_text().strip()))
        except baselines.AlignmentError as err:  # keep the file, with recognised phones as reference
            print(f"warning: {w.name}: {err}; using recognised phones as its reference", file=sys.stderr)
            segments.append(baselines.recognise_phones(a))
            unaligned.append(w.name)
    refs = [baselines.articulated_motion(s, num_frames(len(a))) for s, a in zip(segments, audio)]
    return RealClips([w.name for w in wavs], audio, segments, refs, unaligned)


def heldout_clips(data: str, count: int, split: str = "heldout") -> list:
    """`count` samples spread evenly over the split (both held-out voices, all styles)."""
    from ..data.dataset import iter_samples

    samples = list(iter_samples(data, split))
    if count and count < len(samples):
        samples = [samples[i] for i in np.linspace(0, len(samples) - 1, count).round().astype(int)]
    return samples


def run_systems(
    model: MotionModel,
    audio: list[np.ndarray],
    segments: list,
    references: list,
    reference_name: str,
    round_trip: bool = False,
) -> dict:
    """round_trip: add the references through the model's autoencoder alone (for corpus targets,
    which are in the model's motion space): what stage 2 could reach with perfect codes."""
    outputs = {
        # a seed per clip: greedy decoding draws nothing, but blink timing comes from the seed
        "model": [model.animate(a, StreamOptions(seed=i)) for i, a in enumerate(audio)],
        "energy_jaw": [baselines.energy_jaw(a) for a in audio],
        "recognised_phones": [baselines.recognised_phones_motion(a) for a in audio],
        **({"autoencoder": [model.round_trip(r) for r in references]} if round_trip else {}),
        reference_name: references,
    }
    return {
        name: evaluate([Clip(m, s, r) for m, s, r in zip(motions, segments, references)])
        for name, motions in outputs.items()
    }


def style_features(motion: np.ndarray) -> np.ndarray:
    return np.concatenate([motion.mean(0), motion.std(0)])


def style_table(model: MotionModel, samples: list, clips: int) -> dict:
    """Every preset on the same clips: nearest-centroid style accuracy and distances."""
    presets = sorted(model.style_presets)
    feats = np.stack([style_features(s.motion) for s in samples])
    mu, sd = feats.mean(0), feats.std(0) + 1e-6
    labels = [s.style for s in samples]
    centroids = {
        st: ((feats[[i for i, label in enumerate(labels) if label == st]] - mu) / sd).mean(0)
        for st in sorted(set(labels))
    }
    chosen = samples[:clips]
    outputs = {p: [model.animate(s.audio, StreamOptions(style=p)) for s in chosen] for p in presets}
    outputs["(none)"] = [model.animate(s.audio, StreamOptions()) for s in chosen]
    accuracy, predicted = {}, {}
    for p in presets:
        guesses = []
        for m in outputs[p]:
            f = (style_features(m) - mu) / sd
            guesses.append(min(centroids, key=lambda c: np.abs(f - centroids[c]).mean()))
        accuracy[p] = float(np.mean([g == p for g in guesses])) if p in centroids else float("nan")
        predicted[p] = guesses
    names = presets + ["(none)"]
    distance = [
        [float(np.mean([np.abs(a - b).mean() for a, b in zip(outputs[i], outputs[j])])) for j in names] for i in names
    ]
    return {
        "presets": presets,
        "clips": len(chosen),
        "accuracy": accuracy,
        "mean_accuracy": float(np.nanmean(list(accuracy.values())))
        if centroids.keys() & set(presets)
        else float("nan"),
        "chance": 1 / max(1, len(centroids)),
        "predicted": predicted,
        "distance_names": names,
        "distance": distance,
    }


def format_intervals(results: dict) -> str:
    """The bootstrap intervals (95 %, clips resampled) of closure and lag, a line per system."""
    lines = ["95 % intervals (bootstrap over clips):"]
    for name, m in results.items():
        if "closure_ci" in m and "sync_lag_ci_ms" in m:
            (c0, c1), (l0, l1) = m["closure_ci"], m["sync_lag_ci_ms"]
            lines.append(f"  {name.ljust(18)} closure [{c0:.3f}, {c1:.3f}]  lag [{l0:.0f}, {l1:.0f}] ms")
    return "\n".join(lines)


def format_table(results: dict, title: str) -> str:
    lines = [title, " | ".join(["system".ljust(18)] + [c[1].rjust(10) for c in COLUMNS])]
    for name, m in results.items():
        cells = []
        for key, _, fmt in COLUMNS:
            v = m.get(key, float("nan"))
            cells.append(("–" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt)).rjust(10))
        lines.append(" | ".join([name.ljust(18)] + cells))
    return "\n".join(lines)


def eval_parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """The arguments the evaluation tools share: a model, a corpus, how many held-out clips,
    torch threads (parse with `parse_eval_args`)."""
    p = argparse.ArgumentParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(default_model_path()), help="model .safetensors (default: bundled)")
    p.add_argument("--data", required=True, help="corpus directory with a heldout split")
    p.add_argument("--clips", type=int, default=60, help="held-out clips, spread over the split (0 = all)")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    return p


def parse_eval_args(p: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    args = p.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    return args


def main(argv: list[str] | None = None) -> None:
    p = eval_parser("artalk-eval", __doc__)
    p.add_argument("--split", default="heldout")
    p.add_argument(
        "--audio",
        choices=["augmented", "clean"],
        default="augmented",
        help="the corpus audio as augmented for training, or before augmentation",
    )
    p.add_argument("--real", help="directory of real recordings: NAME.wav + NAME.txt transcript")
    p.add_argument("--styles", action="store_true", help="add the style table")
    p.add_argument("--style-clips", type=int, default=8)
    p.add_argument("--rest", action="store_true", help="add the rest table (python -m artalk_service.eval.rest)")
    p.add_argument("--rest-clips", type=int, default=12)
    p.add_argument(
        "--guidance", type=float, help="classifier-free guidance of the audio (default: the model's; 1 = off)"
    )
    p.add_argument("--out", help="JSON output (default: eval.json beside the model)")
    args = parse_eval_args(p, argv)

    t0 = time.time()
    model = MotionModel.load(args.model)
    if args.guidance is not None:
        model.guidance = model.check_guidance(args.guidance)
    samples = heldout_clips(args.data, args.clips, args.split)
    audio = [s.audio if args.audio == "augmented" else s.audio_clean for s in samples]
    report = {
        "model": str(args.model),
        "model_id": model.model_id,
        "guidance": model.guidance,
        "data": str(args.data),
        "split": args.split,
        "audio": args.audio,
        "voices": sorted({s.voice for s in samples}),
    }
    report["heldout"] = run_systems(
        model, audio, [s.segments for s in samples], [s.motion for s in samples], "targets", round_trip=True
    )
    print(
        format_table(
            report["heldout"],
            f"held-out {args.split} clips ({len(samples)}, {args.audio} audio, "
            f"voices {', '.join(report['voices'])}) against the corpus targets",
        )
    )
    print(format_intervals(report["heldout"]))
    if args.real:
        real = real_clips(args.real)
        report["real_unaligned"] = real.unaligned
        report["real"] = run_systems(model, real.audio, real.segments, real.references, "aligned_phones")
        report["real_files"] = real.files
        print()
        print(
            format_table(
                report["real"],
                f"real recordings ({len(real.files)} files) against the articulation "
                f"model on force-aligned phones (lower face only: FDD not meaningful)",
            )
        )
    if args.styles and model.style_presets:
        report["styles"] = st = style_table(model, samples, args.style_clips)
        print(
            f"\nstyle presets on {st['clips']} clips: nearest-centroid accuracy "
            f"{st['mean_accuracy']:.2f} (chance {st['chance']:.2f})"
        )
        print("  " + "  ".join(f"{k} {v:.2f}" for k, v in st["accuracy"].items()))
        names = st["distance_names"]
        print("mean |difference| between outputs (arkit61 units):")
        print(" " * 10 + "".join(n[:8].rjust(9) for n in names))
        for n, row in zip(names, st["distance"]):
            print(n[:10].ljust(10) + "".join(f"{v:9.4f}" for v in row))
    if args.rest:
        from . import rest

        clips = rest.corpus_clips(args.data, args.rest_clips)
        report["rest"] = {"clips": len(clips), "seconds": list(rest.SECONDS), "guard_s": rest.GUARD_S}
        report["rest"]["conditions"] = rest.evaluate_rest(model, clips)
        report["rest"]["summary"] = rest.summary(report["rest"]["conditions"])
        print(f"\nrest: {len(clips)} held-out clips after 0.5-5 s of non-speech (lip gap there / in the speech)")
        print(rest.format_table(report["rest"]["conditions"]))
    report["seconds"] = round(time.time() - t0, 1)
    out = Path(args.out) if args.out else Path(args.model).with_name("eval.json")
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {out} ({report['seconds']} s)", file=sys.stderr)


if __name__ == "__main__":
    main()

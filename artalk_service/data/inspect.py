"""A corpus report (hours per voice and style, phone coverage) and a plot of one sample."""

from __future__ import annotations

import os
from collections import defaultdict

import numpy as np

from artalk_service.data.articulation import lip_gap
from artalk_service.data.dataset import Sample, iter_samples, load_manifest
from artalk_service.data.phones import BILABIALS, LABIODENTALS, ROUNDED_VOWELS, SILENCE
from artalk_service.layout import ARKIT61
from artalk_service.timebase import SAMPLE_RATE

_ESPEAK_DETAIL = 12  # espeak-ng has hundreds of voices: list only the busiest


def report(manifest: dict) -> str:
    lines = [
        f"corpus {manifest['format']}  seed {manifest['seed']}  layout {manifest['layout']} "
        f"@ {manifest['fps']} fps, audio {manifest['sample_rate']} Hz",
        f"text: {manifest['text_source']} ({manifest['text_sentences']} sentences)",
        f"held-out voices: {', '.join(manifest['heldout_voices'])}",
        "engines: " + "; ".join(f"{e} ({v})" for e, v in manifest["engines"].items()),
    ]
    for split, stats in manifest["splits"].items():
        lines.append(
            f"\n[{split}] {stats['hours']:.3f} h in {stats['num_samples']} samples, {len(stats['shards'])} shards"
        )
        lines.append("  hours per engine: " + _fmt(stats["hours_by_engine"]))
        lines.append("  hours per style:  " + _fmt(stats["hours_by_style"]))
        lines += _voice_lines(stats["hours_by_voice"], manifest["voices"][split])
        counts = stats["phone_counts"]
        lines.append(
            f"  phone coverage: {sum(c > 0 for c in counts.values())}/{len(counts)} "
            f"phones; missing: {', '.join(stats['missing_phones']) or 'none'}"
        )
        lines.append("  phone counts: " + " ".join(f"{p}:{c}" for p, c in counts.items()))
    return "\n".join(lines)


def _fmt(hours: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in hours.items())


def _voice_lines(hours_by_voice: dict[str, float], voices: dict[str, list[str]]) -> list[str]:
    by_engine: dict[str, dict[str, float]] = defaultdict(dict)
    for voice, h in hours_by_voice.items():
        by_engine[voice.split(":")[0]][voice] = h
    lines = []
    for engine, available in voices.items():
        if not available:
            continue
        used = by_engine.get(engine, {})
        busiest = dict(sorted(used.items(), key=lambda kv: -kv[1])[:_ESPEAK_DETAIL])
        more = f" (+{len(used) - len(busiest)} more)" if len(used) > len(busiest) else ""
        lines.append(f"  {engine}: {len(used)} of {len(available)} voices used; hours per voice: {_fmt(busiest)}{more}")
    return lines


def _shade(ax, sample: Sample) -> None:
    colours = [(BILABIALS, "tab:red"), (LABIODENTALS, "tab:green"), (ROUNDED_VOWELS, "tab:blue")]
    for seg in sample.segments:
        for phones, colour in colours:
            if seg.phone in phones:
                ax.axvspan(seg.start, seg.end, color=colour, alpha=0.15, lw=0)


def plot_sample(sample: Sample, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m, idx = sample.motion, ARKIT61.index
    t = (np.arange(len(m)) + 0.5) / ARKIT61.fps
    panels = [
        (
            "lips: seal",
            {
                "JawOpen": m[:, idx("JawOpen")],
                "MouthClose": m[:, idx("MouthClose")],
                "lip gap": lip_gap(m),
                "MouthPressLeft": m[:, idx("MouthPressLeft")],
            },
        ),
        (
            "lips: shape",
            {
                n: m[:, idx(n)]
                for n in (
                    "MouthFunnel",
                    "MouthPucker",
                    "MouthStretchLeft",
                    "MouthSmileLeft",
                    "MouthRollLower",
                    "TongueOut",
                )
            },
        ),
        (
            "upper face",
            {
                n: m[:, idx(n)]
                for n in (
                    "EyeBlinkLeft",
                    "BrowInnerUp",
                    "BrowOuterUpLeft",
                    "BrowDownLeft",
                    "EyeWideLeft",
                )
            },
        ),
        (
            "head / eyes (rad)",
            {n: m[:, idx(n)] for n in ("HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch")},
        ),
    ]
    fig, axes = plt.subplots(len(panels) + 1, 1, figsize=(16, 13), sharex=True)
    audio_t = np.arange(len(sample.audio_clean)) / SAMPLE_RATE
    axes[0].plot(audio_t, sample.audio_clean, lw=0.4, color="0.3")
    for seg in sample.segments:
        if seg.phone != SILENCE:
            axes[0].text(
                seg.center,
                1.02,
                seg.phone,
                ha="center",
                va="bottom",
                fontsize=7,
                transform=axes[0].get_xaxis_transform(),
                rotation=90,
            )
    axes[0].set_ylabel("audio")
    for ax, (title, curves) in zip(axes[1:], panels):
        for name, curve in curves.items():
            ax.step(t, curve, where="mid", label=name, lw=1.4 if name == "lip gap" else 1.0)
        ax.set_ylabel(title)
        ax.legend(loc="upper right", fontsize=7, ncol=3)
    for ax in axes:
        _shade(ax, sample)
        for a_time, _ in sample.meta.get("accents", []):
            ax.axvline(a_time, color="tab:purple", lw=0.6, ls=":")
    axes[-1].set_xlabel("seconds (shaded: red p/b/m, green f/v, blue rounded vowels; dotted: pitch accents)")
    fig.suptitle(f'{sample.sample_id}  {sample.voice}  style={sample.style}\n"{sample.text}"', fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def inspect_corpus(directory: str, png: str | None = None, sample_id: str | None = None) -> str:
    manifest = load_manifest(directory)
    png = png or os.path.join(directory, "inspect.png")
    split = sample_id.split("-")[0] if sample_id else "train"
    sample = next(s for s in iter_samples(directory, split) if sample_id is None or s.sample_id == sample_id)
    plot_sample(sample, png)
    return report(manifest) + f"\n\nplot of {sample.sample_id}: {png}"

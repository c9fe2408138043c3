"""Rest: does the face rest while nobody speaks? Stream starts with seconds of non-speech.

    python -m artalk_service.eval.rest [--model M] [--data corpus] [--clips 12]
        [--seconds 0.5,1,2.5,5] [--initial rest|mean] [--out rest.json]

Each held-out clip (`--data`: voices never trained on; without it, espeak-ng sentences) is
streamed after a stretch of non-speech, `seconds` long (the clips take the lengths in turn),
of each kind: digital silence; white and pink noise at -80, -60, -45 and -30 dBFS; pink
noise and babble (three talkers from the other clips) 10 dB below the clip's speech. The
noise bed continues under the speech, as a room's would. Per condition:

- rest ratio: mean lip gap (`articulation.lip_gap`, 0 = sealed) over the non-speech frames
  divided by the mean lip gap over the speech (first to last speech phone), pooled over
  clips. Non-speech frames are those centred at least GUARD_S before the first phone: the
  corpus's articulation model opens the lips ahead of a word (anticipation), and the
  model's window hears LOOKAHEAD ahead.
- the same ratio of the corpus targets remade over the same lead-in
  (`data.nonspeech.with_lead_in`): what a perfect model would score.
- the largest lip gap over non-speech (the worst frame).

Targets (issue 21): at most 0.05 over silence and noise floors, at most 0.10 with babble or
noise 10 dB below the speech. `--initial mean` streams from the codes of the all-mean motion
instead of the rest pose (how models before the rest fix started), for comparison.
Writes JSON (--out) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass

import numpy as np

from ..data.articulation import lip_gap
from ..data.nonspeech import NonSpeech, speech_level_db, with_lead_in
from ..data.phones import SILENCE, PhoneSegment
from ..model import MotionModel, StreamOptions, default_model_path
from ..timebase import FPS

GUARD_S = 0.2
SECONDS = (0.5, 1.0, 2.5, 5.0)
QUIET_TARGET, NOISY_TARGET = 0.05, 0.10


@dataclass(frozen=True)
class Condition:
    name: str
    nonspeech: NonSpeech
    target: float  # the bound on the rest ratio


CONDITIONS = (
    Condition("silence", NonSpeech("silence"), QUIET_TARGET),
    *(Condition(f"white {db} dBFS", NonSpeech("white", db), QUIET_TARGET) for db in (-80, -60, -45, -30)),
    *(Condition(f"pink {db} dBFS", NonSpeech("pink", db), QUIET_TARGET) for db in (-80, -60, -45, -30)),
    Condition("pink -10 dB SNR", NonSpeech("pink_snr", 10.0), NOISY_TARGET),
    Condition("babble -10 dB SNR", NonSpeech("babble", 10.0), NOISY_TARGET),
)


@dataclass(frozen=True)
class SpeechClip:
    audio: np.ndarray  # augmented (as trained on) or espeak-ng audio, 16 kHz
    clean: np.ndarray  # the same speech before augmentation (prosody of the remade targets)
    segments: tuple[PhoneSegment, ...]
    style: str


def corpus_clips(data: str, count: int) -> list[SpeechClip]:
    from .cli import heldout_clips

    return [SpeechClip(s.audio, s.audio_clean, s.segments, s.style) for s in heldout_clips(data, count)]


def espeak_clips(count: int) -> list[SpeechClip]:
    """espeak-ng voices reading fortunes, with the engine's phone timings (no corpus needed)."""
    from ..data.engines import SpeakingParams, get_engine
    from ..data.text import load_text_pool

    engine, rng, out = get_engine("espeak"), np.random.default_rng(0), []
    texts = load_text_pool()
    voices = ("en-us", "en", "en-us+m3", "en-us+f2", "en-gb-scotland", "en-029")
    for i in range(count):
        synth = engine.synthesize(texts.utterance(rng), voices[i % len(voices)], SpeakingParams())
        out.append(SpeechClip(synth.audio, synth.audio, synth.segments, "neutral"))
    return out


def _mean_bits(model: MotionModel):
    W, C = model.window_frames, model.layout.num_channels
    zeros = np.zeros((1, W, C), np.float32)
    import torch

    with torch.inference_mode():
        z = torch.from_numpy(zeros).to(model.net.motion_mean.device)
        return model.net.autoencoder.encode(z, z)[1][0].to(model._initial_bits_ND.device)


def stretches(segments: tuple[PhoneSegment, ...], frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(non-speech frames before the first phone less GUARD_S, speech frames) of a clip."""
    speech = [s for s in segments if s.phone != SILENCE]
    centres = (np.arange(frames) + 0.5) / FPS
    before = np.flatnonzero(centres <= speech[0].start - GUARD_S)
    during = np.flatnonzero((centres >= speech[0].start) & (centres <= speech[-1].end))
    return before, during


def evaluate_rest(
    model: MotionModel,
    clips: list[SpeechClip],
    conditions=CONDITIONS,
    seconds=SECONDS,
    targets: bool = True,
    progress: bool = False,
) -> dict:
    """The rest ratio per condition (module docstring) -> {condition: figures}."""
    out = {}
    for cond in conditions:
        rest_sum = rest_n = speech_sum = speech_n = 0.0
        ref_rest = ref_n = ref_speech = ref_speech_n = 0.0
        worst, per_length = 0.0, {}
        for i, clip in enumerate(clips):
            rng = np.random.default_rng([i, 11])
            secs = seconds[i % len(seconds)]
            lead = round(secs * FPS)
            others = [c.clean for j, c in enumerate(clips) if j != i] or [clip.clean]
            ns = cond.nonspeech
            if ns.kind == "pink_snr":  # pink noise at a level relative to this clip's speech
                level = speech_level_db(clip.audio, _labels(clip))
                ns = NonSpeech("pink", level - cond.nonspeech.level_db)
            x = with_lead_in(clip.clean, clip.audio, clip.segments, clip.style, lead, ns, rng, others)
            motion = model.animate(x.audio, StreamOptions(seed=i))
            gap, ref_gap = lip_gap(motion), lip_gap(x.motion)
            before, during = stretches(x.segments, len(gap))
            rest_sum += gap[before].sum()
            rest_n += before.size
            speech_sum += gap[during].sum()
            speech_n += during.size
            ref_rest += ref_gap[before].sum()
            ref_n += before.size
            ref_speech += ref_gap[during].sum()
            ref_speech_n += during.size
            worst = max(worst, float(gap[before].max(initial=0.0)))
            acc = per_length.setdefault(f"{secs:g}", [0.0, 0])
            acc[0] += gap[before].sum() / max(1e-9, gap[during].mean())
            acc[1] += before.size
        speech_mean = speech_sum / max(1, speech_n)
        ratio = rest_sum / max(1, rest_n) / max(1e-9, speech_mean)
        ref_ratio = ref_rest / max(1, ref_n) / max(1e-9, ref_speech / max(1, ref_speech_n))
        out[cond.name] = {
            "rest_ratio": float(ratio),
            "rest_gap": float(rest_sum / max(1, rest_n)),
            "speech_gap": float(speech_mean),
            "max_rest_gap": worst,
            "targets_rest_ratio": float(ref_ratio),
            "target": cond.target,
            "met": bool(ratio <= cond.target),
            "by_seconds": {k: float(v[0] / max(1, v[1])) for k, v in per_length.items()},
            "nonspeech_seconds": float(rest_n / FPS),
        }
        if progress:
            print(format_row(cond.name, out[cond.name]), file=sys.stderr, flush=True)
    return out


def _labels(clip: SpeechClip) -> np.ndarray:
    from ..data.phones import frame_labels
    from ..timebase import num_frames

    return frame_labels(clip.segments, num_frames(clip.audio.size))


HEADER = (
    f"{'condition':20s} | {'rest ratio':>10s} | {'target':>6s} | {'rest gap':>8s} | {'speech gap':>10s} | "
    f"{'max gap':>7s} | {'targets':>7s} | by lead-in seconds"
)


def format_row(name: str, r: dict) -> str:
    by = " ".join(f"{k}s {v:.3f}" for k, v in r["by_seconds"].items())
    mark = "ok" if r["met"] else "NO"
    return (
        f"{name:20s} | {r['rest_ratio']:10.3f} | {r['target']:4.2f} {mark} | {r['rest_gap']:8.4f} | "
        f"{r['speech_gap']:10.4f} | {r['max_rest_gap']:7.3f} | {r['targets_rest_ratio']:7.3f} | {by}"
    )


def format_table(results: dict) -> str:
    return "\n".join([HEADER] + [format_row(k, v) for k, v in results.items()])


def summary(results: dict) -> dict:
    quiet = [v["rest_ratio"] for v in results.values() if v["target"] == QUIET_TARGET]
    noisy = [v["rest_ratio"] for v in results.values() if v["target"] == NOISY_TARGET]
    return {
        "worst_quiet_ratio": max(quiet, default=float("nan")),
        "worst_noisy_ratio": max(noisy, default=float("nan")),
        "all_met": all(v["met"] for v in results.values()),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m artalk_service.eval.rest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", default=str(default_model_path()), help="model .safetensors (default: bundled)")
    p.add_argument("--data", help="corpus directory with a heldout split (default: espeak-ng sentences)")
    p.add_argument("--clips", type=int, default=12, help="speech clips (spread over the held-out split)")
    p.add_argument("--seconds", default=",".join(f"{s:g}" for s in SECONDS), help="lead-in lengths, in turn")
    p.add_argument("--initial", choices=["rest", "mean"], default="rest", help="the first window's motion context")
    p.add_argument("--conditions", help="comma-separated subset of the condition names")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--out", help="JSON output")
    args = p.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    t0 = time.time()
    model = MotionModel.load(args.model)
    if args.initial == "mean":
        model._initial_bits_ND = _mean_bits(model)
    clips = corpus_clips(args.data, args.clips) if args.data else espeak_clips(args.clips)
    conditions = CONDITIONS
    if args.conditions:
        wanted = [c.strip() for c in args.conditions.split(",")]
        conditions = tuple(c for c in CONDITIONS if c.name in wanted)
        if len(conditions) != len(wanted):
            p.error(f"unknown condition among {wanted}; have {[c.name for c in CONDITIONS]}")
    seconds = tuple(float(s) for s in args.seconds.split(","))
    print(
        f"model {model.model_id}, initial context {args.initial}, {len(clips)} clips "
        f"({'held-out corpus ' + args.data if args.data else 'espeak-ng'}), lead-ins {args.seconds} s",
        file=sys.stderr,
    )
    print(HEADER, file=sys.stderr)
    results = evaluate_rest(model, clips, conditions, seconds, progress=True)
    report = {
        "model": str(args.model),
        "model_id": model.model_id,
        "initial": args.initial,
        "data": args.data or "espeak-ng",
        "clips": len(clips),
        "seconds": list(seconds),
        "guard_s": GUARD_S,
        "conditions": results,
        "summary": summary(results),
        "wall_s": round(time.time() - t0, 1),
    }
    print(format_table(results))
    s = report["summary"]
    print(
        f"worst rest ratio: {s['worst_quiet_ratio']:.3f} quiet (target {QUIET_TARGET}), "
        f"{s['worst_noisy_ratio']:.3f} noisy (target {NOISY_TARGET}); all met: {s['all_met']}"
    )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()

"""Front-end probe: can a small head read p/b/m out of the frozen speech features, cut exactly
as the model's windows see them? It tells "the features lack it" from "the model misses it".

    python -m artalk_service.eval.probe --data corpus [--model M] [--windows 20000] [--hours 10]

A two-layer temporal conv head learns to tell p/b/m feature frames from the rest on the
Whisper features of `--windows` training windows (drawn from the first `--hours` of the train
split; every frame of each 2 s audio context is labelled). It then runs over every window of
the held-out clips, keeping each window's own frames, as a stream would. Detection: the share
of held-out p/b/m phones where P(bilabial) > 0.5 at some frame within the phone widened by the
closure metric's tolerance; false-pos: the same on the other non-silent phones.
Writes JSON (--out) and prints it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from ..data.dataset import iter_samples
from ..data.phones import SILENCE
from ..model import MotionModel, default_model_path
from ..model.artalk import ARTalk
from ..timebase import WHISPER_HZ
from ..train.losses import BILABIAL_IDS
from ..train.trainer import WhisperCache
from ..train.windows import WindowCorpus
from .cli import heldout_clips
from .metrics import BILABIALS, TOLERANCE_S


class BilabialProbe(nn.Module):
    """Whisper features (B, T, 384) -> per-frame bilabial logits (B, T)."""

    def __init__(self, features: int, width: int = 256, dropout: float = 0.2):
        super().__init__()
        self.net = nn.Sequential(
            nn.Dropout(dropout),
            nn.Conv1d(features, width, 5, padding=2),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Conv1d(width, width, 5, padding=2),
            nn.GELU(),
            nn.Conv1d(width, 1, 1),
        )

    def forward(self, x_BTC: torch.Tensor) -> torch.Tensor:
        return self.net(x_BTC.transpose(1, 2))[:, 0]


def train_probe(
    x_BTC: torch.Tensor, bilabial_BT: torch.Tensor, steps: int, seed: int, batch: int = 128, progress: bool = True
) -> BilabialProbe:
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    probe = BilabialProbe(x_BTC.shape[-1])
    opt = torch.optim.AdamW(probe.parameters(), 1e-3, weight_decay=0.05)
    pos_weight = torch.tensor(3.0)  # p/b/m are ~4 % of frames
    for _ in tqdm(range(steps), desc="probe", disable=not progress):
        idx = torch.randint(0, len(x_BTC), (batch,), generator=gen)
        loss = F.binary_cross_entropy_with_logits(probe(x_BTC[idx]), bilabial_BT[idx].float(), pos_weight=pos_weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return probe.eval()


def detection(tracks: list[np.ndarray], clips: list, threshold: float = 0.5) -> dict:
    """Per-clip P(bilabial) tracks at 50 Hz -> detection and false-positive rates over phones."""
    hits: dict[str, list[bool]] = {p: [] for p in sorted(BILABIALS)}
    false_pos = []
    for track, clip in zip(tracks, clips):
        t = (np.arange(len(track)) + 0.5) / WHISPER_HZ
        for s in clip.segments:
            if s.phone in hits:
                near = (t >= s.start - TOLERANCE_S) & (t <= s.end + TOLERANCE_S)
                if near.any():
                    hits[s.phone].append(bool(track[near].max() > threshold))
            elif s.phone != SILENCE:
                inside = (t >= s.start) & (t <= s.end)
                false_pos.append(bool(track[inside].max(initial=0.0) > threshold))
    every = [h for v in hits.values() for h in v]
    return {
        "detection": float(np.mean(every)),
        "bilabials": len(every),
        "by_phone": {p: float(np.mean(v)) if v else float("nan") for p, v in hits.items()},
        "false_pos": float(np.mean(false_pos)),
        "threshold": threshold,
    }


@torch.no_grad()
def heldout_tracks(net: ARTalk, probe: BilabialProbe, clips: list, progress: bool = True) -> list[np.ndarray]:
    """Every window of every clip, as a stream sees it; each keeps the rows of its own frames."""
    corpus = WindowCorpus(clips, net.config)
    feats = WhisperCache(net, corpus, 0).features(corpus.examples, progress=progress)
    p_BT = torch.cat([torch.sigmoid(probe(feats[i : i + 256])) for i in range(0, len(feats), 256)])
    own = p_BT[:, net.current_rows()].numpy()
    return [own[corpus.examples[:, 0] == u].reshape(-1) for u in range(len(clips))]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m artalk_service.eval.probe",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", default=str(default_model_path()), help="whose speech front end and windowing")
    p.add_argument("--data", required=True, help="corpus directory with train and heldout splits")
    p.add_argument("--windows", type=int, default=20000, help="training windows for the probe")
    p.add_argument("--hours", type=float, default=10.0, help="draw them from the first HOURS of the train split")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--clips", type=int, default=60, help="held-out clips (as artalk-eval picks them)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int)
    p.add_argument("--out", default="probe.json")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    net = MotionModel.load(args.model).net
    train = WindowCorpus(iter_samples(args.data, "train"), net.config, args.hours)
    examples = train.sample(np.random.default_rng(args.seed), args.windows)
    x_BTC = WhisperCache(net, train, 0).features(examples, progress=True)  # (B, T, C) float32
    bilabial_BT = torch.isin(torch.from_numpy(train.phone_labels(examples)), BILABIAL_IDS)
    probe = train_probe(x_BTC, bilabial_BT, args.steps, args.seed)
    clips = heldout_clips(args.data, args.clips)
    report = {
        "model": args.model,
        "train_windows": args.windows,
        "train_hours": round(train.hours, 2),
        "steps": args.steps,
        "seed": args.seed,
        "clips": len(clips),
        **detection(heldout_tracks(net, probe, clips), clips),
    }
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

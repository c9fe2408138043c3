"""The pieces both training stages use (stages.py runs them): optimiser and schedule, the
frozen Whisper feature cache, batches of normalised windows and styles, evaluations."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import torch
import torch.nn as nn
from tqdm import tqdm

from ..layout import get_layout
from ..model import MotionModel, StreamOptions
from ..model.artalk import ARTalk
from .config import StageConfig
from .losses import autoencoder_loss
from .windows import WindowCorpus


def make_optimizer(modules: list[nn.Module], stage: StageConfig):
    """AdamW, no weight decay on norms, biases, embeddings and gains; warmup then cosine to 10%."""
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    rest = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": stage.weight_decay}, {"params": rest, "weight_decay": 0.0}],
        lr=stage.lr,
        betas=(0.9, 0.95),
    )

    def schedule(step: int) -> float:
        if step < stage.warmup_steps:
            return (step + 1) / stage.warmup_steps
        progress = (step - stage.warmup_steps) / max(1, stage.steps - stage.warmup_steps)
        return 0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, progress)))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, schedule), params


def optimise(loss: torch.Tensor, opt, sched, params, stage: StageConfig) -> float:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(params, stage.grad_clip)
    opt.step()
    sched.step()
    return float(grad_norm)


class WhisperCache:
    """Frozen Whisper features per example, computed once and kept (fp16) up to a budget."""

    def __init__(self, net: ARTalk, corpus: WindowCorpus, budget_gb: float):
        self.net, self.corpus, self.budget = net, corpus, budget_gb * 2**30
        self.store: dict[tuple[int, int], torch.Tensor] = {}
        self.bytes = 0

    def features(self, examples: np.ndarray, chunk: int = 64, progress: bool = False) -> torch.Tensor:
        keys = [(int(u), int(w)) for u, w in examples]
        found = {k: self.store[k] for k in keys if k in self.store}
        todo = [i for i, k in enumerate(keys) if k not in found]
        device = self.net.motion_mean.device
        for i in tqdm(range(0, len(todo), chunk), desc="whisper features", disable=not progress):
            part = todo[i : i + chunk]
            audio = torch.from_numpy(self.corpus.audio_contexts(examples[part])).to(device)
            for j, f in zip(part, self.net.speech.whisper_features(audio).half()):
                found[keys[j]] = f
                if self.bytes < self.budget:
                    self.store[keys[j]] = f
                    self.bytes += f.numel() * 2
        return torch.stack([found[k] for k in keys]).float()


def _normalised_windows(net: ARTalk, corpus: WindowCorpus, examples: np.ndarray) -> torch.Tensor:
    mean, std = net.motion_mean.cpu().numpy(), net.motion_std.cpu().numpy()
    return torch.from_numpy(corpus.motion_windows(examples, mean, std)).to(net.motion_mean.device)


def channel_groups(layout_name: str) -> dict[str, list[int]]:
    layout = get_layout(layout_name)
    prefixes = {
        "mouth": ("Jaw", "Mouth", "Cheek", "Tongue"),
        "eyes": ("Eye",),
        "brows": ("Brow", "Nose"),
        "head": ("Head",),
        "gaze": ("LeftEye", "RightEye"),
    }
    return {g: [i for i, c in enumerate(layout.channels) if c.startswith(p)] for g, p in prefixes.items()}


# -----------------------------------------------------------------------------
# stage 1


@torch.no_grad()
def eval_autoencoder(net: ARTalk, corpus: WindowCorpus, examples: np.ndarray) -> dict:
    net.autoencoder.eval()
    x = _normalised_windows(net, corpus, examples)
    loss, parts = autoencoder_loss(net, x)
    recon = net.denormalize(net.autoencoder(x)[0])
    error_BWC = (recon - net.denormalize(x[:, -net.config.window.frames :])).abs()
    net.autoencoder.train()
    out = {"eval_loss": float(loss), **{f"eval_{k}": float(v) for k, v in parts.items()}}
    for group, idx in channel_groups(net.config.layout).items():
        out[f"eval_mae_{group}"] = float(error_BWC[..., idx].mean())
    return out


# -----------------------------------------------------------------------------
# stage 2


def style_batch(
    net: ARTalk, corpus: WindowCorpus, examples: np.ndarray, rng: np.random.Generator, dropout: float
) -> torch.Tensor:
    """Styles of reference clips of random length, some replaced by the null style."""
    max_frames = net.config.style.max_frames
    clips = corpus.style_clips(examples, rng, int(rng.integers(max_frames // 2, max_frames + 1)))
    device = net.motion_mean.device
    style_BC = net.style(net.normalize(torch.from_numpy(clips).to(device)))
    drop_B1 = torch.from_numpy(rng.random(len(examples)) < dropout).to(device)[:, None]
    return torch.where(drop_B1, net.style.null(len(examples)), style_BC)


@torch.no_grad()
def free_running_error(net: ARTalk, corpus: WindowCorpus, utterances: int) -> dict:
    """Generate whole held-out utterances (greedy, null style) and compare with the targets."""
    model = MotionModel(net, "eval", device=net.motion_mean.device)
    errors = []
    for u in range(min(utterances, len(corpus.audio))):
        errors.append(np.abs(model.animate(corpus.audio[u], StreamOptions()) - corpus.motion[u]))
    error_TC = np.concatenate(errors)
    return {f"gen_mae_{g}": float(error_TC[:, idx].mean()) for g, idx in channel_groups(net.config.layout).items()}


# -----------------------------------------------------------------------------
# both stages


def model_digest(net: ARTalk) -> str:
    h = hashlib.sha256()
    for name, tensor in sorted(net.state_dict().items()):
        if not name.startswith("speech.whisper."):
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:12]

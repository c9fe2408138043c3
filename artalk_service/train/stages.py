"""The two training stages as resumable runs in a run directory.

    <run>/train_config.json   the TrainConfig (a resumed run must use the same one)
    <run>/log.jsonl           every logged record (losses, evaluations)
    <run>/vq_state.pt         stage 1 checkpoint: weights, EMA, optimiser, schedule, RNGs, step
    <run>/autoencoder.pt      stage 1 result: the EMA autoencoder + normalisation statistics
    <run>/ar_state.pt         stage 2 checkpoint
    <run>/model.safetensors   the EMA model with style presets, written at every stage 2 checkpoint

A killed run resumes from its last checkpoint with the same command; the random number
streams are restored too, so an uninterrupted and a resumed run draw the same batches.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from ..data.styles import get_style
from ..model import MotionModel
from ..model.artalk import ARTalk
from ..model.checkpoint import FROZEN_PREFIX
from .config import StageConfig, TrainConfig
from .ema import EMA
from .losses import AutoencoderLossWeights, TransformerLossWeights, autoencoder_loss, code_targets, transformer_loss
from .trainer import (
    WhisperCache,
    _normalised_windows,
    eval_autoencoder,
    free_running_error,
    make_optimizer,
    model_digest,
    optimise,
    style_batch,
)
from .windows import WindowCorpus

Log = Callable[[dict], None]
STAGE1_PREFIXES = ("autoencoder.", "motion_")


def _atomic_save(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _trainable_state(net: ARTalk) -> dict:
    return {k: v.detach().cpu().clone() for k, v in net.state_dict().items() if not k.startswith(FROZEN_PREFIX)}


def _load_trainable(net: ARTalk, state: dict) -> None:
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith(FROZEN_PREFIX)]
    if missing or unexpected:
        raise ValueError(f"checkpoint does not match the model: missing {missing[:5]}, unexpected {unexpected[:5]}")


def run_stage(
    name: str,
    net: ARTalk,
    trained: dict[str, nn.Module],
    stage: StageConfig,
    cfg: TrainConfig,
    state_path: Path,
    seed: int,
    step_fn,
    eval_fn,
    log: Log,
    on_checkpoint=None,
    progress: bool = True,
    stop_after: int | None = None,
) -> EMA | None:
    """The loop both stages share: AdamW + warmup/cosine, EMA, logging, periodic evaluation
    (on the EMA weights) and resumable checkpoints. step_fn(rng) -> (loss, parts).
    stop_after: checkpoint and return None after that step (the run resumes later)."""
    opt, sched, params = make_optimizer(list(trained.values()), stage)
    ema = EMA(trained, cfg.ema_decay)
    rng, start = np.random.default_rng(seed), 0
    if state_path.exists():
        state = torch.load(state_path, map_location=net.motion_mean.device, weights_only=False)
        _load_trainable(net, state["net"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        ema.load_state_dict(state["ema"])
        rng.bit_generator.state = state["numpy_rng"]
        torch.set_rng_state(state["torch_rng"])
        start = state["step"]
        log({"stage": name, "resumed_from_step": start})

    def checkpoint(step: int) -> None:
        _atomic_save(
            {
                "net": _trainable_state(net),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "ema": ema.state_dict(),
                "numpy_rng": rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
                "step": step,
            },
            state_path,
        )
        if on_checkpoint is not None:
            with ema.applied():
                on_checkpoint(step)

    t0 = time.time()
    bar = tqdm(
        range(start + 1, stage.steps + 1),
        initial=start,
        total=stage.steps,
        desc=name,
        ascii=True,
        mininterval=20,
        disable=not progress,
    )
    for step in bar:
        for m in trained.values():
            m.train()
        loss, parts = step_fn(rng)
        grad_norm = optimise(loss, opt, sched, params, stage)
        ema.update()
        if step % cfg.log_every == 0 or step == start + 1:
            bar.set_postfix(loss=f"{float(loss.detach()):.4f}", refresh=False)
            log(
                {
                    "stage": name,
                    "step": step,
                    "loss": float(loss.detach()),
                    "grad_norm": grad_norm,
                    "lr": sched.get_last_lr()[0],
                    "s": round(time.time() - t0, 1),
                    **{k: float(v) for k, v in parts.items()},
                }
            )
        if step % cfg.eval_every == 0 or step == stage.steps:
            for m in trained.values():
                m.eval()
            with ema.applied(), torch.no_grad():
                log({"stage": name, "step": step, "ema": True, **eval_fn()})
        if step % cfg.checkpoint_every == 0 or step == stage.steps or step == stop_after:
            checkpoint(step)
        if step == stop_after and step < stage.steps:
            bar.close()
            log({"stage": name, "stopped_at_step": step})
            return None
    bar.close()
    for m in trained.values():
        m.eval()
    return ema


def new_net(cfg: TrainConfig, train: WindowCorpus, device) -> ARTalk:
    torch.manual_seed(cfg.seed)
    net = ARTalk(cfg.model).to(device)
    mean, std = train.motion_stats(cfg.std_floor)
    net.motion_mean.copy_(torch.from_numpy(mean))
    net.motion_std.copy_(torch.from_numpy(std))
    return net


def train_vq(
    cfg: TrainConfig,
    train: WindowCorpus,
    heldout: WindowCorpus,
    run: Path,
    device,
    log: Log,
    progress: bool = True,
    stop_after: int | None = None,
) -> ARTalk | None:
    """Stage 1: the motion autoencoder. Writes <run>/autoencoder.pt (EMA weights)."""
    net = new_net(cfg, train, device)
    eval_examples = heldout.sample(np.random.default_rng(cfg.seed + 1), cfg.eval_windows)

    weights = AutoencoderLossWeights(lip_gap=cfg.lip_gap_weight)

    def step_fn(rng):
        return autoencoder_loss(
            net, _normalised_windows(net, train, train.sample(rng, cfg.autoencoder.batch_size)), weights
        )

    ema = run_stage(
        "vq",
        net,
        {"autoencoder": net.autoencoder},
        cfg.autoencoder,
        cfg,
        run / "vq_state.pt",
        cfg.seed,
        step_fn,
        lambda: eval_autoencoder(net, heldout, eval_examples),
        log,
        progress=progress,
        stop_after=stop_after,
    )
    if ema is None:
        return None
    ema.copy_to_model()
    net.autoencoder.eval().requires_grad_(False)
    _atomic_save({"net": _trainable_state(net), "steps": cfg.autoencoder.steps}, run / "autoencoder.pt")
    log({"stage": "vq", "saved": str(run / "autoencoder.pt")})
    return net


def load_vq(cfg: TrainConfig, run: Path, device) -> ARTalk:
    path = run / "autoencoder.pt"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run the vq stage first (artalk-train vq)")
    torch.manual_seed(cfg.seed + 10)  # the stage 2 parts start from this seed
    net = ARTalk(cfg.model).to(device)
    # only stage 1's results: the autoencoder and the motion statistics
    state = {
        k: v
        for k, v in torch.load(path, map_location=device, weights_only=False)["net"].items()
        if k.startswith(STAGE1_PREFIXES)
    }
    missing = [k for k in net.state_dict() if k.startswith(STAGE1_PREFIXES) and k not in state]
    if missing:
        raise ValueError(f"{path} does not match the model's autoencoder: missing {missing[:5]}")
    net.load_state_dict(state, strict=False)
    net.autoencoder.eval().requires_grad_(False)
    return net


def export_model(net: ARTalk, train: WindowCorpus, path: Path) -> MotionModel:
    presets = {style: train.preset_clip(style) for style in sorted(train.by_style)}
    blink_rates = {style: get_style(style).blink_rate for style in presets}  # the corpus's, saved with the model
    model = MotionModel(
        net, f"artalk-{net.config.layout}-{model_digest(net)}", presets, net.motion_mean.device, blink_rates=blink_rates
    )
    model.save(path)
    return model


def train_ar(
    cfg: TrainConfig,
    train: WindowCorpus,
    heldout: WindowCorpus,
    run: Path,
    device,
    log: Log,
    progress: bool = True,
    stop_after: int | None = None,
) -> MotionModel | None:
    """Stage 2 (autoencoder frozen): speech adapter, style encoder, AR transformer.
    Exports <run>/model.safetensors (EMA weights) at every checkpoint and at the end."""
    net = load_vq(cfg, run, device)
    stage = cfg.transformer
    eval_examples = heldout.sample(np.random.default_rng(cfg.seed + 3), cfg.eval_windows)
    train_cache = WhisperCache(net, train, cfg.feature_cache_gb)
    eval_cache = WhisperCache(net, heldout, cfg.feature_cache_gb / 8)
    trained = {"speech": net.speech, "style": net.style, "transformer": net.transformer}

    weights = TransformerLossWeights(
        phone=cfg.phone_loss_weight,
        bilabial_tokens=cfg.bilabial_token_weight,
        decoded_motion=cfg.decoded_motion_weight,
        motion=AutoencoderLossWeights(lip_gap=cfg.lip_gap_weight),
    )

    def loss_on(corpus, cache, examples, rng, style_dropout, feature_dropout, audio_dropout):
        motion = _normalised_windows(net, corpus, examples)
        prev_bits, bits = code_targets(net, motion)
        style_BC = style_batch(net, corpus, examples, rng, style_dropout)
        feats = cache.features(examples)
        if feature_dropout > 0:
            feats = F.dropout(feats, feature_dropout)
        phones = torch.from_numpy(corpus.phone_labels(examples)).to(device)
        dropped = None  # drawn only when used: runs without audio dropout keep their random stream
        if audio_dropout > 0:
            dropped = torch.from_numpy(rng.random(len(examples)) < audio_dropout).to(device)
        return transformer_loss(net, feats, style_BC, prev_bits, bits, phones, weights, motion, dropped)

    def step_fn(rng):
        return loss_on(
            train,
            train_cache,
            train.sample(rng, stage.batch_size),
            rng,
            cfg.style_dropout,
            cfg.feature_dropout,
            cfg.audio_dropout,
        )

    def eval_fn():
        loss, parts = loss_on(heldout, eval_cache, eval_examples, np.random.default_rng(0), 0.0, 0.0, 0.0)
        return {
            "eval_loss": float(loss),
            **{f"eval_{k}": float(v) for k, v in parts.items()},
            **free_running_error(net, heldout, cfg.free_running_utterances),
        }

    def on_checkpoint(step):
        model = export_model(net, train, run / "model.safetensors")
        log({"stage": "ar", "step": step, "exported": str(run / "model.safetensors"), "model_id": model.model_id})

    ema = run_stage(
        "ar",
        net,
        trained,
        stage,
        cfg,
        run / "ar_state.pt",
        cfg.seed + 2,
        step_fn,
        eval_fn,
        log,
        on_checkpoint,
        progress=progress,
        stop_after=stop_after,
    )
    if ema is None:
        return None
    ema.copy_to_model()
    net.eval()
    return export_model(net, train, run / "model.safetensors")


def open_run(run: Path, cfg: TrainConfig) -> Log:
    """Create or reopen a run directory; a resumed run must have the same model config
    (optimisation settings may change, e.g. more steps)."""
    run.mkdir(parents=True, exist_ok=True)
    cfg_path = run / "train_config.json"
    current = json.loads(json.dumps(cfg.to_dict()))
    if cfg_path.exists():
        saved = json.loads(cfg_path.read_text())
        if saved["model"] != current["model"] or saved["seed"] != current["seed"]:
            raise ValueError(f"{run} was started with another model config ({cfg_path}); use a new --out")
    cfg_path.write_text(json.dumps(current, indent=2))
    log_file = open(run / "log.jsonl", "a")

    def log(record: dict) -> None:
        record = {"time": round(time.time(), 1), **record}
        line = json.dumps(record)
        tqdm.write(line)
        log_file.write(line + "\n")
        log_file.flush()

    return log

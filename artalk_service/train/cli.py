"""artalk-train: the two training stages, each resumable (re-run the same command).

    artalk-train vq --config artalk_service/train/configs/default.yaml --corpus corpus/ --out runs/default
    artalk-train ar --config artalk_service/train/configs/default.yaml --corpus corpus/ --out runs/default [--install]

`vq` trains the motion autoencoder (stage 1) and writes <out>/autoencoder.pt; `ar` trains
the speech adapter, style encoder and AR transformer over scales on the frozen autoencoder
and writes <out>/model.safetensors (EMA weights, style presets). `--install` copies it to
the bundled default model with its config.json (`artalk-train install --out RUN` does only
that). `artalk-train vq-from --model M --out RUN` writes <RUN>/autoencoder.pt from the
stage-1 weights inside a saved model (to train another stage 2 on the autoencoder of a
bundled model without its run folder). Configs are JSON or YAML: `base: default|tiny` plus overrides of any TrainConfig
field (configs/tiny.yaml trains in under 2 minutes).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np
import torch

from ..model import default_model_path
from .config import TrainConfig
from .stages import open_run, train_ar, train_vq
from .windows import LeadIn, WindowCorpus

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def load_config(path: str | None) -> TrainConfig:
    if path is None:
        return TrainConfig()
    p = Path(path)
    if not p.exists() and (CONFIG_DIR / f"{path}.yaml").exists():  # a bundled config by name
        p = CONFIG_DIR / f"{path}.yaml"
    return TrainConfig.from_file(p)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def install(run: Path, cfg: TrainConfig, target: Path | None = None, guidance: float | None = None) -> Path:
    """Copy <run>/model.safetensors to the bundled default path, with config.json beside it.
    guidance: the installed model's default classifier-free guidance of the audio (chosen by
    `python -m artalk_service.eval.guidance`); None keeps the run's (1 = off)."""
    target = target or default_model_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    from ..model import MotionModel

    model = MotionModel.load(run / "model.safetensors")
    if guidance is not None:
        model.guidance = model.check_guidance(guidance)
    model.save(target)
    (target.parent / "config.json").write_text(
        json.dumps(
            {
                "model_id": model.model_id,
                "guidance": model.guidance,
                "model": cfg.model.to_dict(),
                "style_presets": sorted(model.style_presets),
                "train": cfg.to_dict(),
            },
            indent=2,
        )
        + "\n"
    )
    return target


def autoencoder_from_model(model_path: Path, run: Path) -> Path:
    """<run>/autoencoder.pt (as `artalk-train vq` writes it) from the stage-1 weights and
    motion statistics inside a saved model: the EMA weights that stage 2 froze."""
    from ..model import MotionModel
    from .stages import STAGE1_PREFIXES, _atomic_save

    model = MotionModel.load(model_path)
    state = {k: v.detach().cpu().clone() for k, v in model.net.state_dict().items() if k.startswith(STAGE1_PREFIXES)}
    run.mkdir(parents=True, exist_ok=True)
    path = run / "autoencoder.pt"
    _atomic_save({"net": state, "from_model": model.model_id}, path)
    return path


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="artalk-train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "stage",
        choices=["vq", "ar", "install", "vq-from"],
        help="vq: motion autoencoder; ar: transformer over scales; install: bundle <out>/model.safetensors; "
        "vq-from: <out>/autoencoder.pt from the autoencoder inside --model",
    )
    p.add_argument("--model", help="vq-from: a saved model (.safetensors) whose autoencoder to reuse")
    p.add_argument("--config", help="JSON/YAML file or bundled name (default, tiny); default: default")
    p.add_argument("--corpus", help="corpus directory (artalk-data generate); needed by vq and ar")
    p.add_argument("--out", required=True, help="run directory (resumes from its last checkpoint)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--steps", type=int, help="override this stage's step count")
    p.add_argument("--stop-after", type=int, help="checkpoint and exit after this step (resume later)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--install", action="store_true", help=f"ar: copy the model to {default_model_path()}")
    p.add_argument("--guidance", type=float, help="install: the model's default guidance of the audio (1 = off)")
    args = p.parse_args(argv)

    run = Path(args.out)
    if args.stage == "vq-from":
        if not args.model:
            p.error("vq-from needs --model")
        print(f"wrote {autoencoder_from_model(Path(args.model), run)}")
        return
    if args.stage == "install":
        cfg = TrainConfig.from_dict(json.loads((run / "train_config.json").read_text()))
        print(f"installed {install(run, cfg, guidance=args.guidance)}")
        return
    if not args.corpus:
        p.error(f"{args.stage} needs --corpus")
    cfg = load_config(args.config)
    if args.steps is not None:
        import dataclasses

        field = "autoencoder" if args.stage == "vq" else "transformer"
        cfg = dataclasses.replace(cfg, **{field: dataclasses.replace(getattr(cfg, field), steps=args.steps)})
    if args.threads:
        torch.set_num_threads(args.threads)
    seed_everything(cfg.seed)
    log = open_run(run, cfg)

    from ..data.dataset import iter_samples

    hours = cfg.max_hours if args.stage == "vq" else min(cfg.max_hours, cfg.ar_max_hours)
    lead_in = LeadIn(cfg.lead_in_share, seed=cfg.seed) if args.stage == "ar" and cfg.lead_in_share > 0 else None
    train = WindowCorpus(iter_samples(args.corpus, "train"), cfg.model, hours, lead_in=lead_in)
    heldout = WindowCorpus(iter_samples(args.corpus, "heldout"), cfg.model, cfg.max_hours)
    log(
        {
            "stage": args.stage,
            "corpus": str(args.corpus),
            "train_hours": round(train.hours, 3),
            "train_windows": len(train),
            "lead_in_utterances": int((train.lead_frames > 0).sum()),
            "lead_in_windows": int(train.lead_frames.sum() // cfg.model.window.frames),
            "heldout_hours": round(heldout.hours, 3),
            "device": args.device,
            "threads": torch.get_num_threads(),
        }
    )
    if args.stage == "vq":
        train_vq(cfg, train, heldout, run, args.device, log, not args.no_progress, args.stop_after)
    else:
        model = train_ar(cfg, train, heldout, run, args.device, log, not args.no_progress, args.stop_after)
        if model is None:
            return
        log(
            {
                "stage": "ar",
                "saved": str(run / "model.safetensors"),
                "model_id": model.model_id,
                "presets": sorted(model.style_presets),
            }
        )
        if args.install:
            log({"installed": str(install(run, cfg, guidance=args.guidance))})


if __name__ == "__main__":
    main()

"""Train a model on a generated corpus.

    python -m artalk_service.train --corpus corpus/ --out runs/r1 [--tiny] [--ae-steps N] [--ar-steps N]
        [--device cpu] [--threads 2] [--install]

Writes <out>/model.safetensors, <out>/train_config.json and <out>/log.jsonl; --install
also copies the model to the bundled default path.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
from pathlib import Path

import torch

from ..model import default_model_path
from .config import TrainConfig
from .trainer import train
from .windows import WindowCorpus


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m artalk_service.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True, help="corpus directory (artalk_service.data)")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--tiny", action="store_true", help="tiny model and a few steps (smoke test)")
    p.add_argument("--ae-steps", type=int, help="autoencoder steps (default from TrainConfig)")
    p.add_argument("--ar-steps", type=int, help="transformer steps (default from TrainConfig)")
    p.add_argument("--max-hours", type=float, help="corpus hours loaded per split")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--install", action="store_true", help=f"copy the model to {default_model_path()}")
    args = p.parse_args(argv)

    from ..data.dataset import iter_samples  # the corpus reader; imported late: only needed here

    cfg = TrainConfig.tiny() if args.tiny else TrainConfig()
    if args.ae_steps is not None:
        cfg = dataclasses.replace(cfg, autoencoder=dataclasses.replace(cfg.autoencoder, steps=args.ae_steps))
    if args.ar_steps is not None:
        cfg = dataclasses.replace(cfg, transformer=dataclasses.replace(cfg.transformer, steps=args.ar_steps))
    if args.max_hours is not None:
        cfg = dataclasses.replace(cfg, max_hours=args.max_hours)
    if args.threads:
        torch.set_num_threads(args.threads)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
    with open(out / "log.jsonl", "a") as log_file:
        def log(record: dict) -> None:
            line = json.dumps(record)
            print(line, flush=True)
            log_file.write(line + "\n")
            log_file.flush()

        train_set = WindowCorpus(iter_samples(args.corpus, "train"), cfg.model, cfg.max_hours)
        heldout_set = WindowCorpus(iter_samples(args.corpus, "heldout"), cfg.model, cfg.max_hours)
        model = train(cfg, train_set, heldout_set, args.device, log)
        model.save(out / "model.safetensors")
        log({"saved": str(out / "model.safetensors"), "model_id": model.model_id,
             "presets": sorted(model.style_presets)})
    if args.install:
        default_model_path().parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / "model.safetensors", default_model_path())


if __name__ == "__main__":
    main()

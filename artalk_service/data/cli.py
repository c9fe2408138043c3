"""artalk-data: generate and inspect the synthetic training corpus."""

from __future__ import annotations

import argparse
import os
import sys
import time

from artalk_service.data.corpus import generate
from artalk_service.data.sample import DEFAULT_HELDOUT_VOICES, CorpusConfig


def _generate(args: argparse.Namespace) -> None:
    config = CorpusConfig(
        seed=args.seed,
        shard_size=args.shard_size,
        heldout_voices=tuple(args.heldout_voice or DEFAULT_HELDOUT_VOICES),
    )
    heldout = args.heldout_hours if args.heldout_hours is not None else max(0.05 * args.hours, 0.01)
    start = time.perf_counter()
    manifest = generate(args.out, args.hours, heldout, config, workers=args.workers)
    wall = time.perf_counter() - start
    made = sum(s["hours"] for s in manifest["splits"].values())
    print(
        f"{args.out}: train {manifest['splits']['train']['hours']:.3f} h, heldout "
        f"{manifest['splits']['heldout']['hours']:.3f} h (voices "
        f"{', '.join(manifest['heldout_voices'])}); {wall / 60:.1f} min wall, "
        f"{made / (wall / 3600):.1f} corpus hours per hour (incl. shards already present)"
    )


def _inspect(args: argparse.Namespace) -> None:
    from artalk_service.data.inspect import inspect_corpus

    print(inspect_corpus(args.dir, png=args.png, sample_id=args.sample))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="artalk-data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="generate (or resume) a corpus")
    gen.add_argument("--hours", type=float, required=True, help="hours of training audio")
    gen.add_argument("--out", required=True, help="output directory")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument(
        "--heldout-hours",
        type=float,
        default=None,
        help="hours of held-out-voice audio (default: 5%% of --hours)",
    )
    gen.add_argument(
        "--heldout-voice",
        action="append",
        help=f"engine:voice to hold out (repeatable; default {' '.join(DEFAULT_HELDOUT_VOICES)})",
    )
    gen.add_argument("--shard-size", type=int, default=CorpusConfig.shard_size, help="samples per shard")
    gen.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    gen.set_defaults(func=_generate)
    ins = sub.add_parser("inspect", help="summarise a corpus and plot one sample")
    ins.add_argument("dir")
    ins.add_argument("--png", default=None, help="plot path (default DIR/inspect.png)")
    ins.add_argument("--sample", default=None, help="sample id to plot (default: first)")
    ins.set_defaults(func=_inspect)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main(sys.argv[1:])

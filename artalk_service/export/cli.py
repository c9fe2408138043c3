"""`artalk-export`: write a model's ONNX graphs, their parity figures and manifest.json to a folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="artalk-export", description=__doc__.split(":", 1)[1].strip())
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder to write (default: the service's cache, $ARTALK_CACHE_DIR/onnx/<model id>)",
    )
    source = p.add_mutually_exclusive_group()
    source.add_argument("--model", default=None, help="checkpoint (.safetensors); default: the bundled model")
    source.add_argument(
        "--tiny",
        "--untrained-tiny",
        action="store_true",
        help="ModelConfig.tiny() with random weights (seed 0): a fast export for CI",
    )
    p.add_argument("--clips", type=int, default=20, help="real speech clips for the parity check (default 20)")
    p.add_argument("--seed", type=int, default=0, help="seed of the parity clips")
    args = p.parse_args(argv)

    from artalk_service.export import default_onnx_dir, export_model
    from artalk_service.export.parity import ParityFailed
    from artalk_service.model import ModelConfig, MotionModel, default_model_path

    if args.tiny:
        model = MotionModel.untrained(ModelConfig.tiny())
    else:
        path = Path(args.model or default_model_path())
        if not path.is_file():
            raise SystemExit(f"model file {path} not found")
        model = MotionModel.load(path)
    out = args.out or default_onnx_dir(model.model_id)
    try:
        manifest = export_model(model, out, clips=args.clips, seed=args.seed)
    except ParityFailed as err:
        raise SystemExit(str(err)) from None
    parity = manifest["parity"]
    print(
        json.dumps(
            {
                "out": str(out),
                "model_id": manifest["model_id"],
                "opset": manifest["opset"],
                "files": {g["file"]: g["bytes"] for g in manifest["graphs"].values()},
                "max_abs_diff": parity["max_abs_diff"],
                "frames_max_abs_diff": parity["frames_max_abs_diff"],
                "greedy": parity["greedy"],
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

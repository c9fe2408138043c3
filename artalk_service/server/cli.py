"""`artalk-service serve`: run the gRPC service."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

# Before torch loads OpenMP: spinning idle threads cost a 27x slow-down next to other
# CPU work (measured, benchmarks/README.md); passive waiting costs nothing measurable.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from artalk_service.server.app import serve_forever  # noqa: E402


def load_model(model_path: str | None, device: str, untrained: bool):
    import torch

    from artalk_service.model import MotionModel, ModelConfig, default_model_path

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("--device cuda was requested but torch sees no CUDA device; use --device cpu")
    if untrained:
        return MotionModel.untrained(ModelConfig(), device=device)
    path = model_path or default_model_path()
    try:
        return MotionModel.load(path, device=device)
    except FileNotFoundError:
        if model_path:
            raise SystemExit(f"model file {model_path} not found")
        logging.getLogger("artalk.server").warning(
            "no trained model at %s; serving the UNTRAINED architecture (animation will be meaningless)", path)
        return MotionModel.untrained(ModelConfig(), device=device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="artalk-service", description="Speech-driven facial animation over gRPC.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the gRPC service")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=50051, help="port (default 50051; 0 picks a free one)")
    serve.add_argument("--device", default="auto", help="cpu, cuda or cuda:N (default: cuda if available)")
    serve.add_argument("--model", default=None, help="model checkpoint (.safetensors); default: the bundled model")
    serve.add_argument("--untrained", action="store_true", help="serve the architecture with random weights (testing)")
    serve.add_argument("--retarget-dir", type=Path, default=None,
                       help="folder of retarget maps (*.json, *.yaml): each is a preset named by its file stem, "
                            "reloaded when the file changes")
    serve.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.retarget_dir is not None and not args.retarget_dir.is_dir():
        raise SystemExit(f"--retarget-dir {args.retarget_dir} is not a folder")
    model = load_model(args.model, args.device, args.untrained)
    asyncio.run(serve_forever(model, args.host, args.port, retarget_dir=args.retarget_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())

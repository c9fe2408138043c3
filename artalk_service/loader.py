"""One way for every tool to load a model: the service, the retarget preview and the benchmarks.

    model = load_model()                                  # the bundled model, the faster backend here
    model = load_model("run/model.safetensors", device="cuda", backend="torch")

The backend is chosen for the device (model.backend.resolve_backend) and the onnxruntime one
exports the model to ONNX first if its cache folder lacks the graphs (once per model: about
a minute, said in one log line).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from artalk_service.model import ModelConfig, MotionModel, default_model_path
from artalk_service.model.backend import resolve_backend

log = logging.getLogger("artalk.loader")


class ModelLoadError(Exception):
    """The model or its backend cannot be loaded; the message says why and what to do."""


def load_model(
    model_path: str | Path | None = None,
    device: str = "auto",
    backend: str = "auto",
    onnx_dir: Path | None = None,
    untrained: bool = False,
    tiny: bool = False,
) -> MotionModel:
    """A model ready to serve. model_path None: the bundled model (or, if none is installed, the
    untrained architecture, with a warning). untrained: random weights; tiny: ModelConfig.tiny()."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    backend = resolve_backend(backend, torch.device(device))
    if backend == "torch" and device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError("--device cuda was requested but torch sees no CUDA device; use --device cpu")
    torch_device = device if backend == "torch" else "cpu"  # onnxruntime: exported from the CPU
    model = _torch_model(model_path, torch_device, untrained, tiny)
    if backend == "torch":
        return model
    from artalk_service.export.onnx_backend import onnxruntime_model

    try:
        return onnxruntime_model(model, device, onnx_dir)
    except (ImportError, RuntimeError, ValueError) as err:
        raise ModelLoadError(f"--backend onnxruntime: {err}") from None


def _torch_model(model_path: str | Path | None, device: str, untrained: bool, tiny: bool) -> MotionModel:
    if untrained or tiny:
        return MotionModel.untrained(ModelConfig.tiny() if tiny else ModelConfig(), device=device)
    path = model_path or default_model_path()
    try:
        return MotionModel.load(path, device=device)
    except FileNotFoundError:
        if model_path:
            raise ModelLoadError(f"model file {model_path} not found") from None
        log.warning("no trained model at %s; serving the UNTRAINED architecture (animation will be meaningless)", path)
        return MotionModel.untrained(ModelConfig(), device=device)

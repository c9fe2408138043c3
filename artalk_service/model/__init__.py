"""ARTalk's method as our model: speech -> multi-scale motion codes -> facial animation frames.

model = load_default_model("cpu")
stream = model.open_stream(StreamOptions(style=None, seed=0))
stream.push_audio(chunk_16k); frames = stream.process(); ...; frames = stream.flush()
"""

from __future__ import annotations

from pathlib import Path

import torch

from .config import ModelConfig
from .motion_model import MotionModel
from .stream import MotionStream, StreamOptions, WindowJob

__all__ = [
    "ModelConfig",
    "MotionModel",
    "MotionStream",
    "StreamOptions",
    "WindowJob",
    "default_model_path",
    "load_default_model",
]


def default_model_path() -> Path:
    return Path(__file__).resolve().parent.parent / "assets" / "model" / "default.safetensors"


def load_default_model(device: str | torch.device = "cpu") -> MotionModel:
    path = default_model_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"no bundled model at {path}: train one (artalk-train vq, then artalk-train ar --install) "
            f"or use MotionModel.untrained(ModelConfig()) for an untrained stand-in"
        )
    return MotionModel.load(path, device)

"""Training: the motion autoencoder, then the AR transformer (stages.py, artalk-train)."""

from .config import StageConfig, TrainConfig
from .windows import WindowCorpus

__all__ = ["StageConfig", "TrainConfig", "WindowCorpus"]

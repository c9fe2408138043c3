"""Training: the motion autoencoder, then the AR transformer (see trainer.py)."""
from .config import StageConfig, TrainConfig
from .trainer import train
from .windows import WindowCorpus

__all__ = ["StageConfig", "TrainConfig", "WindowCorpus", "train"]

"""Training configuration: the model's config plus the two stages' optimisation settings."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..model.config import ModelConfig, _from_dict


@dataclass(frozen=True)
class StageConfig:
    steps: int
    batch_size: int = 64
    lr: float = 3e-4
    weight_decay: float = 0.01
    warmup_steps: int = 200
    grad_clip: float = 1.0


@dataclass(frozen=True)
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    autoencoder: StageConfig = field(default_factory=lambda: StageConfig(steps=4000, lr=1e-3))
    transformer: StageConfig = field(default_factory=lambda: StageConfig(steps=8000, lr=3e-4))
    style_dropout: float = 0.1      # share of windows trained with the null style
    max_hours: float = 20.0         # corpus hours held in memory per split
    std_floor: float = 0.01         # channels that barely move are not blown up by normalisation
    feature_cache_gb: float = 4.0   # frozen Whisper features kept between epochs (fp16)
    eval_every: int = 500
    eval_windows: int = 256
    log_every: int = 50
    seed: int = 0

    @classmethod
    def tiny(cls) -> TrainConfig:
        return cls(model=ModelConfig.tiny(),
                   autoencoder=StageConfig(steps=20, batch_size=8, lr=1e-3, warmup_steps=2),
                   transformer=StageConfig(steps=20, batch_size=8, lr=1e-3, warmup_steps=2),
                   eval_every=10, eval_windows=16, log_every=5)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        return _from_dict(cls, d)

"""Training configuration: the model's config plus the two stages' optimisation settings."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

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
    style_dropout: float = 0.1  # share of windows trained with the null style
    max_hours: float = 20.0  # corpus hours held in memory per split
    ar_max_hours: float = 20.0  # of those, the hours stage 2 trains on (its Whisper features are cached)
    std_floor: float = 0.01  # channels that barely move are not blown up by normalisation
    feature_cache_gb: float = 4.0  # frozen Whisper features kept between epochs (fp16)
    eval_every: int = 500
    eval_windows: int = 256
    log_every: int = 50
    seed: int = 0
    ema_decay: float = 0.999  # the averaged weights are what is evaluated, saved and installed
    checkpoint_every: int = 250  # steps between resumable checkpoints (and model exports)
    feature_dropout: float = 0.1  # dropout on the frozen Whisper features while training (regulariser)
    lip_gap_weight: float = 0.0  # extra L1 on the lip opening (closures, open vowels) wherever motion
    # is compared: stage 1, and stage 2's decoded-motion term
    phone_loss_weight: float = 0.0  # stage 2: auxiliary phone classification of the adapted speech
    # features (needs model.speech.phone_classes)
    bilabial_token_weight: float = 0.0  # stage 2: extra bit cross-entropy weight of the tokens over
    # p/b/m frames (model.losses.TransformerLossWeights)
    decoded_motion_weight: float = 0.0  # stage 2: the stage-1 motion loss on the motion decoded from the
    # predicted (greedy, straight-through) bits
    audio_dropout: float = 0.0  # stage 2: share of windows trained with the null audio condition
    # (needs model.speech.null_audio; enables classifier-free guidance)
    free_running_utterances: int = 4  # held-out utterances generated at each transformer evaluation
    lead_in_share: float = 0.0  # stage 2: share of training utterances that start with 0.4-5 s of
    # non-speech (silence, noise, babble) over rest targets (train.windows.LeadIn)

    def __post_init__(self) -> None:
        if self.phone_loss_weight > 0 and not self.model.speech.phone_classes:
            raise ValueError("phone_loss_weight > 0 needs model.speech.phone_classes (40: data.phones.PHONES)")
        if self.audio_dropout > 0 and not self.model.speech.null_audio:
            raise ValueError("audio_dropout > 0 needs model.speech.null_audio: true")

    @classmethod
    def tiny(cls) -> TrainConfig:
        return cls(
            model=ModelConfig.tiny(),
            autoencoder=StageConfig(steps=20, batch_size=8, lr=1e-3, warmup_steps=2),
            transformer=StageConfig(steps=20, batch_size=8, lr=1e-3, warmup_steps=2),
            eval_every=10,
            eval_windows=16,
            log_every=5,
            checkpoint_every=10,
            max_hours=0.05,
            free_running_utterances=1,
        )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        return _from_dict(cls, d)

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        """A JSON or YAML file: `base: default|tiny` (default: default) plus any fields to
        override, nested as in to_dict(); unknown fields are an error."""
        text = Path(path).read_text()
        d = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
        d = dict(d or {})
        base = d.pop("base", "default")
        if base not in ("default", "tiny"):
            raise ValueError(f"{path}: base must be 'default' or 'tiny', got {base!r}")
        start = (cls.tiny() if base == "tiny" else cls()).to_dict()
        return cls.from_dict(_merge(start, d))


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for k, v in override.items():
        out[k] = _merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out

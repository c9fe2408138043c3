"""festival with Debian's English festvox voices; a Scheme script saves the wave and segments."""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile
from dataclasses import dataclass

from artalk_service.data.engines.base import SpeakingParams, Synthesis, finish
from artalk_service.data.engines.flite import read_wav
from artalk_service.data.phones import PhoneSegment, cmu_to_phones, split_evenly

NAME = "festival"


@dataclass(frozen=True)
class _Voice:
    scheme_name: str
    duration_stretch: float  # the voice's own default, which our rate multiplies
    f0_mean: float | None  # diphone voices' intonation target (Hz); None: the model's own F0
    f0_std: float = 14.0


VOICES: dict[str, _Voice] = {
    "kal": _Voice("voice_kal_diphone", 1.1, 105.0, 14.0),
    "ked": _Voice("voice_ked_diphone", 1.1, 105.0, 15.0),
    "slt_hts": _Voice("voice_cmu_us_slt_arctic_hts", 1.0, None),
}


class FestivalEngine:
    name = NAME

    def version(self) -> str:
        return _version()

    def voices(self) -> tuple[str, ...]:
        return tuple(VOICES)

    def synthesize(self, text: str, voice: str, params: SpeakingParams) -> Synthesis:
        with tempfile.TemporaryDirectory() as tmp:
            wav_path, seg_path = os.path.join(tmp, "out.wav"), os.path.join(tmp, "out.segs")
            script = _script(text, VOICES[voice], params, wav_path, seg_path)
            subprocess.run(["festival", "--pipe"], input=script, capture_output=True, text=True, check=True)
            audio, rate = read_wav(wav_path)
            with open(seg_path) as f:
                segments = parse_segs(f.read())
        return finish(audio, rate, segments, params.volume)


def _script(text: str, voice: _Voice, params: SpeakingParams, wav_path: str, seg_path: str) -> str:
    quoted = text.replace("\\", " ").replace('"', "'")
    lines = [
        f"({voice.scheme_name})",
        f"(Parameter.set 'Duration_Stretch {voice.duration_stretch / params.rate:.4f})",
    ]
    if voice.f0_mean is not None:
        f0 = voice.f0_mean * 2 ** (params.pitch_semitones / 12)
        lines.append(
            f"(set! int_lr_params '((target_f0_mean {f0:.1f}) "
            f"(target_f0_std {voice.f0_std * params.pitch_range:.1f}) "
            "(model_f0_mean 170) (model_f0_std 34)))"
        )
    lines += [
        f'(set! utt (utt.synth (Utterance Text "{quoted}")))',
        f'(utt.save.wave utt "{wav_path}" \'riff)',
        f'(utt.save.segs utt "{seg_path}")',
    ]
    return "\n".join(lines) + "\n"


def parse_segs(text: str) -> list[PhoneSegment]:
    """festival's segment file: a header up to '#', then 'end_time 100 phone' lines."""
    body = text.split("#", 1)[1] if "#" in text else text
    segments: list[PhoneSegment] = []
    start = 0.0
    for line in body.strip().splitlines():
        end_s, _, name = line.split()
        end = float(end_s)
        segments.extend(split_evenly(cmu_to_phones(name), start, end))
        start = end
    return segments


@functools.cache
def _version() -> str:
    out = subprocess.run(["festival", "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip().split(": ", 1)[-1]

"""Record the bundled model's frames for a fixed wav and fixed seeds (tests/fixtures/golden_frames.npz).

    python tools/golden_frames.py            # rewrite the fixture (after an intended model change)
    python tools/golden_frames.py --check    # exit 1 if today's frames differ from the fixture

A refactor must leave these frames unchanged; tests/model/test_golden_frames.py checks them.
Cases cover greedy and sampled decoding, style presets (their blink rates), guidance and
streaming in uneven chunks, on the torch backend with one thread.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from artalk_service.audio.wav import load_wav_16k
from artalk_service.model import MotionModel, StreamOptions, load_default_model

ROOT = Path(__file__).resolve().parent.parent
WAV = ROOT / "tests" / "fixtures" / "speech_16k.wav"
FIXTURE = ROOT / "tests" / "fixtures" / "golden_frames.npz"
LEAD_IN_SAMPLES = 8000  # half a second of digital silence before the speech
CHUNK_SAMPLES = 1234  # streamed in chunks that match no window boundary

CASES = {
    "greedy": StreamOptions(),
    "excited_seed3": StreamOptions(style="excited", seed=3),
    "sad_sampled": StreamOptions(style="sad", seed=7, temperature=0.8, top_p=0.9),
    "guided": StreamOptions(style="calm", seed=1, guidance=2.0),
}
STREAMED = StreamOptions(style="happy", seed=5)


def golden_frames(model: MotionModel) -> dict[str, np.ndarray]:
    audio = np.concatenate([np.zeros(LEAD_IN_SAMPLES, np.float32), load_wav_16k(WAV)])
    frames = {name: model.animate(audio, options) for name, options in CASES.items()}
    stream, parts = model.open_stream(STREAMED), []
    for i in range(0, audio.size, CHUNK_SAMPLES):
        stream.push_audio(audio[i : i + CHUNK_SAMPLES])
        parts.append(stream.process())
    frames["streamed_happy"] = np.concatenate([*parts, stream.flush()])
    return frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the fixture instead of writing it")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model = load_default_model()
    frames = golden_frames(model)
    if not args.check:
        np.savez(FIXTURE, model_id=np.array(model.model_id), **frames)
        print(f"wrote {FIXTURE.relative_to(ROOT)} for {model.model_id}")
        return 0
    saved = np.load(FIXTURE)
    differ = [name for name in frames if not np.array_equal(frames[name], saved[name])]
    for name in frames:
        print(f"{name}: max |diff| {np.abs(frames[name] - saved[name]).max():.3g}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())

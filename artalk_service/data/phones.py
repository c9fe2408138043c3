"""The phone inventory of the corpus and the conversions from each engine's symbols.

Every engine reports phones in its own alphabet: espeak-ng and piper in IPA, flite and
festival in CMU's ARPAbet-like set. All are mapped onto the 39 CMUdict phones plus
silence, so that per-frame labels and articulation targets share one inventory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from artalk_service.layout import ARKIT61

SILENCE = "sil"

# Id 0 is silence; the rest are the 39 CMUdict phones (stress removed, schwa merged into ah).
PHONES: tuple[str, ...] = (
    SILENCE,
    "aa",
    "ae",
    "ah",
    "ao",
    "aw",
    "ay",
    "eh",
    "er",
    "ey",
    "ih",
    "iy",
    "ow",
    "oy",
    "uh",
    "uw",
    "b",
    "ch",
    "d",
    "dh",
    "f",
    "g",
    "hh",
    "jh",
    "k",
    "l",
    "m",
    "n",
    "ng",
    "p",
    "r",
    "s",
    "sh",
    "t",
    "th",
    "v",
    "w",
    "y",
    "z",
    "zh",
)
PHONE_ID: dict[str, int] = {p: i for i, p in enumerate(PHONES)}
VOWELS: frozenset[str] = frozenset(PHONES[1:16])
BILABIALS: frozenset[str] = frozenset({"p", "b", "m"})
LABIODENTALS: frozenset[str] = frozenset({"f", "v"})
ROUNDED_VOWELS: frozenset[str] = frozenset({"uw", "uh", "ow", "ao", "oy", "aw"})

# CMU/festvox names that are not in the 39-phone set.
_CMU_ALIASES: dict[str, tuple[str, ...]] = {
    "pau": (SILENCE,),
    "h#": (SILENCE,),
    "brth": (SILENCE,),
    "sil": (SILENCE,),
    "#": (SILENCE,),
    "ax": ("ah",),
    "axr": ("er",),
    "ix": ("ih",),
    "dx": ("d",),
    "nx": ("n",),
    "el": ("ah", "l"),
    "em": ("ah", "m"),
    "en": ("ah", "n"),
    "hv": ("hh",),
}

# IPA as espeak-ng (and piper, which phonemises with espeak-ng) writes English.
# Longest match wins, so multi-symbol entries (diphthongs, affricates) come first implicitly.
_IPA: dict[str, tuple[str, ...]] = {
    # vowels
    "ɑː": ("aa",),
    "ɑ": ("aa",),
    "ɒ": ("aa",),
    "æ": ("ae",),
    "a": ("ae",),
    "ʌ": ("ah",),
    "ə": ("ah",),
    "ɐ": ("ah",),
    "ɜː": ("er",),
    "ɜ": ("er",),
    "ɚ": ("er",),
    "ɝ": ("er",),
    "ɔː": ("ao",),
    "ɔ": ("ao",),
    "oː": ("ao",),
    "aʊ": ("aw",),
    "aɪ": ("ay",),
    "ɑɪ": ("ay",),
    "ɛ": ("eh",),
    "e": ("eh",),
    "eɪ": ("ey",),
    "ɪ": ("ih",),
    "ᵻ": ("ih",),
    "i": ("iy",),
    "iː": ("iy",),
    "oʊ": ("ow",),
    "əʊ": ("ow",),
    "o": ("ow",),
    "ɔɪ": ("oy",),
    "ʊ": ("uh",),
    "u": ("uw",),
    "uː": ("uw",),
    "ɯ": ("uw",),
    "ʉ": ("uw",),
    "ɪə": ("ih", "ah"),
    "eə": ("eh", "ah"),
    "ɛə": ("eh", "ah"),
    "ʊə": ("uh", "ah"),
    "aɪə": ("ay", "ah"),
    "aʊə": ("aw", "ah"),
    "ɚː": ("er",),
    "ɜːɹ": ("er",),
    "ɐɪ": ("ey",),
    "ɑʊ": ("aw",),
    "ɒʊ": ("ow",),
    "y": ("uw",),
    "əɪ": ("ah", "ih"),
    "ø": ("er",),
    "œ": ("er",),
    # consonants
    "p": ("p",),
    "b": ("b",),
    "t": ("t",),
    "d": ("d",),
    "k": ("k",),
    "ɡ": ("g",),
    "g": ("g",),
    "f": ("f",),
    "v": ("v",),
    "θ": ("th",),
    "ð": ("dh",),
    "s": ("s",),
    "z": ("z",),
    "ʃ": ("sh",),
    "ʒ": ("zh",),
    "h": ("hh",),
    "tʃ": ("ch",),
    "dʒ": ("jh",),
    "m": ("m",),
    "n": ("n",),
    "ŋ": ("ng",),
    "l": ("l",),
    "ɫ": ("l",),
    "ɹ": ("r",),
    "r": ("r",),
    "ɾ": ("d",),
    "w": ("w",),
    "ʍ": ("w",),
    "j": ("y",),
    "ʔ": ("t",),
    "x": ("k",),
    "ç": ("hh",),
    "ɬ": ("l",),
    "ʲ": (),
}
_IPA_MAX_KEY = max(len(k) for k in _IPA)
# Marks that carry no articulation of their own: stress, length, syllabicity, ties, breaks.
_IPA_IGNORED = frozenset("ˈˌːˑ:-‿͡_|. \u0329\u0303\u032f\u032a\u030a\u0325\u0361\u02b0\u02b7\u02de")


@dataclass(frozen=True)
class PhoneSegment:
    """One phone and its time span in seconds."""

    phone: str
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def center(self) -> float:
        return 0.5 * (self.start + self.end)


class UnknownSymbol(ValueError):
    """An engine produced a symbol with no mapping; the mapping tables need an entry."""


def ipa_to_phones(symbols: str) -> tuple[str, ...]:
    """Split an IPA string (one espeak phoneme event, or a word) into corpus phones."""
    out: list[str] = []
    i = 0
    while i < len(symbols):
        if symbols[i] in _IPA_IGNORED:
            i += 1
            continue
        for n in range(min(_IPA_MAX_KEY, len(symbols) - i), 0, -1):
            key = symbols[i : i + n]
            if key in _IPA:
                out.extend(_IPA[key])
                i += n
                break
        else:
            raise UnknownSymbol(f"no phone for IPA {symbols[i]!r} in {symbols!r}")
    return tuple(out)


def ipa_char_phones(symbols: list[str]) -> list[tuple[str, list[int]]]:
    """Group per-character IPA symbols (piper's alignment unit) into phones.

    Returns (phone, indices of the symbols it spans). Ignored marks such as stress join
    the phone that follows them, which is where their audio belongs.
    """
    out: list[tuple[str, list[int]]] = []
    pending: list[int] = []
    i = 0
    while i < len(symbols):
        if symbols[i] in _IPA_IGNORED:
            pending.append(i)
            i += 1
            continue
        for n in range(min(_IPA_MAX_KEY, len(symbols) - i), 0, -1):
            key = "".join(symbols[i : i + n])
            if key in _IPA:
                phones = _IPA[key]
                span = pending + list(range(i, i + n))
                pending = []
                for p in phones:  # a two-phone key (e.g. ɪə) shares its span; split later
                    out.append((p, span))
                i += n
                break
        else:
            raise UnknownSymbol(f"no phone for IPA {symbols[i]!r} in {''.join(symbols)!r}")
    if pending and out:
        out[-1][1].extend(pending)
    return out


def cmu_to_phones(name: str) -> tuple[str, ...]:
    """Map one flite/festival segment name onto corpus phones."""
    name = name.strip().lower().rstrip("012")
    if name in _CMU_ALIASES:
        return _CMU_ALIASES[name]
    if name in PHONE_ID:
        return (name,)
    raise UnknownSymbol(f"no phone for CMU symbol {name!r}")


def split_evenly(phones: tuple[str, ...], start: float, end: float) -> list[PhoneSegment]:
    """Share one span among the phones an event expands to (e.g. espeak's 'ɛɹ')."""
    if not phones:
        return []
    step = (end - start) / len(phones)
    return [PhoneSegment(p, start + k * step, start + (k + 1) * step) for k, p in enumerate(phones)]


def merge_segments(segments: list[PhoneSegment]) -> tuple[PhoneSegment, ...]:
    """Drop empty spans and merge adjacent silences, keeping the timeline contiguous."""
    out: list[PhoneSegment] = []
    for s in segments:
        if s.end - s.start <= 1e-6:
            continue
        if out and s.phone == SILENCE and out[-1].phone == SILENCE:
            out[-1] = PhoneSegment(SILENCE, out[-1].start, s.end)
        else:
            out.append(s)
    return tuple(out)


def snap_to_length(segments: tuple[PhoneSegment, ...], duration: float) -> tuple[PhoneSegment, ...]:
    """Make the timeline start at 0 and end exactly at the audio's duration.

    Gaps at either end become silence; a last phone that overruns is cut. Callers check
    the size of the disagreement first (see engines.base.check_timing).
    """
    segs = [s for s in segments if s.start < duration]
    if not segs:
        return (PhoneSegment(SILENCE, 0.0, duration),)
    if segs[0].start > 0:
        segs.insert(0, PhoneSegment(SILENCE, 0.0, segs[0].start))
    last = segs[-1]
    if last.end < duration:
        segs.append(PhoneSegment(SILENCE, last.end, duration))
    else:
        segs[-1] = PhoneSegment(last.phone, last.start, duration)
    return merge_segments(segs)


def frame_times(num: int) -> np.ndarray:
    """Centre time of each motion frame, in seconds."""
    return (np.arange(num) + 0.5) / ARKIT61.fps


def frame_labels(segments: tuple[PhoneSegment, ...], num: int) -> np.ndarray:
    """Per-frame phone ids: the phone under each frame's centre (silence past the end)."""
    t = frame_times(num)
    starts = np.array([s.start for s in segments])
    idx = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(segments) - 1)
    ids = np.array([PHONE_ID[s.phone] for s in segments], dtype=np.int16)[idx]
    ends = np.array([s.end for s in segments])[idx]
    ids[t >= ends] = PHONE_ID[SILENCE]
    return ids.astype(np.int16)

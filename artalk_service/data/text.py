"""English sentences from Debian's fortune databases (packages `fortunes` and `fortunes-min`).

A fortune is cleaned (attributions and code-like ones dropped), split into sentences, and
an utterance is a run of 1-3 consecutive sentences of one fortune.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from dataclasses import dataclass

import numpy as np

FORTUNE_DIR = "/usr/share/games/fortunes"
SOURCE_PACKAGES = ("fortunes", "fortunes-min")
_EXCLUDED_FILES = frozenset({"ascii-art"})  # pictures, not sentences
_CODE_LIKE = re.compile(r"[@/\\<>{}\[\]|=#_*~^`$%&+]")
_ALLOWED = re.compile(r"^[A-Za-z0-9 .,;:!?'\"()-]+$")
_ATTRIBUTION = re.compile(r"^\s*(--|- [A-Z])")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
MIN_WORDS, MAX_WORDS = 3, 30  # per sentence
MAX_UTTERANCE_WORDS = 40  # keeps utterances under ~15 s at slow rates


@dataclass(frozen=True)
class TextPool:
    """Cleaned fortunes, each a tuple of sentences, in a fixed order."""

    fortunes: tuple[tuple[str, ...], ...]
    source: str  # where the text came from, for the manifest

    @property
    def num_sentences(self) -> int:
        return sum(len(f) for f in self.fortunes)

    def utterance(self, rng: np.random.Generator) -> str:
        """1-3 consecutive sentences of one randomly chosen fortune."""
        fortune = self.fortunes[int(rng.integers(len(self.fortunes)))]
        first = int(rng.integers(len(fortune)))
        want = int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
        chosen = [fortune[first]]
        for sentence in fortune[first + 1 : first + want]:
            if len(" ".join(chosen + [sentence]).split()) > MAX_UTTERANCE_WORDS:
                break
            chosen.append(sentence)
        return " ".join(chosen)


def clean_fortune(raw: str) -> tuple[str, ...]:
    """Sentences of one fortune that a speech engine can read as plain English."""
    lines = []
    for line in raw.splitlines():
        if _ATTRIBUTION.match(line):
            break  # attribution lines and anything after them
        lines.append(line.strip())
    text = " ".join(" ".join(lines).split())
    text = text.replace("``", '"').replace("''", '"').replace("`", "'")
    if not text or _CODE_LIKE.search(text) or not _ALLOWED.match(text):
        return ()
    sentences = []
    for s in _SENTENCE_END.split(text):
        words = s.split()
        alpha = sum(w.strip(".,;:!?'\"()-").isalpha() for w in words)
        if MIN_WORDS <= len(words) <= MAX_WORDS and alpha >= 0.8 * len(words):
            sentences.append(s)
    return tuple(sentences)


@functools.cache
def load_text_pool(directory: str = FORTUNE_DIR) -> TextPool:
    names = sorted(
        n
        for n in os.listdir(directory)
        if "." not in n and n not in _EXCLUDED_FILES and os.path.isfile(os.path.join(directory, n))
    )
    if not names:
        raise FileNotFoundError(f"no fortune files in {directory}; apt-get install fortunes")
    fortunes: list[tuple[str, ...]] = []
    seen: set[tuple[str, ...]] = set()
    for name in names:
        with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as f:
            for raw in f.read().split("\n%\n"):
                sentences = clean_fortune(raw)
                if sentences and sentences not in seen:
                    seen.add(sentences)
                    fortunes.append(sentences)
    return TextPool(tuple(fortunes), _describe_source(directory, len(names)))


def _describe_source(directory: str, num_files: int) -> str:
    versions = []
    for pkg in SOURCE_PACKAGES:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True, check=False)
        versions.append(f"{pkg} {out.stdout.strip() or '(not installed)'}")
    return f"Debian {', '.join(versions)}: {num_files} databases in {directory}"

"""Speech engines that report phone timings. Each module wraps one engine."""

from __future__ import annotations

import functools

from artalk_service.data.engines.base import (
    Engine,
    SpeakingParams,
    Synthesis,
    TimingMismatch,
)

ENGINE_NAMES: tuple[str, ...] = ("espeak", "flite", "festival", "piper")


@functools.cache
def get_engine(name: str) -> Engine:
    # imported lazily: each engine loads its own library or model on first use
    if name == "espeak":
        from artalk_service.data.engines.espeak import EspeakEngine

        return EspeakEngine()
    if name == "flite":
        from artalk_service.data.engines.flite import FliteEngine

        return FliteEngine()
    if name == "festival":
        from artalk_service.data.engines.festival import FestivalEngine

        return FestivalEngine()
    if name == "piper":
        from artalk_service.data.engines.piper import PiperEngine

        return PiperEngine()
    raise ValueError(f"unknown engine {name!r}; known: {ENGINE_NAMES}")


__all__ = [
    "ENGINE_NAMES",
    "Engine",
    "SpeakingParams",
    "Synthesis",
    "TimingMismatch",
    "get_engine",
]

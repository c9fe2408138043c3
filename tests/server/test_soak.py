"""Soak: many sessions with random disconnects, cancels and flushes against one real server
(artalk_service/bench/soak.py); no leaked tasks, threads or file descriptors, bounded memory.

ARTALK_SOAK_SESSIONS sets the session count (default 200; the 1,000-session run:
`python -m artalk_service.bench.soak --sessions 1000`).
"""

from __future__ import annotations

import os

import pytest

from artalk_service.audio.sample_speech import sample_speech
from artalk_service.bench.load import BenchServer
from artalk_service.bench.soak import RSS_BOUND_MB, SoakClient, soak
from artalk_service.model import ModelConfig, MotionModel

SESSIONS = int(os.environ.get("ARTALK_SOAK_SESSIONS", "200"))


@pytest.fixture(scope="module")
def soak_server():
    srv = BenchServer(MotionModel.untrained(ModelConfig.tiny()))
    yield srv
    srv.stop()


def test_sessions_that_end_in_every_way_leak_nothing(soak_server):
    client = SoakClient(soak_server.target, sample_speech(20.0))
    figures = soak(soak_server, client, SESSIONS, warmup=30)
    assert figures["problems"] == []  # every call: a documented status, contiguous time codes
    assert set(figures["behaviours"]) == {
        "complete",
        "cancel_call",
        "drop_connection",
        "stop_reading",
        "idle_and_leave",
    }
    assert figures["utterances_checked"] > SESSIONS // 4
    assert figures["leaks"] == {}, (figures["before"], figures["after"])
    assert figures["rss_growth_mb"] < RSS_BOUND_MB
    assert figures["server_sessions_after"] == 0
    assert figures["passed"]

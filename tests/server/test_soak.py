"""Soak: many sessions with random disconnects, cancels and flushes against one real server
(artalk_service/bench/soak.py); no leaked tasks, threads or file descriptors, bounded memory.

ARTALK_SOAK_SESSIONS sets the session count (default 200; the 1,000-session run:
`python -m artalk_service.bench.soak --sessions 1000`). The attack soak adds clients that
read nothing and floods of echoed chunks and flushes (ARTALK_SOAK_ATTACK_SESSIONS, default 60;
`python -m artalk_service.bench.soak --attacks --sessions 300`).
"""

from __future__ import annotations

import os

import pytest

from artalk_service.audio.sample_speech import sample_speech
from artalk_service.bench.load import BenchServer
from artalk_service.bench.soak import ATTACK_SCHEDULER, ATTACKS, RSS_BOUND_MB, SoakClient, soak
from artalk_service.model import ModelConfig, MotionModel

SESSIONS = int(os.environ.get("ARTALK_SOAK_SESSIONS", "200"))
ATTACK_SESSIONS = int(os.environ.get("ARTALK_SOAK_ATTACK_SESSIONS", "60"))


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


def test_clients_that_read_nothing_and_floods_leave_memory_and_every_slot_as_they_were():
    """Issue 20 (items 2, 3, 6): non-reading clients and echo and flush floods among the usual
    sessions; each attacker's call ends with RESOURCE_EXHAUSTED, and afterwards resident memory
    is within RSS_BOUND_MB of where it was, and no session or slot is left."""
    srv = BenchServer(MotionModel.untrained(ModelConfig.tiny()), ATTACK_SCHEDULER)
    try:
        client = SoakClient(srv.target, sample_speech(20.0), attacks=True)
        figures = soak(srv, client, ATTACK_SESSIONS, warmup=20)
    finally:
        srv.stop()
    assert figures["problems"] == []  # every attacker got RESOURCE_EXHAUSTED, every other call its rules
    assert set(ATTACKS) <= set(figures["behaviours"])
    assert figures["leaks"] == {}, (figures["before"], figures["after"])
    assert figures["rss_growth_mb"] < RSS_BOUND_MB
    assert figures["server_sessions_after"] == 0 and figures["slots_in_use_after"] == 0
    assert figures["passed"]

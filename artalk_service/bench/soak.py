"""Soak: many short sessions against one server, with random disconnects, cancels and
flushes; the server's tasks, threads, file descriptors and memory before and after.

Each session picks a behaviour: finish normally (speech chunks, flushes, cancels,
end_of_audio), cancel the call after a few responses, drop the connection mid-stream
(its channel closes under it), stop reading while the server keeps sending (then cancel),
or open an idle-motion session and leave. Sessions run `concurrency` at a time, each on
its own channel (a connection of its own). After a warm-up, the process (the server and
its clients) is measured (asyncio tasks of the server's event loop, threads, open file
descriptors, resident memory), the sessions run, the server is given a moment to close
them, and it is measured again.

With --attacks, sessions also attack the server the way a client that does not read does:
send 20 s of speech and read nothing (never_read), or flood 10,000 empty echoed chunks
(flood_echo) or flushes (flood_flush) and read nothing, each with a 4 KiB receive window.
The server runs with a 1 s stall timeout; each attacker reads nothing for ATTACK_PAUSE_S,
by when the server must have ended its call (RESOURCE_EXHAUSTED, read once it reads again)
and freed its slot. The run passes when, besides the usual checks, every slot is free
afterwards.

    python -m artalk_service.bench.soak --sessions 1000 --out benchmarks/results/soak.json
    python -m artalk_service.bench.soak --attacks --sessions 300 --out benchmarks/results/soak-attacks.json

The server serves the untrained tiny model (this tests the server, not the model).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import grpc
import numpy as np

from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.bench.checks import call_problems, run_context, stream_call
from artalk_service.bench.load import BenchServer, rss_mb
from artalk_service.runtime.scheduler import SchedulerConfig
from artalk_service.timebase import SAMPLE_RATE

BEHAVIOURS = ("complete", "complete", "complete", "cancel_call", "drop_connection", "stop_reading", "idle_and_leave")
ATTACKS = ("never_read", "flood_echo", "flood_flush")  # with --attacks
# The server of an attack soak gives up on a client within about 2 s: 1 s paused (stall_timeout_s),
# then 1 s with its writer stuck (stream_call.STUCK_WRITE_S).
ATTACK_SCHEDULER = SchedulerConfig(max_unsent_s=0.5, stall_timeout_s=1.0, max_input_backlog_s=1.0)
ATTACK_PAUSE_S = 8.0  # an attacker reads nothing this long: ~2 s to fill its window at 500 messages a second, then ~2 s
FLOOD_MESSAGES = 10_000
# An attacker's receive window: small (4 KiB) and never grown, so that what it leaves unread fills it at once.
SMALL_WINDOW = [("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 4096)]
RSS_BOUND_MB = 50.0  # growth allowed over the measured run, after the warm-up
SLACK = {"tasks": 0, "threads": 2, "fds": 8}  # allowed growth: threads and fds may be mid-teardown
CALL_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Resources:
    tasks: int  # asyncio tasks on the server's event loop
    threads: int  # threads of the process
    fds: int  # open file descriptors of the process
    rss_mb: float


def measure(server: BenchServer) -> Resources:
    """The server process's resources, once every session is closed."""
    server.wait_idle()
    time.sleep(0.5)  # calls end a moment after their sessions
    gc.collect()

    async def tasks() -> int:
        return len(asyncio.all_tasks()) - 1  # not this one

    count = asyncio.run_coroutine_threadsafe(tasks(), server.loop).result(timeout=10)
    return Resources(count, threading.active_count(), len(os.listdir("/proc/self/fd")), rss_mb())


class SoakClient:
    """Runs sessions of random behaviour against `target` and checks each call."""

    def __init__(self, target: str, speech_16k: np.ndarray, attacks: bool = False) -> None:
        self.target = target
        self.choices = BEHAVIOURS + ATTACKS if attacks else BEHAVIOURS
        self.pcm = (np.clip(speech_16k, -1, 1) * 32767).astype("<i2").tobytes()
        self.behaviours: collections.Counter = collections.Counter()
        self.codes: collections.Counter = collections.Counter()
        self.problems: list[str] = []
        self.utterances_checked = 0
        self._lock = threading.Lock()

    def session(self, index: int) -> None:
        rng = np.random.default_rng(index)
        behaviour = self.choices[rng.integers(len(self.choices))]
        if behaviour in ATTACKS:
            return self._attack(index, behaviour)
        config = pb.SessionConfig(
            audio_format=pb.AudioFormat(encoding=pb.AUDIO_ENCODING_PCM_S16LE, sample_rate_hz=SAMPLE_RATE, channels=1),
            output_fps=int(rng.choice([25, 30, 60])),
            seed=index,
            session_id=f"soak-{index}",
            idle_motion=behaviour == "idle_and_leave",
        )
        messages = [pb.StreamRequest(config=config)]
        if behaviour != "idle_and_leave":
            messages += self._speech(rng)
        cancel_after, linger, drop = None, 0.0, None
        if behaviour in ("cancel_call", "idle_and_leave"):
            cancel_after = int(rng.integers(1, 6))
        elif behaviour == "stop_reading":  # one response read, then none while the server sends
            cancel_after, linger = 1, float(rng.uniform(0.1, 0.5))
        elif behaviour == "drop_connection":  # the connection goes away under the call
            drop = float(rng.uniform(0.0, 0.3))
        with grpc.insecure_channel(self.target) as channel:
            outcome = stream_call(
                channel, (m.SerializeToString() for m in messages), CALL_TIMEOUT_S, cancel_after, linger, drop
            )
        problems = call_problems(outcome, client_cancelled=behaviour != "complete")
        if behaviour == "complete" and outcome.code is not grpc.StatusCode.OK:
            problems.append(f"a well-behaved session ended with {outcome.code.name}: {outcome.details}")
        self._record(index, behaviour, outcome, problems)

    def _attack(self, index: int, behaviour: str) -> None:
        """A client that reads nothing after SessionStarted for ATTACK_PAUSE_S, then reads on:
        by then the server must have given up on it (RESOURCE_EXHAUSTED)."""
        config = pb.SessionConfig(
            audio_format=pb.AudioFormat(encoding=pb.AUDIO_ENCODING_PCM_S16LE, sample_rate_hz=SAMPLE_RATE, channels=1),
            session_id=f"soak-{index}",
            output_fps=60 if behaviour == "never_read" else 0,
            include_native_motion=behaviour == "never_read",
            echo_audio=behaviour == "flood_echo",
        )
        messages = [pb.StreamRequest(config=config).SerializeToString()]
        if behaviour == "never_read":
            step = SAMPLE_RATE  # 0.5 s of PCM16
            messages += [
                pb.StreamRequest(audio=pb.AudioChunk(data=self.pcm[i : i + step])).SerializeToString()
                for i in range(0, len(self.pcm), step)
            ]
        else:
            flood = (
                pb.StreamRequest(audio=pb.AudioChunk())
                if behaviour == "flood_echo"
                else pb.StreamRequest(flush=pb.Flush())
            )
            messages += [flood.SerializeToString()] * FLOOD_MESSAGES
        with grpc.insecure_channel(self.target, options=SMALL_WINDOW) as channel:
            outcome = stream_call(channel, iter(messages), CALL_TIMEOUT_S, pause_after=1, pause_s=ATTACK_PAUSE_S)
        problems = call_problems(outcome)
        if outcome.code is not grpc.StatusCode.RESOURCE_EXHAUSTED:
            problems.append(f"a client that read nothing ended with {outcome.code.name}: {outcome.details}")
        self._record(index, behaviour, outcome, problems)

    def _record(self, index: int, behaviour: str, outcome, problems: list[str]) -> None:
        with self._lock:
            self.behaviours[behaviour] += 1
            self.codes[outcome.code.name] += 1
            self.utterances_checked += sum(r.WhichOneof("message") == "utterance_finished" for r in outcome.responses)
            self.problems += [f"session {index} ({behaviour}): {p}" for p in problems]

    def _speech(self, rng) -> list[pb.StreamRequest]:
        """0.2 to 1.5 s of speech in random chunks, with flushes and cancels, then end_of_audio."""
        seconds = float(rng.uniform(0.2, 1.5))
        start = 2 * int(rng.integers(0, len(self.pcm) // 2 - SAMPLE_RATE * 2))
        data = self.pcm[start : start + 2 * int(seconds * 16000)]
        out, i = [], 0
        while i < len(data):
            n = 2 * int(rng.integers(160, 8000))
            out.append(pb.StreamRequest(audio=pb.AudioChunk(data=data[i : i + n])))
            i += n
            if rng.random() < 0.15:
                out.append(
                    pb.StreamRequest(flush=pb.Flush()) if rng.random() < 0.6 else pb.StreamRequest(cancel=pb.Cancel())
                )
        return out + [pb.StreamRequest(end_of_audio=pb.EndOfAudio())]

    def run(self, first: int, count: int, concurrency: int) -> None:
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(self.session, range(first, first + count)))


def soak(server: BenchServer, client: SoakClient, sessions: int, warmup: int = 50, concurrency: int = 8) -> dict:
    """Warm up, measure, run `sessions`, measure again; -> figures (`passed`: no call broke a
    rule, nothing leaked, resident memory grew less than RSS_BOUND_MB, no session or slot is left)."""
    rss_at_start = measure(server).rss_mb  # before the warm-up: for the record
    client.run(0, warmup, concurrency)
    before = measure(server)
    start = time.monotonic()
    client.run(warmup, sessions, concurrency)
    seconds = time.monotonic() - start
    after = measure(server)
    growth = {k: getattr(after, k) - getattr(before, k) for k in ("tasks", "threads", "fds")}
    rss_growth = after.rss_mb - before.rss_mb
    leaks = {k: v for k, v in growth.items() if v > SLACK[k]}
    return {
        "sessions": sessions,
        "warmup_sessions": warmup,
        "concurrency": concurrency,
        "seconds": seconds,
        # these counts and the checks cover the warm-up sessions too
        "sessions_run": warmup + sessions,
        "behaviours": dict(client.behaviours),
        "status_codes": dict(client.codes),
        "utterances_checked": client.utterances_checked,
        "problems": client.problems[:20],
        "problem_count": len(client.problems),
        "before": asdict(before),
        "after": asdict(after),
        "growth": growth,
        "allowed_growth": SLACK,
        "leaks": leaks,
        "rss_growth_mb": rss_growth,
        "rss_before_warmup_mb": rss_at_start,
        "rss_bound_mb": RSS_BOUND_MB,
        "server_sessions_after": server.scheduler.sessions,
        "slots_in_use_after": server.running.servicer.active_sessions,
        "passed": not client.problems
        and not leaks
        and rss_growth < RSS_BOUND_MB
        and not server.scheduler.sessions
        and not server.running.servicer.active_sessions,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m artalk_service.bench.soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--attacks", action="store_true", help="add clients that read nothing and flood echoes or flushes")
    p.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = p.parse_args(argv)
    from artalk_service.audio.sample_speech import sample_speech
    from artalk_service.model import ModelConfig, MotionModel

    server = BenchServer(MotionModel.untrained(ModelConfig.tiny()), ATTACK_SCHEDULER if args.attacks else None)
    try:
        client = SoakClient(server.target, sample_speech(20.0), attacks=args.attacks)
        figures = soak(server, client, args.sessions, args.warmup, args.concurrency)
    finally:
        server.stop()
    figures.update(
        machine=run_context(),
        command=" ".join(["python -m artalk_service.bench.soak", *(sys.argv[1:] if argv is None else argv)]),
    )
    print(json.dumps({k: v for k, v in figures.items() if k != "machine"}, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=2))
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())

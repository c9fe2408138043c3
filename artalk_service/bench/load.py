"""Live load: real-time-paced gRPC clients against a server on localhost.

The server runs in this process (so that its scheduler's step statistics and this
process's CPU time and memory are the server's alone); the clients run in a separate
process, one thread and one Stream call each, each sending `chunk_s` of PCM16 audio every
`chunk_s` seconds like a live TTS or microphone source.

Clock: for every stream, t0 is when its first audio chunk began to be "spoken" (its send
time minus its duration). A frame with time code t is due at t0 + t + playout_delay: the
client plays sound and face with a fixed delay, as a jitter buffer does. Its lateness is
arrival - (t0 + t); it is on time when lateness <= playout_delay.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing as mp
import os
import threading
import time
from dataclasses import dataclass

import numpy as np

from artalk_service.timebase import FPS, SAMPLE_RATE


@dataclass(frozen=True)
class LoadSpec:
    streams: int
    seconds: float
    chunk_s: float = 0.1
    fps: int = FPS
    stagger_s: float = 1.0  # streams start at random offsets within this span


# ---------------------------------------------------------------- clients (child process)


def _client(target: str, pcm: bytes, spec: LoadSpec, delay: float, out: dict) -> None:
    import grpc

    from artalk_service.api.artalk.v1 import animation_pb2 as pb
    from artalk_service.api.artalk.v1 import service_pb2_grpc

    bps = SAMPLE_RATE * 2
    chunk = int(spec.chunk_s * SAMPLE_RATE) * 2
    total = int(spec.seconds * SAMPLE_RATE) * 2
    data = (pcm * (total // len(pcm) + 1))[:total]
    clock: dict[str, float] = {}

    def requests():
        yield pb.StreamRequest(
            config=pb.SessionConfig(
                audio_format=pb.AudioFormat(
                    encoding=pb.AUDIO_ENCODING_PCM_S16LE, sample_rate_hz=SAMPLE_RATE, channels=1
                ),
                output_fps=spec.fps,
            )
        )
        time.sleep(delay)
        start = time.monotonic()
        clock["t0"] = start
        for offset in range(0, total, chunk):
            due = start + (offset + chunk) / bps  # a chunk is sent once it has been "spoken"
            time.sleep(max(0.0, due - time.monotonic()))
            yield pb.StreamRequest(audio=pb.AudioChunk(data=data[offset : offset + chunk]))
        yield pb.StreamRequest(end_of_audio=pb.EndOfAudio())

    arrivals, codes = [], []
    try:
        with grpc.insecure_channel(target) as channel:
            stub = service_pb2_grpc.AnimationStub(channel)
            for response in stub.Stream(requests(), timeout=spec.seconds + 120):
                if response.WhichOneof("message") == "frames":
                    now = time.monotonic()
                    for f in response.frames.frames:
                        arrivals.append(now)
                        codes.append(f.time_code)
        out["error"] = None
    except Exception as err:  # noqa: BLE001 - reported in the results
        out["error"] = f"{type(err).__name__}: {err}"
    out["t0"] = clock.get("t0", math.nan)
    out["arrivals"], out["codes"] = arrivals, codes


def _client_process(target: str, pcm: bytes, spec: LoadSpec, seed: int, results) -> None:
    rng = np.random.default_rng(seed)
    outs = [dict() for _ in range(spec.streams)]
    threads = [
        threading.Thread(target=_client, args=(target, pcm, spec, float(rng.uniform(0, spec.stagger_s)), o))
        for o in outs
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put(outs)


# ---------------------------------------------------------------- server (this process)


class BenchServer:
    """The real server on a free localhost port, its event loop in a thread."""

    def __init__(self, model, scheduler_config=None, config=None) -> None:
        from artalk_service.runtime.scheduler import SchedulerConfig
        from artalk_service.server.app import start_server
        from artalk_service.server.config import ServerConfig
        from artalk_service.server.limits import Limits

        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        config = config or ServerConfig(port=0, limits=Limits(max_sessions=100_000))
        self.running = self._run(start_server(model, config, scheduler_config=scheduler_config or SchedulerConfig()))
        self.target = f"127.0.0.1:{self.running.port}"
        self.scheduler = self.running.scheduler

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)

    def wait_idle(self, timeout: float = 10.0) -> int:
        """Wait until no session is open (calls end a moment after their clients see it); -> sessions left."""
        deadline = time.monotonic() + timeout
        while self.scheduler.sessions and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.scheduler.sessions

    def stop(self) -> None:
        self._run(self.running.stop(grace=1.0))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return math.nan


def _pct(values, q) -> float:
    return float(np.percentile(values, q)) if len(values) else math.nan


def run_load(server: BenchServer, pcm_16k: bytes, spec: LoadSpec, playout_delay: float, seed: int = 0) -> dict:
    """Run `spec.streams` real-time streams at once; -> latency, lateness, step and resource figures."""
    import torch

    model = server.scheduler.model
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    proc = ctx.Process(target=_client_process, args=(server.target, pcm_16k, spec, seed, results), daemon=True)
    rss0, cpu0, wall0 = rss_mb(), os.times(), time.monotonic()
    torch_gpu = model.backend.name == "torch" and model.device.type == "cuda"  # onnxruntime's arena: not measured
    if torch_gpu:
        torch.cuda.reset_peak_memory_stats(model.device)
    peak = [rss0]
    done = threading.Event()

    def sample() -> None:  # the server's resident memory while the streams run
        while not done.wait(0.1):
            peak[0] = max(peak[0], rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    proc.start()
    outs = results.get(timeout=spec.seconds + spec.stagger_s + 300)
    proc.join(timeout=30)
    cpu1, wall1 = os.times(), time.monotonic()
    done.set()
    sampler.join()
    rss1 = peak[0]
    steps = [s for s in list(server.scheduler.stats) if wall0 <= s.ended_at <= wall1]
    errors = [o["error"] for o in outs if o.get("error")]
    first, lateness = [], []
    for o in outs:
        if not o["arrivals"]:
            continue
        arrivals, codes = np.array(o["arrivals"]), np.array(o["codes"])
        first.append(arrivals[0] - o["t0"])
        lateness.append(arrivals - (o["t0"] + codes))
    late = np.concatenate(lateness) if lateness else np.zeros(0)
    expected = spec.streams * math.ceil(spec.seconds * spec.fps)
    cpu_s = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    busy = wall1 - wall0
    result = {
        "streams": spec.streams,
        "seconds": spec.seconds,
        "chunk_s": spec.chunk_s,
        "fps": spec.fps,
        "playout_delay_s": playout_delay,
        "errors": errors[:5],
        "error_count": len(errors),
        "frames": int(late.size),
        "frames_expected": expected,
        "late_frames": int((late > playout_delay).sum()),
        "all_on_time": not errors and late.size == expected and bool((late <= playout_delay).all()),
        "first_frame_latency_s": {"p50": _pct(first, 50), "p95": _pct(first, 95), "max": max(first, default=math.nan)},
        "lateness_s": {
            "p50": _pct(late, 50),
            "p95": _pct(late, 95),
            "p99": _pct(late, 99),
            "max": float(late.max()) if late.size else math.nan,
        },
        "step_ms": {
            "p50": _pct([1000 * s.seconds for s in steps], 50),
            "p95": _pct([1000 * s.seconds for s in steps], 95),
            "p99": _pct([1000 * s.seconds for s in steps], 99),
            "count": len(steps),
        },
        "batch": {
            "mean": float(np.mean([s.batch for s in steps])) if steps else math.nan,
            "max": max((s.batch for s in steps), default=0),
        },
        "server_cpu_cores": cpu_s / busy,
        "server_cpu_cores_per_stream": cpu_s / busy / spec.streams,
        "server_rss_mb": rss1,
        "server_rss_delta_mb_per_stream": max(0.0, rss1 - rss0) / spec.streams,
    }
    if torch_gpu:
        result["gpu_max_memory_mb"] = torch.cuda.max_memory_allocated(model.device) / 2**20
    return result


def sweep(
    server: BenchServer,
    pcm_16k: bytes,
    counts: list[int],
    trial_s: float,
    confirm_s: float,
    playout_delay: float,
    chunk_s: float,
    fps: int,
    stagger_s: float = 1.0,
    log=print,
) -> dict:
    """Most concurrent real-time streams with every frame on time: short trials up the
    ladder `counts` until one fails, then the best passing count must hold for `confirm_s`
    (stepping down the ladder until one does)."""
    trials, best = [], 0
    for n in counts:
        r = run_load(server, pcm_16k, LoadSpec(n, trial_s, chunk_s, fps, stagger_s), playout_delay, seed=n)
        trials.append(r)
        log(
            f"  trial {n:4d} streams x {trial_s:g} s: on time {r['all_on_time']}, "
            f"max lateness {r['lateness_s']['max']:.3f} s, step p99 {r['step_ms']['p99']:.1f} ms, "
            f"batch mean {r['batch']['mean']:.1f}"
        )
        if not r["all_on_time"]:
            break
        best = n
    confirmed = None
    ladder = [n for n in counts if n <= best][::-1]
    for n in ladder:
        r = run_load(server, pcm_16k, LoadSpec(n, confirm_s, chunk_s, fps, stagger_s), playout_delay, seed=1000 + n)
        log(
            f"  confirm {n:4d} streams x {confirm_s:g} s: on time {r['all_on_time']}, "
            f"max lateness {r['lateness_s']['max']:.3f} s"
        )
        if r["all_on_time"]:
            confirmed = r
            break
        trials.append(r)
    return {
        "max_streams": confirmed["streams"] if confirmed else 0,
        "confirm_seconds": confirm_s,
        "confirmed": confirmed,
        "trials": trials,
    }

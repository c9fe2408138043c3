"""Prometheus metrics of one server, and the HTTP endpoint that serves them.

Each server has its own registry (not prometheus_client's global one), so several servers
in one process (tests, benchmarks) count separately. The model thread reports model steps
and late frames through the scheduler's observer hooks; the gRPC side counts sessions,
frames sent and the status every call ended with (server/calls.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from artalk_service.runtime.scheduler import SchedulerObserver, StepStats

# Model step durations: 1 ms (tiny model, GPU) to 5 s (a large batch on a slow CPU).
STEP_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class ServerMetrics(SchedulerObserver):
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.active_sessions = Gauge("artalk_active_sessions", "Stream calls in progress", registry=r)
        self.sessions = Counter("artalk_sessions", "Stream sessions started (SessionConfig accepted)", registry=r)
        self.frames_sent = Counter(
            "artalk_frames_sent",
            "Animation frames handed to gRPC (Stream and AnimateClip; idle frames included)",
            registry=r,
        )
        self.late_frames = Counter(
            "artalk_late_frames",
            "Utterance frames produced after their playout deadline: the utterance's first "
            "audio arrival (held back when audio arrives slower than real time) + the frame's time + the model's "
            "algorithmic latency + one window period",
            registry=r,
        )
        self.window_latency = Histogram(
            "artalk_window_latency_seconds",
            "Duration of one model step: every window of the step's batch waits this long for its frames",
            buckets=STEP_SECONDS_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "artalk_batch_size",
            "Windows computed per model step (all sessions together)",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "artalk_errors", "Calls that ended with a status other than OK, by status code", ["code"], registry=r
        )

    # ---- scheduler hooks (model thread)
    def step(self, stats: StepStats) -> None:
        self.window_latency.observe(stats.seconds)
        self.batch_size.observe(stats.batch)

    def frames_late(self, count: int) -> None:
        self.late_frames.inc(count)

    def serve(self, host: str, port: int) -> MetricsEndpoint:
        """Serve /metrics over HTTP on host:port (0: a free port) in a daemon thread."""
        httpd, thread = start_http_server(port, addr=host, registry=self.registry)
        return MetricsEndpoint(httpd, thread)


@dataclass
class MetricsEndpoint:
    httpd: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return self.httpd.server_port

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


__all__ = ["ServerMetrics", "MetricsEndpoint"]

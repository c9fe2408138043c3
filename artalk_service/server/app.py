"""Server assembly: model, scheduler, Animation service, health and reflection."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from artalk_service.api.artalk.v1 import service_pb2, service_pb2_grpc
from artalk_service.retarget import MapLibrary
from artalk_service.runtime.scheduler import FailureKind, Scheduler, SchedulerConfig
from artalk_service.server.calls import CallGuard
from artalk_service.server.config import ServerConfig, validate
from artalk_service.server.limits import SessionRate
from artalk_service.server.metrics import MetricsEndpoint, ServerMetrics
from artalk_service.server.security import AccessInterceptor, load_tokens, server_credentials
from artalk_service.server.servicer import AnimationServicer

log = logging.getLogger("artalk.server")
SERVICE_NAME = service_pb2.DESCRIPTOR.services_by_name["Animation"].full_name


@dataclass
class RunningServer:
    server: grpc.aio.Server
    port: int
    scheduler: Scheduler
    health: health.aio.HealthServicer
    maps: MapLibrary
    servicer: AnimationServicer
    metrics: ServerMetrics
    metrics_endpoint: MetricsEndpoint | None = None  # /metrics over HTTP, if configured
    watcher: asyncio.Task | None = None  # polls the retarget folder

    @property
    def metrics_port(self) -> int | None:
        return None if self.metrics_endpoint is None else self.metrics_endpoint.port

    async def drain(self, seconds: float) -> None:
        """Graceful shutdown: health says NOT_SERVING, new calls are refused (UNAVAILABLE), and
        sessions end once the utterances they had begun are finished, for at most `seconds`;
        then the sessions left end with UNAVAILABLE and the server stops."""
        log.info("draining: sessions may finish their utterances for up to %g s", seconds)
        await self.health.enter_graceful_shutdown()
        self.servicer.start_draining()
        deadline = time.monotonic() + seconds
        while self.scheduler.sessions and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.scheduler.sessions:
            log.info("drain time over: ending %d sessions", self.scheduler.sessions)
            await self.scheduler.call(
                self.scheduler.end_all,
                FailureKind.SHUTTING_DOWN,
                f"the server is shutting down and its drain time of {seconds:g} s is over; connect to another instance",
            )
        await self.stop(grace=1.0)

    async def stop(self, grace: float | None = 5.0) -> None:
        if self.watcher is not None:
            self.watcher.cancel()
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        await self.scheduler.stop()
        if self.metrics_endpoint is not None:
            self.metrics_endpoint.stop()


async def start_server(
    model,
    config: ServerConfig = ServerConfig(),
    retarget_dir: Path | None = None,
    poll_seconds: float = 1.0,
    scheduler_config: SchedulerConfig = SchedulerConfig(),
) -> RunningServer:
    """Start serving `model` as `config` says; config.port 0 picks a free port (returned).

    Maps in `retarget_dir` become presets and are re-read every `poll_seconds`
    when their files change.
    """
    validate(config)  # refuses, among others, a remote bind without TLS
    host, port, limits = config.host, config.port, config.limits
    tokens = load_tokens(config.auth, os.environ)
    maps = MapLibrary(model.layout, retarget_dir)
    maps.refresh()
    options = [
        ("grpc.max_receive_message_length", limits.max_message_bytes),
        ("grpc.max_send_message_length", limits.max_message_bytes),
        ("grpc.so_reuseport", int(config.reuse_port)),  # gRPC's default is on: a second server would bind too
    ]
    access = [AccessInterceptor(tokens, SessionRate(limits.sessions_per_minute_per_token))] if tokens else []
    metrics = ServerMetrics()
    # CallGuard first: it sees (and counts) every call's outcome, refusals by the others included.
    server = grpc.aio.server(options=options, interceptors=[CallGuard(metrics), *access])
    scheduler = Scheduler(model, scheduler_config, observer=metrics)
    scheduler.start()
    servicer = AnimationServicer(model, scheduler, limits, maps, metrics)
    service_pb2_grpc.add_AnimationServicer_to_server(servicer, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    address = f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"  # IPv6
    try:  # grpc raises RuntimeError, or returns 0, when the address cannot be bound
        if config.tls.enabled:
            bound = server.add_secure_port(address, server_credentials(config.tls))
        else:
            bound = server.add_insecure_port(address)
    except RuntimeError:
        bound = 0
    if bound == 0:
        await scheduler.stop()
        raise OSError(f"could not bind {host}:{port}: in use by another process, or not an address of this machine")
    await server.start()
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info(
        "artalk.v1 serving model %s on %s:%d (%s); %s, %s",
        model.model_id,
        host,
        bound,
        model.device,
        ("mutual TLS" if config.tls.client_ca_file else "TLS") if config.tls.enabled else "plaintext",
        f"{len(tokens)} bearer tokens" if tokens else "no authentication",
    )
    obs, endpoint = config.observability, None
    if obs.metrics_port is not None:
        endpoint = metrics.serve(obs.metrics_host, obs.metrics_port)
        log.info("metrics on http://%s:%d/metrics", obs.metrics_host, endpoint.port)
    watcher = asyncio.create_task(_watch(maps, poll_seconds)) if retarget_dir is not None else None
    return RunningServer(server, bound, scheduler, health_servicer, maps, servicer, metrics, endpoint, watcher)


async def _watch(maps: MapLibrary, poll_seconds: float) -> None:
    """Hot reload: re-read the retarget folder whenever a file in it changes."""
    while True:
        await asyncio.sleep(poll_seconds)
        try:
            await asyncio.to_thread(maps.refresh)  # a large map file must not stall the sessions
        except Exception:  # noqa: BLE001 - a vanished folder or a bad file must not stop the watching
            log.exception("reading the retarget folder %s failed; will retry", maps.folder)


async def serve_forever(model, config: ServerConfig, retarget_dir: Path | None = None) -> None:
    # One-time initialisation (kernels, allocator, thread pools) costs seconds on the first
    # inference; pay it before the first session instead of in its first-frame latency.
    model.animate(np.zeros(2 * model.sample_rate, dtype=np.float32))
    # The objects made so far live as long as the server: a full collection over them (torch's
    # included) holds the GIL for 150-200 ms, every session's frames with it; frozen, ~25 ms.
    gc.collect()
    gc.freeze()
    running = await start_server(model, config, retarget_dir)
    print(
        f"artalk-service listening on {config.host}:{running.port} (model {model.model_id}, device {model.device})",
        flush=True,
    )
    if running.metrics_port is not None:
        print(
            f"artalk-service metrics on http://{config.observability.metrics_host}:{running.metrics_port}/metrics",
            flush=True,
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    await running.drain(config.drain_seconds)


__all__ = ["start_server", "serve_forever", "RunningServer"]

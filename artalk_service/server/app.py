"""Server assembly: model, scheduler, Animation service, health and reflection."""
from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from artalk_service.api.artalk.v1 import service_pb2, service_pb2_grpc
from artalk_service.retarget import MapLibrary
from artalk_service.runtime.scheduler import Scheduler, SchedulerConfig
from artalk_service.server.limits import Limits
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
    watcher: asyncio.Task | None = None  # polls the retarget folder

    async def stop(self, grace: float | None = 5.0) -> None:
        if self.watcher is not None:
            self.watcher.cancel()
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        await self.scheduler.stop()


async def start_server(model, host: str = "127.0.0.1", port: int = 50051, limits: Limits = Limits(),
                       retarget_dir: Path | None = None, poll_seconds: float = 1.0,
                       scheduler_config: SchedulerConfig = SchedulerConfig()) -> RunningServer:
    """Start serving `model`; port 0 picks a free port (returned).

    Maps in `retarget_dir` become presets and are re-read every `poll_seconds`
    when their files change.
    """
    maps = MapLibrary(model.layout, retarget_dir)
    maps.refresh()
    options = [("grpc.max_receive_message_length", limits.max_message_bytes),
               ("grpc.max_send_message_length", limits.max_message_bytes)]
    server = grpc.aio.server(options=options)
    scheduler = Scheduler(model, scheduler_config)
    scheduler.start()
    service_pb2_grpc.add_AnimationServicer_to_server(AnimationServicer(model, scheduler, limits, maps), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"could not bind {host}:{port}")
    await server.start()
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("artalk.v1 serving model %s on %s:%d (%s)", model.model_id, host, bound, model.device)
    watcher = asyncio.create_task(_watch(maps, poll_seconds)) if retarget_dir is not None else None
    return RunningServer(server, bound, scheduler, health_servicer, maps, watcher)


async def _watch(maps: MapLibrary, poll_seconds: float) -> None:
    """Hot reload: re-read the retarget folder whenever a file in it changes."""
    while True:
        await asyncio.sleep(poll_seconds)
        try:
            maps.refresh()
        except Exception:  # noqa: BLE001 - a vanished folder or a bad file must not stop the watching
            log.exception("reading the retarget folder %s failed; will retry", maps.folder)


async def serve_forever(model, host: str, port: int, limits: Limits = Limits(),
                        retarget_dir: Path | None = None) -> None:
    # One-time initialisation (kernels, allocator, thread pools) costs seconds on the first
    # inference; pay it before the first session instead of in its first-frame latency.
    model.animate(np.zeros(2 * model.sample_rate, dtype=np.float32))
    running = await start_server(model, host, port, limits, retarget_dir)
    print(f"artalk-service listening on {host}:{running.port} (model {model.model_id}, device {model.device})",
          flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    await running.stop()


__all__ = ["start_server", "serve_forever", "RunningServer"]

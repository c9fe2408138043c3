"""Shared fixtures: real speech audio, the real model, a real server on a free port."""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

# Idle OpenMP threads sleep rather than spin (before torch is imported): on a CPU shared with
# other work, spinning peers made each parallel op wait for a descheduled thread (tests ran
# 10-40x slower next to a training job).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

SENTENCE = ("Please bring me the map of the big blue boat. "
            "We could move over the wide open water before the evening.")


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory) -> Path:
    """A few seconds of real synthetic speech (espeak-ng, 22.05 kHz PCM16 mono)."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: run scripts/setup.sh")
    path = tmp_path_factory.mktemp("audio") / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), SENTENCE], check=True)
    return path


@pytest.fixture(scope="session")
def model():
    """The bundled trained model when it exists, else the same architecture untrained."""
    from artalk_service.model import ModelConfig, MotionModel, default_model_path

    if Path(default_model_path()).exists():
        return MotionModel.load(default_model_path(), device="cpu")
    return MotionModel.untrained(ModelConfig(), device="cpu")


class ServerThread:
    """A real gRPC server on a free localhost port, its event loop in a thread."""

    def __init__(self, model, **kwargs) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        from artalk_service.server.app import start_server

        self.running = self._run(start_server(model, "127.0.0.1", 0, **kwargs))
        self.target = f"127.0.0.1:{self.running.port}"

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def stop(self) -> None:
        self._run(self.running.stop(grace=1.0))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)


@pytest.fixture(scope="session")
def server(model):
    srv = ServerThread(model)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def server_thread():
    """The ServerThread class, for tests that start a server with their own options."""
    return ServerThread

"""Shared fixtures: real speech audio, the real model (on either backend), a real server on a free port."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

# Idle OpenMP threads sleep rather than spin (before torch is imported): on a CPU shared with
# other work, spinning peers made each parallel op wait for a descheduled thread (tests ran
# 10-40x slower next to a training job).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

SENTENCE = "Please bring me the map of the big blue boat. We could move over the wide open water before the evening."


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory) -> Path:
    """A few seconds of real synthetic speech (espeak-ng, 22.05 kHz PCM16 mono)."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: run scripts/setup.sh")
    path = tmp_path_factory.mktemp("audio") / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), SENTENCE], check=True)
    return path


# End-to-end modules whose `model` and `server` run on each backend in turn.
BOTH_BACKENDS = ("test_stream_e2e.py", "test_runtime_e2e.py")


def pytest_generate_tests(metafunc):
    if metafunc.definition.path.name in BOTH_BACKENDS and "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", ["torch", "onnxruntime"], indirect=True, scope="session")


@pytest.fixture(scope="session")
def backend(request) -> str:
    """What computes `model` (and so `server`): torch, or each backend in BOTH_BACKENDS modules."""
    return getattr(request, "param", "torch")


@pytest.fixture(scope="session")
def torch_model():
    """The bundled trained model when it exists, else the same architecture untrained."""
    from artalk_service.model import ModelConfig, MotionModel, default_model_path

    if Path(default_model_path()).exists():
        return MotionModel.load(default_model_path(), device="cpu")
    return MotionModel.untrained(ModelConfig(), device="cpu")


@pytest.fixture(scope="session")
def bundled_onnx_dir(tmp_path_factory, torch_model) -> Path:
    """torch_model exported to ONNX once per test run, its parity checked on 20 real clips."""
    from artalk_service.export import export_model

    folder = tmp_path_factory.mktemp("onnx-bundled")
    export_model(torch_model, folder)
    return folder


@pytest.fixture(scope="session")
def model(request, backend, torch_model):
    """torch_model, computed by `backend`."""
    if backend == "torch":
        return torch_model
    from artalk_service.export.onnx_backend import OnnxBackend

    return torch_model.with_backend(OnnxBackend(request.getfixturevalue("bundled_onnx_dir"), "cpu"))


@pytest.fixture(scope="session")
def tiny_onnx_dir(tmp_path_factory) -> Path:
    """`artalk-export --tiny` (ModelConfig.tiny(), seed 0) run as CI runs it, into a fresh folder."""
    folder = tmp_path_factory.mktemp("onnx-tiny")
    proc = subprocess.run(
        [sys.executable, "-m", "artalk_service.export", "--tiny", "--clips", "3", "--out", str(folder)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return folder


@pytest.fixture
def restored_logging():
    """The root logger's handlers and level, and warnings capture, as they were before the test
    (configure_logging replaces them with a handler on the test's captured stderr)."""
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    logging.captureWarnings(False)
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def speechlike():
    """3.1 s of a syllable-rate modulated harmonic tone plus noise: 16 kHz float32."""
    import numpy as np

    rng = np.random.default_rng(0)
    t = np.arange(int(16000 * 3.1)) / 16000
    voiced = sum(np.sin(2 * np.pi * 140 * h * t) / h for h in range(1, 6)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))
    return (0.2 * voiced + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture(scope="session")
def tiny_model():
    """The tiny architecture, untrained: for server tests where the model's speed and output do not matter."""
    from artalk_service.model import ModelConfig, MotionModel

    return MotionModel.untrained(ModelConfig.tiny(), seed=0)


@pytest.fixture(scope="session")
def certs(tmp_path_factory) -> SimpleNamespace:
    """A CA, a server certificate for 127.0.0.1 and localhost, a client certificate, and a
    client certificate from a CA the server does not trust."""
    import trustme

    folder = tmp_path_factory.mktemp("certs")
    ca, stranger_ca = trustme.CA(), trustme.CA()
    paths = {}
    for name, blob in [("ca", ca.cert_pem), ("stranger_ca", stranger_ca.cert_pem)]:
        blob.write_to_path(str(folder / f"{name}.pem"))
        paths[name] = folder / f"{name}.pem"
    for name, cert in [
        ("server", ca.issue_cert("127.0.0.1", "localhost")),
        ("client", ca.issue_cert("npc-host")),
        ("stranger", stranger_ca.issue_cert("npc-host")),
    ]:
        cert.cert_chain_pems[0].write_to_path(str(folder / f"{name}.pem"))
        cert.private_key_pem.write_to_path(str(folder / f"{name}.key"))
        paths[name], paths[f"{name}_key"] = folder / f"{name}.pem", folder / f"{name}.key"
    return SimpleNamespace(**paths)


class ServerThread:
    """A real gRPC server on a free localhost port, its event loop in a thread."""

    def __init__(self, model, config=None, **kwargs) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        from artalk_service.server.app import start_server
        from artalk_service.server.config import ServerConfig

        config = config or ServerConfig(port=0)
        self.running = self._run(start_server(model, config, **kwargs))
        self.target = f"{config.host}:{self.running.port}"

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

"""The C++ sample CLI writes the same frames JSON as the Python `artalk-client` on the same wav,
also through TLS with a bearer token and through mutual TLS, and reads the same on refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from engine_clients import library_env


def without_token(env: dict[str, str]) -> dict[str, str]:
    """The environment without ARTALK_TOKEN, which both CLIs read as their default token."""
    return {k: v for k, v in env.items() if k != "ARTALK_TOKEN"}


def python_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "artalk_service.client.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=without_token(dict(os.environ)),
    )


def cpp_cli(build, *args: str, token_env: str | None = None) -> subprocess.CompletedProcess:
    env = without_token(library_env(build)) | ({"ARTALK_TOKEN": token_env} if token_env else {})
    return subprocess.run([str(build.cli), *args], capture_output=True, text=True, timeout=300, env=env)


def assert_same_frames(
    cpp_build, speech_wav, tmp_path, connection: list[str], options: list[str] = (), cpp_token_env: str | None = None
) -> None:
    """Both CLIs animate the wav over `connection`; with cpp_token_env, the C++ one gets its token
    from ARTALK_TOKEN instead of --token."""
    py_out, cpp_out = tmp_path / "py.json", tmp_path / "cpp.json"
    done = python_cli(
        "animate",
        str(speech_wav),
        "--out",
        str(py_out),
        *connection,
        *options,
        *(["--token", cpp_token_env] if cpp_token_env else []),
    )
    assert done.returncode == 0, done.stderr
    done = cpp_cli(
        cpp_build, "animate", str(speech_wav), "--out", str(cpp_out), *connection, *options, token_env=cpp_token_env
    )
    assert done.returncode == 0, done.stderr
    py, cpp = json.loads(py_out.read_text()), json.loads(cpp_out.read_text())
    assert set(cpp) == {"fps", "names", "frames"}
    assert cpp["fps"] == py["fps"] and cpp["names"] == py["names"]
    assert len(cpp["frames"]) == len(py["frames"]) > 0
    diff = np.abs(np.asarray(cpp["frames"], dtype=np.float64) - np.asarray(py["frames"], dtype=np.float64))
    assert diff.max() < 1e-4, f"max difference {diff.max()}"
    assert f"{len(cpp['frames'])} frames at {cpp['fps']} fps, {len(cpp['names'])} channels" in done.stdout


@pytest.mark.parametrize(
    "options", [[], ["--fps", "30", "--retarget", "arkit_camel", "--seed", "7"]], ids=["defaults", "fps30-camel-seed7"]
)
def test_same_frames_as_python_client(cpp_build, server, speech_wav, tmp_path, options):
    assert_same_frames(cpp_build, speech_wav, tmp_path, ["--server", server.target], options)


@pytest.mark.parametrize("token_from", ["flag", "environment"])
def test_tls_with_token_same_frames_as_python_client(
    cpp_build, tls_server, certs, token, speech_wav, tmp_path, token_from
):
    connection = ["--server", tls_server.target, "--tls-ca", str(certs.ca)]
    if token_from == "flag":
        assert_same_frames(cpp_build, speech_wav, tmp_path, [*connection, "--token", token])
    else:
        assert_same_frames(cpp_build, speech_wav, tmp_path, connection, cpp_token_env=token)


def test_mutual_tls_same_frames_as_python_client(cpp_build, mtls_server, certs, speech_wav, tmp_path):
    connection = [
        "--server",
        mtls_server.target,
        "--tls-ca",
        str(certs.ca),
        "--tls-cert",
        str(certs.client),
        "--tls-key",
        str(certs.client_key),
    ]
    assert_same_frames(cpp_build, speech_wav, tmp_path, connection)


@pytest.mark.parametrize(
    "token_args, status",
    [([], "UNAUTHENTICATED"), (["--token", "not-the-token"], "PERMISSION_DENIED")],
    ids=["missing", "wrong"],
)
def test_refused_tokens_read_like_python_client(cpp_build, tls_server, certs, speech_wav, tmp_path, token_args, status):
    args = [
        "animate",
        str(speech_wav),
        "--out",
        str(tmp_path / "o.json"),
        "--server",
        tls_server.target,
        "--tls-ca",
        str(certs.ca),
        *token_args,
    ]
    py = python_cli(*args)
    start = time.monotonic()
    cpp = cpp_cli(cpp_build, *args)
    assert time.monotonic() - start < 10, "a refused token is not retried"
    assert cpp.returncode == py.returncode == 2
    assert cpp.stderr.startswith(f"error: {status}: ") and cpp.stderr == py.stderr
    assert "not-the-token" not in cpp.stderr


def test_bad_tls_options_are_reported(cpp_build, tls_server, certs, speech_wav, tmp_path):
    args = ["animate", str(speech_wav), "--out", str(tmp_path / "o.json"), "--server", tls_server.target]
    done = cpp_cli(cpp_build, *args, "--tls-ca", str(tmp_path / "missing.pem"))
    assert done.returncode == 64 and f"cannot read the TLS CA file '{tmp_path / 'missing.pem'}'" in done.stderr
    done = cpp_cli(cpp_build, *args, "--tls-cert", str(certs.client))
    assert done.returncode == 64 and "--tls-cert and --tls-key go together" in done.stderr


def test_csv_matches_python_client(cpp_build, server, speech_wav, tmp_path):
    py_out, cpp_out = tmp_path / "py.csv", tmp_path / "cpp.csv"
    assert python_cli("animate", str(speech_wav), "--out", str(py_out), "--server", server.target).returncode == 0
    done = cpp_cli(cpp_build, "animate", str(speech_wav), "--out", str(cpp_out), "--server", server.target)
    assert done.returncode == 0, done.stderr
    py_rows = py_out.read_text().splitlines()
    cpp_rows = cpp_out.read_text().splitlines()
    assert cpp_rows[0] == py_rows[0] and len(cpp_rows) == len(py_rows)
    py_vals = np.array([[float(v) for v in r.split(",")] for r in py_rows[1:]])
    cpp_vals = np.array([[float(v) for v in r.split(",")] for r in cpp_rows[1:]])
    assert np.abs(py_vals - cpp_vals).max() <= 2e-6  # both print 6 decimals


def test_realtime_reports_latency_and_late_frames(cpp_build, server, speech_wav, tmp_path):
    done = cpp_cli(
        cpp_build,
        "animate",
        str(speech_wav),
        "--out",
        str(tmp_path / "o.json"),
        "--server",
        server.target,
        "--realtime",
        "--playback-delay-ms",
        "400",
    )
    assert done.returncode == 0, done.stderr
    assert "first-frame latency:" in done.stdout and "frame latency (arrival" in done.stdout
    assert "late at a 60 Hz render clock 400 ms behind the voice:" in done.stdout
    print(done.stdout)


def test_errors_like_python_client(cpp_build, server, speech_wav, tmp_path):
    done = cpp_cli(
        cpp_build,
        "animate",
        str(speech_wav),
        "--out",
        str(tmp_path / "o.json"),
        "--server",
        server.target,
        "--style",
        "nope",
    )
    assert done.returncode == 2 and "INVALID_ARGUMENT" in done.stderr and "unknown style preset" in done.stderr
    assert cpp_cli(cpp_build, "animate").returncode == 64  # usage

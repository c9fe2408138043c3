"""The C++ sample CLI writes the same frames JSON as the Python `artalk-client` on the same wav."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from engine_clients import library_env


def python_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "artalk_service.client.cli", *args], capture_output=True, text=True,
                          timeout=300)


def cpp_cli(build, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(build.cli), *args], capture_output=True, text=True, timeout=300, env=library_env(build))


@pytest.mark.parametrize("options", [[], ["--fps", "30", "--retarget", "arkit_camel", "--seed", "7"]],
                         ids=["defaults", "fps30-camel-seed7"])
def test_same_frames_as_python_client(cpp_build, server, speech_wav, tmp_path, options):
    py_out, cpp_out = tmp_path / "py.json", tmp_path / "cpp.json"
    done = python_cli("animate", str(speech_wav), "--out", str(py_out), "--server", server.target, *options)
    assert done.returncode == 0, done.stderr
    done = cpp_cli(cpp_build, "animate", str(speech_wav), "--out", str(cpp_out), "--server", server.target, *options)
    assert done.returncode == 0, done.stderr
    py, cpp = json.loads(py_out.read_text()), json.loads(cpp_out.read_text())
    assert set(cpp) == {"fps", "names", "frames"}
    assert cpp["fps"] == py["fps"] and cpp["names"] == py["names"]
    assert len(cpp["frames"]) == len(py["frames"]) > 0
    diff = np.abs(np.asarray(cpp["frames"], dtype=np.float64) - np.asarray(py["frames"], dtype=np.float64))
    assert diff.max() < 1e-4, f"max difference {diff.max()}"
    assert f"{len(cpp['frames'])} frames at {cpp['fps']} fps, {len(cpp['names'])} channels" in done.stdout


def test_csv_matches_python_client(cpp_build, server, speech_wav, tmp_path):
    py_out, cpp_out = tmp_path / "py.csv", tmp_path / "cpp.csv"
    assert python_cli("animate", str(speech_wav), "--out", str(py_out), "--server", server.target).returncode == 0
    assert cpp_cli(cpp_build, "animate", str(speech_wav), "--out", str(cpp_out), "--server", server.target).returncode == 0
    py_rows = py_out.read_text().splitlines()
    cpp_rows = cpp_out.read_text().splitlines()
    assert cpp_rows[0] == py_rows[0] and len(cpp_rows) == len(py_rows)
    py_vals = np.array([[float(v) for v in r.split(",")] for r in py_rows[1:]])
    cpp_vals = np.array([[float(v) for v in r.split(",")] for r in cpp_rows[1:]])
    assert np.abs(py_vals - cpp_vals).max() <= 2e-6  # both print 6 decimals


def test_realtime_reports_latency_and_late_frames(cpp_build, server, speech_wav, tmp_path):
    done = cpp_cli(cpp_build, "animate", str(speech_wav), "--out", str(tmp_path / "o.json"), "--server", server.target,
                   "--realtime", "--playback-delay-ms", "400")
    assert done.returncode == 0, done.stderr
    assert "first-frame latency:" in done.stdout and "frame latency (arrival" in done.stdout
    assert "late at a 60 Hz render clock 400 ms behind the voice:" in done.stdout
    print(done.stdout)


def test_errors_like_python_client(cpp_build, server, speech_wav, tmp_path):
    done = cpp_cli(cpp_build, "animate", str(speech_wav), "--out", str(tmp_path / "o.json"), "--server", server.target,
                   "--style", "nope")
    assert done.returncode == 2 and "INVALID_ARGUMENT" in done.stderr and "unknown style preset" in done.stderr
    assert cpp_cli(cpp_build, "animate").returncode == 64  # usage

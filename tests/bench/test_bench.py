"""`artalk-bench --quick` runs every part end to end (tiny model) and writes its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]


def test_console_script_is_declared():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["artalk-bench"] == "artalk_service.bench.cli:main"


def test_quick_bench_writes_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "artalk_service.bench.cli",
            "--quick",
            "--tiny",
            "--threads",
            "1",
            "--backend",
            "torch",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(out.read_text())
    assert r["offline"]["rtf_best"] > 0 and r["offline"]["frames"] == 100
    lat = r["latency"]
    assert lat["error_count"] == 0 and lat["frames"] == lat["frames_expected"] > 0
    assert 0 < lat["first_frame_latency_s"]["p50"] < 5
    assert lat["step_ms"]["count"] > 0 and lat["step_ms"]["p99"] >= lat["step_ms"]["p50"] > 0
    assert lat["server_cpu_cores_per_stream"] > 0
    assert r["concurrency"]["max_streams"] >= 1 and r["concurrency"]["confirmed"]["all_on_time"]
    assert {p["batch"] for p in r["profile"]} == {1, 8}
    for key in (
        "offline real-time factor",
        "first-frame latency",
        "per-window compute",
        "max real-time streams",
        "CPU per stream",
        "memory per stream",
    ):
        assert key in proc.stdout

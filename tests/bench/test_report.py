"""The README's performance table is the rendering of the benchmark JSON it names."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from artalk_service.bench.report import render, rows, table

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"<!-- perf-table: (\S+) -->\n(.*?)\n<!-- /perf-table -->", re.S)


def readme_block() -> tuple[Path, str]:
    blocks = BLOCK.findall((ROOT / "README.md").read_text())
    assert len(blocks) == 1, "README.md holds exactly one perf-table block"
    name, text = blocks[0]
    return ROOT / name, text


def test_readme_table_is_the_rendering_of_its_json():
    path, text = readme_block()
    result = json.loads(path.read_text())
    assert text == render(result), f"regenerate with: python -m artalk_service.bench.report {path.relative_to(ROOT)}"
    assert result["command"] in text and result["model"]["id"] in text


def test_readme_names_the_bundled_model_and_one_stream_count():
    path, text = readme_block()
    result = json.loads(path.read_text())
    card = json.loads((ROOT / "artalk_service" / "assets" / "model" / "config.json").read_text())
    assert result["model"]["id"] == card["model_id"], "the README's table must measure the bundled model"
    stream_rows = [v for k, v in rows(result) if k.startswith("concurrent real-time streams")]
    assert len(stream_rows) == 1
    if "concurrency" in result:
        assert stream_rows[0] == f"**{result['concurrency']['max_streams']}**"


def test_render_a_small_result():
    result = {
        "command": "artalk-bench --quick --out x.json",
        "started_utc": "2026-01-02 03:04:05",
        "machine": {"cpu_model": "Test CPU", "cpu_count": 4, "torch_threads": 2, "device": "cpu", "torch": "2.0"},
        "model": {"id": "m-1", "backend": "torch", "window_s": 0.4, "lookahead_s": 0.08, "latency_s": 0.48},
        "offline": {"audio_seconds": 4.0, "rtf_best": 12.34, "rtf_median": 11.0, "window_ms_median": 30.0},
        "latency": {
            "streams": 2,
            "chunk_s": 0.1,
            "playout_delay_s": 0.98,
            "frames": 100,
            "frames_expected": 100,
            "late_frames": 1,
            "first_frame_latency_s": {"p50": 0.5, "max": 0.6},
            "lateness_s": {"p50": 0.3, "p95": 0.4, "p99": 0.45, "max": 0.5},
            "step_ms": {"p50": 20.0, "p95": 30.0, "p99": 40.0},
            "server_cpu_cores_per_stream": 0.1,
            "server_rss_mb": 500.0,
        },
        "concurrency": {"max_streams": 6, "confirm_seconds": 60.0, "confirmed": None},
        "profile": [{"batch": 1, "total_ms": 25.0, "per_window_ms": 25.0, "conditions_ms": 15.0, "generate_ms": 10.0}],
    }
    md = table(result)
    lines = md.splitlines()
    assert lines[:2] == ["| figure | value |", "|---|---|"] and all(line.count("|") == 3 for line in lines)
    assert "| model | `m-1`, backend torch |" in lines
    assert (
        "| offline real-time factor, one stream (4 s of speech) | **12.3×** best, 11.0× median "
        "(30.0 ms per 0.4 s window) |" in lines
    )
    assert "| frames on time (within 0.98 s of their audio) | 99 of 100 |" in lines
    assert "| concurrent real-time streams, every frame within 0.98 s for 60 s | **6** |" in lines
    assert sum(line.startswith("| concurrent real-time streams") for line in lines) == 1
    full = render(result)
    assert full.startswith(md) and "```bash\nartalk-bench --quick --out x.json\n```" in full
    assert full.endswith("Machine: Test CPU (4 cores), device cpu, 2 threads, torch 2.0, run 2026-01-02 03:04:05 UTC.")
    del result["concurrency"]
    assert "| concurrent real-time streams | not measured by this run (`--no-sweep`) |" in table(result).splitlines()


def test_command_line_prints_the_rendering():
    path, text = readme_block()
    proc = subprocess.run(
        [sys.executable, "-m", "artalk_service.bench.report", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == text + "\n"

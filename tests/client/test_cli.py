"""The artalk-client CLI against the real server."""
import csv
import json
import math
import subprocess
import sys

from artalk_service.audio import read_wav


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "artalk_service.client.cli", *args],
                          capture_output=True, text=True, timeout=300)


def test_animate_json_and_csv(server, speech_wav, tmp_path):
    data, fmt = read_wav(speech_wav)
    out = tmp_path / "out.json"
    done = cli("animate", str(speech_wav), "--out", str(out), "--server", server.target, "--fps", "30")
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["fps"] == 30 and len(result["names"]) == 61
    assert abs(len(result["frames"]) - math.ceil(fmt.seconds(len(data)) * 30)) <= 1
    assert all(len(row) == 61 for row in result["frames"])

    out_csv = tmp_path / "out.csv"
    done = cli("animate", str(speech_wav), "--out", str(out_csv), "--server", server.target, "--retarget", "arkit_camel")
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(out_csv.open()))
    assert rows[0][:3] == ["time", "eyeBlinkLeft", "eyeLookDownLeft"]
    times = [float(r[0]) for r in rows[1:]]
    assert times == sorted(times) and times[1] == 0.04


def test_realtime_reports_latency(server, speech_wav, tmp_path):
    done = cli("animate", str(speech_wav), "--out", str(tmp_path / "o.json"), "--server", server.target, "--realtime")
    assert done.returncode == 0, done.stderr
    assert "first-frame latency:" in done.stdout and "frame lateness" in done.stdout


def test_describe_and_errors(server, speech_wav, tmp_path):
    done = cli("describe", "--server", server.target)
    assert done.returncode == 0 and '"apiVersion": "artalk.v1"' in done.stdout
    done = cli("animate", str(speech_wav), "--out", str(tmp_path / "o.json"), "--server", server.target, "--style", "nope")
    assert done.returncode == 2 and "INVALID_ARGUMENT" in done.stderr and "unknown style preset" in done.stderr

"""The artalk-client CLI against the real server."""

import csv
import json
import math
import os
import subprocess
import sys

from artalk_service.audio import read_wav
from artalk_service.server.config import AuthConfig, ServerConfig, TlsConfig


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The CLI in a subprocess; ARTALK_TOKEN only when `env` sets it."""
    base = {k: v for k, v in os.environ.items() if k != "ARTALK_TOKEN"}
    return subprocess.run(
        [sys.executable, "-m", "artalk_service.client.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=base | (env or {}),
    )


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
    done = cli(
        "animate", str(speech_wav), "--out", str(out_csv), "--server", server.target, "--retarget", "arkit_camel"
    )
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
    done = cli(
        "animate", str(speech_wav), "--out", str(tmp_path / "o.json"), "--server", server.target, "--style", "nope"
    )
    assert done.returncode == 2 and "INVALID_ARGUMENT" in done.stderr and "unknown style preset" in done.stderr


def test_mutual_tls_and_token(tiny_model, server_thread, certs, speech_wav, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("cli-token-1\n")
    srv = server_thread(
        tiny_model,
        ServerConfig(
            port=0, tls=TlsConfig(certs.server, certs.server_key, certs.ca), auth=AuthConfig(tokens_file=tokens)
        ),
    )
    tls = [
        "--server",
        srv.target,
        "--tls-ca",
        str(certs.ca),
        "--tls-cert",
        str(certs.client),
        "--tls-key",
        str(certs.client_key),
    ]
    try:
        done = cli("describe", *tls, "--token", "cli-token-1")
        assert done.returncode == 0 and '"apiVersion": "artalk.v1"' in done.stdout, done.stderr
        out = tmp_path / "o.json"  # connection options before the command; the token from ARTALK_TOKEN
        done = cli(*tls, "animate", str(speech_wav), "--out", str(out), env={"ARTALK_TOKEN": "cli-token-1"})
        assert done.returncode == 0 and json.loads(out.read_text())["frames"], done.stderr
        done = cli("describe", *tls)
        assert done.returncode == 2 and "UNAUTHENTICATED" in done.stderr
        done = cli("describe", *tls[:-2], "--token", "cli-token-1")
        assert done.returncode == 2 and "tls_cert and tls_key go together" in done.stderr
    finally:
        srv.stop()

"""Render one `artalk-bench` result JSON as the markdown table the README shows.

    python -m artalk_service.bench.report benchmarks/results/cpu-2core-onnxruntime-pfix-model.json

`render(result)` is the whole block: the table, the command that made the JSON and the
machine it ran on. The README holds exactly this text between its perf-table markers, and
a test renders the named JSON again and compares, so the figures cannot be edited by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def rows(result: dict) -> list[tuple[str, str]]:
    """(figure, value) pairs, in table order, for whatever parts the run measured."""
    out: list[tuple[str, str]] = []
    model = result.get("model", {})
    if model:
        backend = f", backend {model['backend']}" if "backend" in model else ""
        guidance = f", guidance {model['guidance']:g}" if model.get("guidance") is not None else ""
        out.append(("model", f"`{model['id']}`{backend}{guidance}"))
        out.append(
            (
                "algorithmic latency (window + lookahead)",
                f"{model['window_s']:.2f} + {model['lookahead_s']:.2f} = {model['latency_s']:.2f} s",
            )
        )
    off = result.get("offline")
    if off:
        window = f"{model['window_s']:g} s " if "window_s" in model else ""
        out.append(
            (
                f"offline real-time factor, one stream ({off['audio_seconds']:g} s of speech)",
                f"**{off['rtf_best']:.1f}×** best, {off['rtf_median']:.1f}× median "
                f"({off['window_ms_median']:.1f} ms per {window}window)",
            )
        )
    unp = result.get("offline_unpipelined")
    if unp:
        out.append(
            ("… without the encode-ahead thread", f"{unp['rtf_best']:.1f}× best, {unp['rtf_median']:.1f}× median")
        )
    lat = result.get("latency")
    if lat:
        ff, late, step = lat["first_frame_latency_s"], lat["lateness_s"], lat["step_ms"]
        streams = f"{lat['streams']} real-time stream{'s' if lat['streams'] != 1 else ''}"
        out.append(
            (
                f"first-frame latency ({streams}, {_ms(lat['chunk_s'])} ms chunks, from the first audio spoken)",
                f"p50 **{_ms(ff['p50'])} ms**, max {_ms(ff['max'])} ms",
            )
        )
        out.append(
            (
                "frame lateness (arrival − audio time of the frame)",
                f"p50 {_ms(late['p50'])} / p95 {_ms(late['p95'])} / p99 {_ms(late['p99'])} / max {_ms(late['max'])} ms",
            )
        )
        out.append(
            (
                f"frames on time (within {lat['playout_delay_s']:.2f} s of their audio)",
                f"{lat['frames'] - lat['late_frames']} of {lat['frames_expected']}",
            )
        )
        out.append(
            (
                "per-window compute (model step), same run",
                f"p50 {step['p50']:.1f} / p95 {step['p95']:.1f} / p99 {step['p99']:.1f} ms",
            )
        )
        out.append(
            (
                "server CPU / resident memory, same run",
                f"{lat['server_cpu_cores_per_stream']:.3f} cores per stream / {lat['server_rss_mb']:.0f} MB",
            )
        )
    conc = result.get("concurrency")
    if conc:
        seconds = conc.get("confirm_seconds", 0)
        delay = (conc.get("confirmed") or {}).get("playout_delay_s", lat["playout_delay_s"] if lat else 0)
        out.append(
            (
                f"concurrent real-time streams, every frame within {delay:.2f} s for {seconds:g} s",
                f"**{conc['max_streams']}**",
            )
        )
        c = conc.get("confirmed")
        if c:
            out.append(
                (
                    "… at that load: model step p50 / p99, batch mean (max)",
                    f"{c['step_ms']['p50']:.0f} / {c['step_ms']['p99']:.0f} ms, "
                    f"{c['batch']['mean']:.1f} ({c['batch']['max']})",
                )
            )
            out.append(
                (
                    "… at that load: server CPU per stream / resident memory",
                    f"{c['server_cpu_cores_per_stream']:.3f} cores / {c['server_rss_mb']:.0f} MB",
                )
            )
    elif lat:
        out.append(("concurrent real-time streams", "not measured by this run (`--no-sweep`)"))
    for p in result.get("profile", []):
        if "whisper_ms" in p:
            parts = (
                f"Whisper {p['whisper_ms']:.1f}, adapter + AdaLN {p['adapter_and_modulations_ms']:.1f}, "
                f"scale steps {p['transformer_steps_ms']:.1f}, decode {p['decode_ms']:.1f} ms"
            )
        else:
            parts = f"speech encoder + AdaLN {p['conditions_ms']:.1f}, scale steps + decode {p['generate_ms']:.1f} ms"
        out.append(
            (
                f"model step profile, batch of {p['batch']}",
                f"{p['total_ms']:.1f} ms per step ({p['per_window_ms']:.1f} per window): {parts}",
            )
        )
    return out


def table(result: dict) -> str:
    """The markdown table of `rows(result)`."""
    lines = ["| figure | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows(result)]
    return "\n".join(lines)


def machine(result: dict) -> str:
    """One line describing the machine and software of the run."""
    m = result.get("machine", {})
    parts = [
        f"{m.get('cpu_model') or 'unknown CPU'} ({m.get('cpu_count', '?')} cores"
        + (f", {m['cpu_capability']}" if m.get("cpu_capability") else "")
        + ")"
    ]
    if m.get("gpu"):
        parts.append(f"GPU {m['gpu']}")
    parts.append(f"device {m.get('device', '?')}, {m.get('torch_threads', '?')} threads")
    parts.append(f"torch {m.get('torch', '?')}")
    if m.get("onnxruntime"):
        parts.append(f"onnxruntime {m['onnxruntime']}")
    if m.get("python"):
        parts.append(f"Python {m['python']}")
    if m.get("omp_wait_policy"):
        parts.append(f"OMP_WAIT_POLICY={m['omp_wait_policy']}")
    if m.get("loadavg_at_start"):
        parts.append(f"load average {m['loadavg_at_start'][0]:.2f} at the start")
    if result.get("started_utc"):
        parts.append(f"run {result['started_utc']} UTC")
    return ", ".join(parts)


def render(result: dict) -> str:
    """The README's block: the table, the command that made the JSON, and the machine."""
    text = table(result)
    if result.get("command"):
        text += f"\n\nMade by:\n\n```bash\n{result['command']}\n```"
    return text + f"\n\nMachine: {machine(result)}."


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m artalk_service.bench.report", description=__doc__.split("\n\n")[0])
    p.add_argument("result", type=Path, help="a JSON file written by artalk-bench --out")
    args = p.parse_args(argv)
    print(render(json.loads(args.result.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`artalk-bench`: offline speed, live latency over gRPC, and how many real-time streams fit.

    artalk-bench --out bench.json                 # full run (several minutes: 60 s concurrency confirmation)
    artalk-bench --quick --out bench.json         # a few seconds: every figure, tiny loads
    artalk-bench --device cuda --out gpu.json     # the same on a GPU (+ batch sizes, GPU memory)
    artalk-bench --backend onnxruntime --out o.json  # the network on ONNX Runtime (exported first if needed)

Writes every figure as JSON and prints a table. See README "Performance" for the figures
measured on the reference machines and how to read them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from artalk_service.timebase import SAMPLE_RATE


def _machine(model) -> dict:
    import torch

    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "device": str(model.device),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
    }
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu_model"] = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    try:
        info["loadavg_at_start"] = os.getloadavg()
    except OSError:
        pass
    if model.backend.name == "onnxruntime":
        import onnxruntime

        info["onnxruntime"] = onnxruntime.__version__
    elif model.device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(model.device)
    return info


def _model(args):
    from artalk_service.loader import ModelLoadError, load_model

    try:
        return load_model(
            args.model, args.device, args.backend, args.onnx_dir, untrained=args.untrained, tiny=args.tiny
        )
    except ModelLoadError as err:
        raise SystemExit(str(err)) from None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="artalk-bench", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="a few seconds: small loads, short trials")
    p.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    p.add_argument("--model", default=None, help="checkpoint; default: the bundled model (else the untrained one)")
    p.add_argument("--untrained", action="store_true", help="the architecture with random weights (same speed)")
    p.add_argument("--tiny", action="store_true", help="the tiny test configuration (for tests of this command)")
    p.add_argument(
        "--backend",
        choices=("auto", "torch", "onnxruntime"),
        default="auto",
        help="what computes the network, as `serve --backend` (default auto: the faster one for the device)",
    )
    p.add_argument("--onnx-dir", type=Path, default=None, help="onnxruntime: the export folder, as `serve --onnx-dir`")
    p.add_argument("--offline-seconds", type=float, default=30.0, help="audio for the offline real-time factor")
    p.add_argument("--latency-streams", type=int, default=1, help="real-time streams for the latency figures")
    p.add_argument("--latency-seconds", type=float, default=20.0)
    p.add_argument(
        "--sweep",
        default="1,2,4,6,8,10,12,16,20,24,32,48,64,96,128,192,256",
        help="stream counts tried, in order, for the concurrency figure",
    )
    p.add_argument("--trial-seconds", type=float, default=15.0, help="length of each sweep trial")
    p.add_argument("--confirm-seconds", type=float, default=60.0, help="the best count must hold this long")
    p.add_argument("--chunk", type=float, default=0.1, help="seconds of audio per client message")
    p.add_argument("--fps", type=int, default=25, help="output frame rate of the clients")
    p.add_argument(
        "--playout-delay",
        type=float,
        default=None,
        help="client playout delay that defines 'on time' (default: the model's window + lookahead, "
        "one chunk, and one window period of compute: 1.1 s for the default model, 0.1 s chunks)",
    )
    p.add_argument(
        "--max-batch", type=int, default=0, help="scheduler: windows per model step (0: 8 on CPU, 64 on GPU)"
    )
    p.add_argument("--no-sweep", action="store_true", help="skip the concurrency sweep")
    p.add_argument("--profile-batches", default="1,8,32", help="batch sizes of the per-part step profile")
    p.add_argument(
        "--whisper-bf16",
        action="store_true",
        help="optional speed mode: the frozen Whisper under bfloat16 autocast (reports its deviation)",
    )
    p.add_argument(
        "--guidance",
        type=float,
        default=None,
        help="classifier-free guidance of every stream (default: the model's; 1 = off)",
    )
    p.add_argument(
        "--no-pipeline",
        action="store_true",
        help="offline figure without the encode-ahead helper thread (MotionModel.animate instead of bench.pipeline)",
    )
    args = p.parse_args(argv)
    # Idle OpenMP threads sleep instead of spinning: on a CPU shared with other work, spinning
    # threads made every parallel op wait for a descheduled peer (measured about 27x slower with
    # 2 threads next to a 1-thread training job). Set OMP_WAIT_POLICY=ACTIVE to compare.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if args.quick:
        args.offline_seconds, args.latency_streams, args.latency_seconds = 4.0, 2, 2.0
        args.sweep, args.trial_seconds, args.confirm_seconds = "1,2", 1.5, 1.5

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from artalk_service.audio.sample_speech import sample_speech
    from artalk_service.bench.load import BenchServer, LoadSpec, run_load, sweep
    from artalk_service.bench.offline import deviation, offline_rtf, profile_window
    from artalk_service.runtime.scheduler import SchedulerConfig

    model = _model(args)
    if args.whisper_bf16:
        if model.backend.name != "torch":
            p.error("--whisper-bf16 is a speed mode of the torch backend")
        model.whisper_dtype = torch.bfloat16
    if args.guidance is not None:
        try:
            model.guidance = model.check_guidance(args.guidance)
        except ValueError as err:
            p.error(str(err))
    report: dict = {
        "command": "artalk-bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "started_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "machine": _machine(model),
        "model": {
            "id": model.model_id,
            "trained": model.trained,
            "backend": model.backend.name,
            "window_s": model.window_frames / model.layout.fps,
            "lookahead_s": model.lookahead_frames / model.layout.fps,
            "latency_s": model.latency_s,
            "guidance": model.guidance,
        },
    }
    window_s = model.window_frames / model.layout.fps
    playout = args.playout_delay if args.playout_delay is not None else model.latency_s + args.chunk + window_s
    print(
        f"artalk-bench: model {model.model_id} on {model.device} ({model.backend.name}), "
        f"{torch.get_num_threads()} threads",
        flush=True,
    )

    audio = sample_speech(max(args.offline_seconds, 8.0))
    clip = audio[: int(args.offline_seconds * SAMPLE_RATE)]
    report["offline"] = offline_rtf(model, clip, repeats=1 if args.quick else 3, pipeline=not args.no_pipeline)
    if not args.quick:
        report["offline_unpipelined"] = offline_rtf(model, clip, repeats=3, pipeline=False)
    if args.whisper_bf16:
        report["whisper_bf16_deviation"] = deviation(model, clip)
    print(f"offline: {report['offline']['rtf_best']:.1f}x real time", flush=True)
    batches = (1, 8) if args.quick else tuple(int(b) for b in args.profile_batches.split(","))
    report["profile"] = profile_window(model, batches, repeats=2 if args.quick else 5)

    pcm = (np.clip(audio[: 8 * SAMPLE_RATE], -1, 1) * 32767).astype("<i2").tobytes()
    server = BenchServer(model, SchedulerConfig(max_batch=args.max_batch))
    report["scheduler"] = {
        "max_batch": server.scheduler.max_batch,
        "encode_ahead": server.scheduler.config.encode_ahead,
    }
    try:
        stagger = 0.2 if args.quick else 1.0
        report["latency"] = run_load(
            server, pcm, LoadSpec(args.latency_streams, args.latency_seconds, args.chunk, args.fps, stagger), playout
        )
        print(f"latency: first frame p50 {report['latency']['first_frame_latency_s']['p50']:.3f} s", flush=True)
        if not args.no_sweep:
            counts = [int(n) for n in args.sweep.split(",")]
            report["concurrency"] = sweep(
                server, pcm, counts, args.trial_seconds, args.confirm_seconds, playout, args.chunk, args.fps, stagger
            )
    finally:
        server.stop()
    report["finished_utc"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, default=float))
    print(table(report))
    return 0


def table(r: dict) -> str:
    lat, off = r["latency"], r["offline"]
    rows = [
        (
            "machine",
            f"{r['machine'].get('cpu_model', '?')}, {r['machine']['cpu_count']} cores, "
            f"{r['machine']['torch_threads']} threads, device {r['machine']['device']}, "
            f"backend {r['model']['backend']}" + (f" ({r['machine']['gpu']})" if "gpu" in r["machine"] else ""),
        ),
        (
            "model",
            f"{r['model']['id']} (window {r['model']['window_s']:.2f} s + lookahead {r['model']['lookahead_s']:.2f} s)",
        ),
        (
            "offline real-time factor",
            f"{off['rtf_best']:.1f}x best, {off['rtf_median']:.1f}x median "
            f"({off['audio_seconds']:.0f} s audio, {off['window_ms_median']:.1f} ms/window"
            f"{', encode-ahead thread' if off['pipeline'] else ''})",
        ),
        (
            "first-frame latency",
            f"p50 {lat['first_frame_latency_s']['p50'] * 1000:.0f} ms, "
            f"max {lat['first_frame_latency_s']['max'] * 1000:.0f} ms "
            f"({lat['streams']} real-time stream(s), {lat['chunk_s'] * 1000:.0f} ms chunks)",
        ),
        (
            "frame lateness",
            f"p50 {lat['lateness_s']['p50'] * 1000:.0f} / p95 {lat['lateness_s']['p95'] * 1000:.0f} / "
            f"p99 {lat['lateness_s']['p99'] * 1000:.0f} ms (arrival - audio time)",
        ),
        (
            "per-window compute (model step)",
            f"p50 {lat['step_ms']['p50']:.1f} / p95 {lat['step_ms']['p95']:.1f} / p99 {lat['step_ms']['p99']:.1f} ms",
        ),
    ]
    if "offline_unpipelined" in r:
        u = r["offline_unpipelined"]
        rows.insert(3, ("  without encode-ahead thread", f"{u['rtf_best']:.1f}x best, {u['rtf_median']:.1f}x median"))
    if "whisper_bf16_deviation" in r:
        d = r["whisper_bf16_deviation"]
        rows.insert(
            3,
            (
                "  Whisper bf16 deviation",
                f"frames mean |diff| {d['mean_abs']:.4f}, max {d['max_abs']:.3f} (channel std {d['channel_std']:.3f})",
            ),
        )
    conc = r.get("concurrency")
    if conc is not None:
        c = conc["confirmed"]
        rows.append(
            (
                "max real-time streams",
                f"{conc['max_streams']} (every frame within "
                f"{lat['playout_delay_s']:.2f} s for {conc['confirm_seconds']:g} s)",
            )
        )
        if c:
            rows += [
                (
                    "  at that load: step",
                    f"p50 {c['step_ms']['p50']:.1f} / p95 {c['step_ms']['p95']:.1f} / "
                    f"p99 {c['step_ms']['p99']:.1f} ms, batch mean {c['batch']['mean']:.1f} "
                    f"max {c['batch']['max']}",
                ),
                (
                    "  CPU per stream",
                    f"{c['server_cpu_cores_per_stream']:.3f} cores (server total {c['server_cpu_cores']:.2f})",
                ),
                (
                    "  memory per stream",
                    f"{c['server_rss_delta_mb_per_stream']:.1f} MB (server RSS {c['server_rss_mb']:.0f} MB)",
                ),
            ]
            if "gpu_max_memory_mb" in c:
                rows.append(("  GPU memory", f"{c['gpu_max_memory_mb']:.0f} MB peak"))
    prof = r.get("profile", [])
    for p in prof:
        parts = (
            (
                f"whisper {p['whisper_ms']:.1f}, adapter+AdaLN {p['adapter_and_modulations_ms']:.1f}, "
                f"scales {p['transformer_steps_ms']:.1f}, decode {p['decode_ms']:.1f}"
            )
            if "whisper_ms" in p
            else f"speech encoder+AdaLN {p['conditions_ms']:.1f}, scales+decode {p['generate_ms']:.1f}"
        )
        rows.append(
            (f"profile B={p['batch']}", f"{p['total_ms']:.1f} ms/step = {p['per_window_ms']:.1f} ms/window: " + parts)
        )
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


if __name__ == "__main__":
    sys.exit(main())

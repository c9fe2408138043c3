"""`artalk-client`: animate a WAV file through the service, or describe it."""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import grpc
from google.protobuf import json_format

from artalk_service.client.client import AnimationClient, AnimationResult, percentile


def write_result(result: AnimationResult, out: Path) -> None:
    if out.suffix.lower() == ".csv":
        with out.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["time", *result.names])
            for t, row in zip(result.time_codes, result.values):
                writer.writerow([f"{t:.6f}", *(f"{v:.6f}" for v in row)])
    else:
        out.write_text(json.dumps(result.to_json_dict()))


def cmd_animate(args: argparse.Namespace) -> int:
    with AnimationClient(args.server) as client:
        result = client.animate_wav(args.wav, fps=args.fps, style=args.style, retarget=args.retarget,
                                    seed=args.seed, temperature=args.temperature,
                                    realtime=args.realtime, chunk_seconds=args.chunk_ms / 1000)
    write_result(result, Path(args.out))
    print(f"{len(result.values)} frames at {result.fps} fps, {len(result.names)} channels -> {args.out}")
    if args.realtime:
        lateness = result.lateness_s
        print(f"first-frame latency: {result.first_frame_latency_s * 1000:.0f} ms")
        print(f"frame lateness (arrival - stream start - time code): p50 {percentile(lateness, 50) * 1000:.0f} ms, "
              f"p95 {percentile(lateness, 95) * 1000:.0f} ms, max {max(lateness) * 1000:.0f} ms")
    return 0


def cmd_describe(args: argparse.Namespace) -> int:
    with AnimationClient(args.server) as client:
        print(json_format.MessageToJson(client.describe()))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="artalk-client", description="Client of the artalk.v1 service.")
    parser.add_argument("--server", default="127.0.0.1:50051", help="HOST:PORT (default 127.0.0.1:50051)")
    sub = parser.add_subparsers(dest="command", required=True)
    animate = sub.add_parser("animate", help="stream a WAV file and write its frames")
    animate.add_argument("wav", help="input WAV (PCM16 or float32, 8-48 kHz, mono or stereo)")
    animate.add_argument("--out", required=True, help="output .json or .csv")
    animate.add_argument("--server", default=argparse.SUPPRESS, help="HOST:PORT")
    animate.add_argument("--style", help="style preset name (see describe)")
    animate.add_argument("--retarget", help="retarget preset name (see describe)")
    animate.add_argument("--fps", type=int, default=0, help="output frame rate (default: native 25)")
    animate.add_argument("--seed", type=int, default=0)
    animate.add_argument("--temperature", type=float, default=0.0)
    animate.add_argument("--realtime", action="store_true", help="pace audio like a live source; print latency")
    animate.add_argument("--chunk-ms", type=float, default=100.0, help="audio chunk length (default 100 ms)")
    animate.set_defaults(func=cmd_animate)
    describe = sub.add_parser("describe", help="print what the service offers")
    describe.add_argument("--server", default=argparse.SUPPRESS, help="HOST:PORT")
    describe.set_defaults(func=cmd_describe)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except grpc.RpcError as err:
        print(f"error: {err.code().name}: {err.details()}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

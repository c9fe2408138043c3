"""`artalk-client`: animate a WAV file through the service, or describe it."""

from __future__ import annotations

import argparse
import csv
import json
import os
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


def connect(args: argparse.Namespace) -> AnimationClient:
    return AnimationClient(
        args.server, tls_ca=args.tls_ca, tls_cert=args.tls_cert, tls_key=args.tls_key, token=args.token
    )


def cmd_animate(args: argparse.Namespace) -> int:
    with connect(args) as client:
        result = client.animate_wav(
            args.wav,
            fps=args.fps,
            style=args.style,
            retarget=args.retarget,
            seed=args.seed,
            temperature=args.temperature,
            guidance=args.guidance,
            realtime=args.realtime,
            chunk_seconds=args.chunk_ms / 1000,
        )
    write_result(result, Path(args.out))
    print(f"{len(result.values)} frames at {result.fps} fps, {len(result.names)} channels -> {args.out}")
    if args.realtime:
        lateness = result.lateness_s
        print(f"first-frame latency: {result.first_frame_latency_s * 1000:.0f} ms")
        print(
            f"frame lateness (arrival - stream start - time code): p50 {percentile(lateness, 50) * 1000:.0f} ms, "
            f"p95 {percentile(lateness, 95) * 1000:.0f} ms, max {max(lateness) * 1000:.0f} ms"
        )
    return 0


def cmd_describe(args: argparse.Namespace) -> int:
    with connect(args) as client:
        print(json_format.MessageToJson(client.describe()))
    return 0


def add_connection_options(parser: argparse.ArgumentParser, *, with_defaults: bool) -> None:
    """Where and how to connect; the subcommands take them too, without defaults of their own."""

    def default(value):
        return value if with_defaults else argparse.SUPPRESS

    parser.add_argument("--server", default=default("127.0.0.1:50051"), help="HOST:PORT (default 127.0.0.1:50051)")
    parser.add_argument(
        "--tls-ca", type=Path, default=default(None), help="PEM CA certificate that signed the server's (turns TLS on)"
    )
    parser.add_argument(
        "--tls-cert",
        type=Path,
        default=default(None),
        help="PEM client certificate, for a mutual-TLS server (turns TLS on)",
    )
    parser.add_argument("--tls-key", type=Path, default=default(None), help="PEM private key of --tls-cert")
    parser.add_argument(
        "--token",
        default=default(os.environ.get("ARTALK_TOKEN")),
        help="bearer token (default: the ARTALK_TOKEN environment variable)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="artalk-client", description="Client of the artalk.v1 service.")
    add_connection_options(parser, with_defaults=True)
    sub = parser.add_subparsers(dest="command", required=True)
    animate = sub.add_parser("animate", help="stream a WAV file and write its frames")
    animate.add_argument("wav", help="input WAV (PCM16 or float32, 8-48 kHz, mono or stereo)")
    animate.add_argument("--out", required=True, help="output .json or .csv")
    add_connection_options(animate, with_defaults=False)
    animate.add_argument("--style", help="style preset name (see describe)")
    animate.add_argument("--retarget", help="retarget preset name (see describe)")
    animate.add_argument("--fps", type=int, default=0, help="output frame rate (default: native 25)")
    animate.add_argument("--seed", type=int, default=0)
    animate.add_argument("--temperature", type=float, default=0.0)
    animate.add_argument(
        "--guidance",
        type=float,
        default=0.0,
        help="classifier-free guidance of the audio, 1 (off) to the model's max (see describe); default: the model's",
    )
    animate.add_argument("--realtime", action="store_true", help="pace audio like a live source; print latency")
    animate.add_argument("--chunk-ms", type=float, default=100.0, help="audio chunk length (default 100 ms)")
    animate.set_defaults(func=cmd_animate)
    describe = sub.add_parser("describe", help="print what the service offers")
    add_connection_options(describe, with_defaults=False)
    describe.set_defaults(func=cmd_describe)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except grpc.RpcError as err:
        print(f"error: {err.code().name}: {err.details()}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as err:  # an unreadable certificate file, a certificate without its key
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""`artalk-service serve`: run the gRPC service."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

# Before torch loads OpenMP: spinning idle threads cost a 27x slow-down next to other
# CPU work (measured, benchmarks/README.md); passive waiting costs nothing measurable.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Before grpc loads: gRPC core writes its own plain-text lines to stderr (one per failed TLS
# handshake at its default verbosity) among the JSON logs; ERROR keeps its real failures.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

from artalk_service.loader import ModelLoadError, load_model  # noqa: E402
from artalk_service.server.app import serve_forever  # noqa: E402
from artalk_service.server.config import ConfigError, ServerConfig, load_config  # noqa: E402
from artalk_service.server.logs import configure_logging  # noqa: E402
from artalk_service.server.security import check_tls_files  # noqa: E402


def add_config_flags(serve: argparse.ArgumentParser) -> None:
    """Flags for config keys: each one's dest is "section.key" and its value stays text, parsed
    like an ARTALK_<SECTION>_<KEY> variable; only flags given override the file and environment."""
    serve.add_argument("--config", type=Path, help="TOML config file (every key: config/artalk.example.toml)")
    serve.add_argument(
        "--host",
        dest="server.host",
        metavar="ADDRESS",
        help="address to bind (default 127.0.0.1; any other needs TLS or --allow-insecure-remote)",
    )
    serve.add_argument("--port", dest="server.port", metavar="PORT", help="port (default 50051; 0 picks a free one)")
    serve.add_argument(
        "--allow-insecure-remote",
        dest="server.allow_insecure_remote",
        action="store_const",
        const="true",
        help="serve a non-loopback address without TLS (something else encrypts)",
    )
    serve.add_argument(
        "--reuse-port",
        dest="server.reuse_port",
        action="store_const",
        const="true",
        help="let other processes listen on the same port (SO_REUSEPORT); default: a port in use is an error",
    )
    serve.add_argument("--tls-cert", dest="tls.cert_file", metavar="PEM", help="server certificate chain (TLS on)")
    serve.add_argument("--tls-key", dest="tls.key_file", metavar="PEM", help="private key of --tls-cert")
    serve.add_argument(
        "--tls-client-ca",
        dest="tls.client_ca_file",
        metavar="PEM",
        help="CA of client certificates: mutual TLS, clients without one are refused",
    )
    serve.add_argument(
        "--tokens-file",
        dest="auth.tokens_file",
        metavar="FILE",
        help="bearer tokens, one a line; also read: ARTALK_TOKENS (comma-separated)",
    )
    serve.add_argument(
        "--max-sessions",
        dest="limits.max_sessions",
        metavar="N",
        help="concurrent Stream and AnimateClip calls (default 64)",
    )
    serve.add_argument(
        "--idle-timeout",
        dest="limits.idle_timeout_seconds",
        metavar="SECONDS",
        help="end a Stream whose client sends nothing this long (default 30)",
    )
    serve.add_argument(
        "--sessions-per-minute-per-token",
        dest="limits.sessions_per_minute_per_token",
        metavar="N",
        help="session starts per token per minute (default 600; 0: no limit)",
    )
    serve.add_argument(
        "--drain-seconds",
        dest="server.drain_seconds",
        metavar="SECONDS",
        help="on SIGTERM/SIGINT: how long sessions may finish their utterances (default 30)",
    )
    serve.add_argument(
        "--metrics-port",
        dest="observability.metrics_port",
        metavar="PORT",
        help="serve Prometheus metrics on http://127.0.0.1:PORT/metrics (0: a free port; default off)",
    )
    serve.add_argument(
        "--log-format",
        dest="observability.log_format",
        metavar="json|text",
        help="log lines as JSON objects (default) or plain text",
    )
    serve.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="any other config key, e.g. --set limits.max_chunk_bytes=1048576 (repeatable)",
    )


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    flags = {dest: value for dest, value in vars(args).items() if "." in dest and value is not None}
    for item in args.set:
        dotted, equals, value = item.partition("=")
        if not equals:
            raise SystemExit(f"--set {item!r}: expected SECTION.KEY=VALUE, e.g. limits.max_sessions=16")
        flags[dotted.strip()] = value.strip()
    try:
        return load_config(args.config, os.environ, flags)
    except ConfigError as err:
        raise SystemExit(f"configuration error: {err}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="artalk-service", description="Speech-driven facial animation over gRPC.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the gRPC service")
    serve.add_argument("--device", default="auto", help="cpu, cuda or cuda:N (default: cuda if available)")
    serve.add_argument("--model", default=None, help="model checkpoint (.safetensors); default: the bundled model")
    serve.add_argument("--untrained", action="store_true", help="serve the architecture with random weights (testing)")
    serve.add_argument(
        "--backend",
        choices=("auto", "torch", "onnxruntime"),
        default="auto",
        help="what computes the network (default auto: the faster one measured for the device)",
    )
    serve.add_argument(
        "--onnx-dir",
        type=Path,
        default=None,
        help="onnxruntime: folder of the exported graphs, exported there first if missing "
        "(default $ARTALK_CACHE_DIR/onnx/<model id>, ARTALK_CACHE_DIR=~/.cache/artalk)",
    )
    serve.add_argument(
        "--retarget-dir",
        type=Path,
        default=None,
        help="folder of retarget maps (*.json, *.yaml): each is a preset named by its file stem, "
        "reloaded when the file changes",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        help="debug, info (default), warning or error; other libraries log from warning unless debug",
    )
    add_config_flags(serve)
    args = parser.parse_args(argv)
    config = config_from_args(args)
    try:
        configure_logging(config.observability.log_format, args.log_level)
    except ValueError as err:
        raise SystemExit(f"--log-level: {err}") from None
    if args.retarget_dir is not None and not args.retarget_dir.is_dir():
        raise SystemExit(f"--retarget-dir {args.retarget_dir} is not a folder")
    if config.tls.enabled:
        try:  # before a minute of model loading, in one line
            check_tls_files(config.tls)
        except ConfigError as err:
            raise SystemExit(f"configuration error: {err}") from None
    try:
        model = load_model(args.model, args.device, args.backend, args.onnx_dir, untrained=args.untrained)
    except ModelLoadError as err:
        raise SystemExit(str(err)) from None
    try:
        asyncio.run(serve_forever(model, config, retarget_dir=args.retarget_dir))
    except ConfigError as err:  # found on start: e.g. an empty tokens file
        raise SystemExit(f"configuration error: {err}") from None
    except OSError as err:  # the port: one line, not a traceback
        raise SystemExit(f"cannot serve: {err}") from None
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Everything an operator configures about a running server, in one typed tree.

Sources, later ones winning: the defaults here, a TOML file (`serve --config`),
ARTALK_<SECTION>_<KEY> environment variables, command-line flags. The file has
the sections [server], [limits], [tls], [auth] and [observability]; keys are the
field names below. See docs/operations.md and config/artalk.example.toml.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from artalk_service.server.limits import Limits

ENV_PREFIX = "ARTALK_"
LOG_FORMATS = ("json", "text")


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the key and what is accepted."""


@dataclass(frozen=True)
class TlsConfig:
    cert_file: Path | None = None  # PEM server certificate chain; set with key_file to serve TLS
    key_file: Path | None = None  # PEM private key of cert_file
    client_ca_file: Path | None = None  # set: mutual TLS, clients must present a certificate it signed

    @property
    def enabled(self) -> bool:
        return self.cert_file is not None


@dataclass(frozen=True)
class AuthConfig:
    tokens_file: Path | None = None  # one bearer token per line ('#' comments); none and no env: auth off
    tokens_env: str = "ARTALK_TOKENS"  # environment variable holding comma-separated tokens


@dataclass(frozen=True)
class ObservabilityConfig:
    metrics_port: int | None = None  # Prometheus /metrics over HTTP; None: off, 0: a free port
    metrics_host: str = "127.0.0.1"
    log_format: str = "json"  # "json" (one object per line) or "text"


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 50051
    allow_insecure_remote: bool = False  # serve a non-loopback address without TLS anyway
    reuse_port: bool = False  # let other processes bind the same port too (SO_REUSEPORT)
    drain_seconds: float = 30.0  # on SIGTERM: how long in-flight utterances may finish
    limits: Limits = field(default_factory=Limits)
    tls: TlsConfig = field(default_factory=TlsConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    observability: ObservabilityConfig = field(default_factory=ObservabilityConfig)


# Section name -> the dataclass holding its keys; [server] holds ServerConfig's own scalars.
SECTIONS = {
    "server": ServerConfig,
    "limits": Limits,
    "tls": TlsConfig,
    "auth": AuthConfig,
    "observability": ObservabilityConfig,
}


def load_config(
    file: Path | None = None, env: Mapping[str, str] | None = None, flags: Mapping[str, str] | None = None
) -> ServerConfig:
    """Defaults <- TOML `file` <- ARTALK_<SECTION>_<KEY> variables in `env` <- `flags`
    ({"section.key": text}); validated. Raises ConfigError."""
    values: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    if file is not None:
        _merge_file(values, Path(file))
    for name, text in (env or {}).items():
        section = next((s for s in SECTIONS if name.startswith(f"{ENV_PREFIX}{s.upper()}_")), None)
        if section is not None:  # other ARTALK_* variables (ARTALK_TOKENS) are not config keys
            key = name[len(ENV_PREFIX) + len(section) + 1 :].lower()
            values[section][key] = _parse_text(section, key, text, f"environment variable {name}")
    for dotted, text in (flags or {}).items():
        section, _, key = dotted.partition(".")
        if section not in SECTIONS:
            raise ConfigError(
                f"command line: unknown section {section!r} in {dotted!r}; accepted: {', '.join(SECTIONS)}"
            )
        values[section][key] = _parse_text(section, key, text, f"command line ({dotted})")
    sections = {name: SECTIONS[name](**values[name]) for name in SECTIONS if name != "server"}
    config = ServerConfig(**values["server"], **sections)
    validate(config)
    return config


def validate(config: ServerConfig) -> None:
    """Raise ConfigError for a value the server cannot run with, or an unsafe bind."""
    if not 0 <= config.port <= 65535:
        raise ConfigError(f"server.port {config.port} is out of range; accepted: 0 (a free port) to 65535")
    if config.drain_seconds < 0:
        raise ConfigError(f"server.drain_seconds {config.drain_seconds:g} is negative; accepted: 0 or more")
    _validate_limits(config.limits)
    _validate_tls(config.tls)
    if config.auth.tokens_file is not None and not config.auth.tokens_file.is_file():
        raise ConfigError(f"auth.tokens_file {config.auth.tokens_file} is not a readable file")
    obs = config.observability
    if obs.log_format not in LOG_FORMATS:
        raise ConfigError(f"observability.log_format {obs.log_format!r} is unknown; accepted: {', '.join(LOG_FORMATS)}")
    if obs.metrics_port is not None and not 0 <= obs.metrics_port <= 65535:
        raise ConfigError(
            f"observability.metrics_port {obs.metrics_port} is out of range; accepted: 0 to 65535, "
            f"or unset for no metrics endpoint"
        )
    if not is_loopback(config.host) and not config.tls.enabled and not config.allow_insecure_remote:
        raise ConfigError(
            f"refusing to serve {config.host!r} without TLS: tokens and audio would cross the network in "
            f"clear text. Set tls.cert_file and tls.key_file (--tls-cert/--tls-key), bind a loopback address "
            f"(127.0.0.1, ::1, localhost), or pass --allow-insecure-remote (server.allow_insecure_remote) if "
            f"something else encrypts the traffic"
        )


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost; every other name or address counts as remote."""
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve anywhere
        return False


def _validate_limits(limits: Limits) -> None:
    for f in dataclasses.fields(limits):
        value = getattr(limits, f.name)
        rate = f.name in ("sessions_per_minute_per_token", "max_stream_messages_per_second")  # may be 0 (off)
        if value < 0 or (value == 0 and not rate):
            raise ConfigError(
                f"limits.{f.name} is {value:g}; accepted: a number above 0"
                + (", or 0 for no rate limit" if rate else "")
            )
    if limits.max_chunk_bytes > limits.max_message_bytes:
        raise ConfigError(
            f"limits.max_chunk_bytes {limits.max_chunk_bytes} exceeds limits.max_message_bytes "
            f"{limits.max_message_bytes}; a chunk travels in one message"
        )


def _validate_tls(tls: TlsConfig) -> None:
    if (tls.cert_file is None) != (tls.key_file is None):
        raise ConfigError("tls.cert_file and tls.key_file go together: set both to serve TLS, or neither")
    if tls.client_ca_file is not None and not tls.enabled:
        raise ConfigError("tls.client_ca_file (mutual TLS) needs tls.cert_file and tls.key_file as well")
    for name in ("cert_file", "key_file", "client_ca_file"):
        path = getattr(tls, name)
        if path is not None and not path.is_file():
            raise ConfigError(f"tls.{name} {path} is not a readable file")


def _merge_file(values: dict[str, dict[str, Any]], file: Path) -> None:
    try:
        document = tomllib.loads(file.read_text())
    except OSError as err:
        raise ConfigError(f"cannot read config file {file}: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {file} is not valid TOML: {err}") from None
    for section, table in document.items():
        if section not in SECTIONS or not isinstance(table, dict):
            home = [
                s
                for s in SECTIONS
                if section not in SECTIONS and section in {f.name for f in dataclasses.fields(SECTIONS[s])}
            ]
            raise ConfigError(
                f"config file {file}: {section!r} at the top level is not a section; accepted "
                f"sections: {', '.join(f'[{s}]' for s in SECTIONS)}"
                + (f" ({section!r} belongs in [{home[0]}])" if home else "")
            )
        for key, value in table.items():
            kind, _ = _key_type(section, key, f"config file {file}")
            if kind is Path and isinstance(value, str):  # relative to the file, not to the working folder
                value = str(file.parent / value)
            values[section][key] = _check_typed(section, key, value, kind, f"config file {file}")


def _key_type(section: str, key: str, source: str) -> tuple[type, bool]:
    """The key's type with None stripped and whether None is allowed, or ConfigError listing the section's keys."""
    keys = [f.name for f in dataclasses.fields(SECTIONS[section]) if f.name not in SECTIONS]
    if key not in keys:
        raise ConfigError(f"{source}: unknown key {key!r} in [{section}]; accepted: {', '.join(keys)}")
    hint = typing.get_type_hints(SECTIONS[section])[key]
    kinds = typing.get_args(hint) or (hint,)
    return next(t for t in kinds if t is not type(None)), type(None) in kinds


def _describe(kind: type) -> str:
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string", Path: "a file path"}[kind]


def _check_typed(section: str, key: str, value: Any, kind: type, source: str) -> Any:
    """A TOML value of the right type (an integer is a number too), converted to `kind`."""
    accepted = {bool: (bool,), int: (int,), float: (int, float), str: (str,), Path: (str,)}[kind]
    ok = isinstance(value, accepted) and (kind is bool or not isinstance(value, bool))  # TOML true is no number
    if not ok or (kind is float and not math.isfinite(value)):
        raise ConfigError(f"{source}: {section}.{key} = {value!r}: expected {_describe(kind)}")
    return kind(value)


def _parse_text(section: str, key: str, text: str, source: str) -> Any:
    """A value written as text (environment, flags): '' clears an optional key."""
    kind, optional = _key_type(section, key, source)
    if text == "" and optional:
        return None
    try:
        if kind is bool:
            return {
                "true": True,
                "1": True,
                "yes": True,
                "on": True,
                "false": False,
                "0": False,
                "no": False,
                "off": False,
            }[text.strip().lower()]
        value = kind(text)
    except (KeyError, ValueError):
        raise ConfigError(f"{source}: {section}.{key} = {text!r}: expected {_describe(kind)}") from None
    if kind is float and not math.isfinite(value):
        raise ConfigError(f"{source}: {section}.{key} = {text!r}: expected a finite number")
    return value

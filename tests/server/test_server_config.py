"""Loading the server configuration: defaults < TOML file < ARTALK_* environment < flags,
precise errors for bad input, and the bind policy."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from artalk_service.server import cli
from artalk_service.server.config import (
    SECTIONS,
    ConfigError,
    ServerConfig,
    TlsConfig,
    is_loopback,
    load_config,
    validate,
)
from artalk_service.server.limits import Limits

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "artalk.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "artalk.toml"
    path.write_text(text)
    return path


def test_the_example_file_documents_every_key_at_its_default():
    assert load_config(EXAMPLE) == ServerConfig()
    text = EXAMPLE.read_text()
    for section, cls in SECTIONS.items():
        block = re.search(rf"^\[{section}\]\n(.*?)(?=^\[|\Z)", text, re.S | re.M).group(1)
        for f in dataclasses.fields(cls):
            if f.name not in SECTIONS:  # optional keys without a default value are shown commented out
                assert re.search(rf"^(# )?{f.name} = ", block, re.M), f"{section}.{f.name} missing"


def test_precedence_file_then_environment_then_flags(tmp_path):
    file = write(tmp_path, "[limits]\nmax_sessions = 8\nidle_timeout_seconds = 12\n[server]\nport = 6000\n")
    env = {"ARTALK_LIMITS_MAX_SESSIONS": "9", "ARTALK_SERVER_PORT": "6001"}
    flags = {"limits.max_sessions": "10"}
    assert load_config(file).limits.max_sessions == 8
    assert load_config(file, env).limits.max_sessions == 9
    config = load_config(file, env, flags)
    assert config.limits.max_sessions == 10
    assert config.port == 6001  # env over file where no flag is given
    assert config.limits.idle_timeout_seconds == 12.0  # file over defaults
    assert config.limits.max_chunk_seconds == Limits().max_chunk_seconds  # default where nothing is given


def test_the_serve_command_reads_file_environment_and_flags(tmp_path, monkeypatch):
    file = write(tmp_path, "[limits]\nmax_sessions = 8\nmax_clip_seconds = 60\n")
    monkeypatch.setenv("ARTALK_LIMITS_MAX_CLIP_SECONDS", "90")
    parser = cli.argparse.ArgumentParser()
    cli.add_config_flags(parser)
    args = parser.parse_args(
        [
            "--config",
            str(file),
            "--max-sessions",
            "3",
            "--idle-timeout",
            "0.5",
            "--set",
            "limits.max_chunk_bytes=1024",
            "--allow-insecure-remote",
        ]
    )
    config = cli.config_from_args(args)
    assert (config.limits.max_sessions, config.limits.max_clip_seconds) == (3, 90.0)
    assert (config.limits.idle_timeout_seconds, config.limits.max_chunk_bytes) == (0.5, 1024)
    assert config.allow_insecure_remote is True


def test_relative_paths_in_the_file_are_relative_to_the_file(tmp_path):
    (tmp_path / "certs").mkdir()
    for name in ("server.pem", "server.key"):
        (tmp_path / "certs" / name).write_text("pem")
    file = write(tmp_path, '[tls]\ncert_file = "certs/server.pem"\nkey_file = "certs/server.key"\n')
    assert load_config(file).tls == TlsConfig(tmp_path / "certs" / "server.pem", tmp_path / "certs" / "server.key")


@pytest.mark.parametrize(
    "text, message",
    [
        ("[limits]\nmax_sesions = 8\n", r"unknown key 'max_sesions' in \[limits\]; accepted: .*max_sessions"),
        ('[limits]\nmax_sessions = "8"\n', r"limits.max_sessions = '8': expected an integer"),
        ("[limits]\nmax_clip_seconds = true\n", r"limits.max_clip_seconds = True: expected a number"),
        ("[server]\nallow_insecure_remote = 1\n", r"server.allow_insecure_remote = 1: expected true or false"),
        ("[limit]\nmax_sessions = 8\n", r"'limit' at the top level is not a section; accepted sections: \[server\]"),
        ("port = 1\n", r"'port' belongs in \[server\]"),
        ("[limits\n", r"is not valid TOML"),
        ("[limits]\nmax_sessions = 0\n", r"limits.max_sessions is 0; accepted: a number above 0"),
        ("[limits]\nsessions_per_minute_per_token = -1\n", r"or 0 for no rate limit"),
        ("[limits]\nmax_chunk_bytes = 99\nmax_message_bytes = 98\n", r"max_chunk_bytes 99 exceeds .*max_message_bytes"),
        ("[server]\nport = 70000\n", r"server.port 70000 is out of range"),
        ('[tls]\ncert_file = "server.pem"\n', r"tls.cert_file and tls.key_file go together"),
        ('[auth]\ntokens_file = "missing.txt"\n', r"auth.tokens_file .*missing.txt is not a readable file"),
        ('[observability]\nlog_format = "xml"\n', r"log_format 'xml' is unknown; accepted: json, text"),
    ],
)
def test_bad_file_names_the_key_and_what_is_accepted(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text))


def test_bad_environment_and_flags_name_their_source():
    with pytest.raises(ConfigError, match=r"environment variable ARTALK_LIMITS_MAX_SESION: unknown key"):
        load_config(env={"ARTALK_LIMITS_MAX_SESION": "3"})
    with pytest.raises(ConfigError, match=r"ARTALK_LIMITS_IDLE_TIMEOUT_SECONDS: .* 'soon': expected a number"):
        load_config(env={"ARTALK_LIMITS_IDLE_TIMEOUT_SECONDS": "soon"})
    with pytest.raises(ConfigError, match=r"unknown section 'limit' in 'limit.max_sessions'; accepted: server"):
        load_config(flags={"limit.max_sessions": "3"})
    # ARTALK_ variables outside the sections (the token list, the client's token) are not config keys
    assert load_config(env={"ARTALK_TOKENS": "a,b", "ARTALK_TOKEN": "a"}) == ServerConfig()
    assert load_config(env={"ARTALK_OBSERVABILITY_METRICS_PORT": "9100"}).observability.metrics_port == 9100
    assert load_config(env={"ARTALK_OBSERVABILITY_METRICS_PORT": ""}).observability.metrics_port is None


@pytest.mark.parametrize(
    "host, loopback",
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.7", False),
        ("game-host.internal", False),
        ("", False),
    ],
)
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback


def test_remote_bind_needs_tls_or_an_explicit_flag(tmp_path):
    with pytest.raises(ConfigError, match="--allow-insecure-remote"):
        validate(ServerConfig(host="0.0.0.0"))
    validate(ServerConfig(host="0.0.0.0", allow_insecure_remote=True))
    (tmp_path / "s.pem").write_text("pem")
    validate(ServerConfig(host="0.0.0.0", tls=TlsConfig(tmp_path / "s.pem", tmp_path / "s.pem")))
    validate(ServerConfig(host="::1"))


def test_serve_refuses_a_plaintext_remote_bind_before_loading_the_model():
    with pytest.raises(SystemExit, match="configuration error: refusing to serve '0.0.0.0' without TLS"):
        cli.main(["serve", "--host", "0.0.0.0"])

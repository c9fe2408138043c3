"""The native client core (clients/cpp) against the live server, one pytest case per C++ case.

The C++ cases go through the shipped libartalk_client.so and its C ABI: frames and their
time codes, flush, cancel, reconnect after a broken connection (through a proxy that
cuts the first call), errors, and clean shutdown; and against secured servers: TLS with a
bearer token, mutual TLS, refused tokens, a plaintext client at a TLS server, the idle
timeout and the per-token session rate, none of which may turn into reconnect attempts.
"""

from __future__ import annotations

import subprocess

import grpc
import pytest
from engine_clients import CPP_SOURCE, exported_symbols, header_functions, library_env

from artalk_service.client import AnimationClient

UNIT_CASES = [
    "jitter_interpolates",
    "jitter_late_and_release",
    "jitter_cut_and_gap",
    "jitter_prunes_history",
    "abi_basics",
    "security_options",
    "unreachable_fails_fast_and_closes",
]
LIVE_CASES = [
    "live_frames",
    "live_flush",
    "live_cancel",
    "live_invalid_style_fails_without_retry",
    "live_close_midstream",
]
TLS_TOKEN_CASES = ["live_token_refused_without_retry", "live_plaintext_to_tls_fails_clearly", "live_tls_server_name"]


def run_cases(build, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(build.tests), *args], capture_output=True, text=True, timeout=300, env=library_env(build)
    )
    print(done.stdout, done.stderr)
    return done


def assert_passed(done: subprocess.CompletedProcess, count: int = 1) -> None:
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == f"{count} passed, 0 failed, 0 skipped", done.stdout


def test_case_list_matches(cpp_build):
    """Every C++ case runs here: the binary's list and this file's lists agree."""
    listed = run_cases(cpp_build, "--list").stdout.split()
    assert sorted(listed) == sorted(
        UNIT_CASES
        + LIVE_CASES
        + TLS_TOKEN_CASES
        + ["live_reconnect", "live_idle_timeout_fails_without_retry", "live_rate_limit_honours_pushback"]
    )


@pytest.mark.parametrize("case", UNIT_CASES)
def test_unit(cpp_build, case):
    assert_passed(run_cases(cpp_build, "--case", case))


@pytest.mark.parametrize("case", LIVE_CASES)
def test_live(cpp_build, server, speech_wav, case):
    assert_passed(run_cases(cpp_build, "--server", server.target, "--wav", str(speech_wav), "--case", case))


def test_live_reconnect(cpp_build, server, speech_wav, breaking_proxy):
    done = run_cases(
        cpp_build,
        "--server",
        server.target,
        "--proxy",
        breaking_proxy.target,
        "--wav",
        str(speech_wav),
        "--case",
        "live_reconnect",
    )
    assert_passed(done)
    assert breaking_proxy.broken == 1 and breaking_proxy.connections >= 2


@pytest.mark.parametrize("case", ["live_frames", *TLS_TOKEN_CASES])
def test_live_tls_with_token(cpp_build, tls_server, certs, token, speech_wav, case):
    assert_passed(
        run_cases(
            cpp_build,
            "--server",
            tls_server.target,
            "--wav",
            str(speech_wav),
            "--tls-ca",
            str(certs.ca),
            "--token",
            token,
            "--case",
            case,
        )
    )


def test_live_mutual_tls(cpp_build, mtls_server, certs, speech_wav):
    assert_passed(
        run_cases(
            cpp_build,
            "--server",
            mtls_server.target,
            "--wav",
            str(speech_wav),
            "--tls-ca",
            str(certs.ca),
            "--tls-cert",
            str(certs.client),
            "--tls-key",
            str(certs.client_key),
            "--case",
            "live_frames",
        )
    )


def test_live_idle_timeout_fails_without_retry(cpp_build, idle_server, speech_wav):
    assert_passed(
        run_cases(
            cpp_build,
            "--server",
            idle_server.target,
            "--wav",
            str(speech_wav),
            "--case",
            "live_idle_timeout_fails_without_retry",
        )
    )


def test_live_rate_limit_honours_pushback(cpp_build, rate_server, token, speech_wav):
    with AnimationClient(rate_server.target, token=token) as client:
        assert client.animate_wav(speech_wav, timeout=60).values  # the token's one session start this minute
        with pytest.raises(grpc.RpcError) as refused:
            client.animate_wav(speech_wav, timeout=60)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert_passed(
        run_cases(
            cpp_build,
            "--server",
            rate_server.target,
            "--wav",
            str(speech_wav),
            "--token",
            token,
            "--case",
            "live_rate_limit_honours_pushback",
        )
    )


def test_library_exports_only_the_c_abi(cpp_build):
    """No C++, gRPC or protobuf symbol leaks out to clash with an engine's own copies."""
    symbols = exported_symbols(cpp_build)
    leaked = [s for s in symbols if not s.startswith("artalk_")]
    assert symbols and not leaked, leaked
    assert header_functions() == set(symbols)


def test_header_is_plain_c(cpp_build, tmp_path):
    """artalk_client.h compiles as C99 on its own: no C++ type crosses the boundary."""
    source = tmp_path / "use.c"
    source.write_text(
        '#include "artalk_client.h"\nint main(void) { return artalk_abi_version() == ARTALK_ABI_VERSION ? 0 : 1; }\n'
    )
    include = CPP_SOURCE / "include"
    exe = tmp_path / "use"
    subprocess.run(
        [
            "cc",
            "-std=c99",
            "-Wall",
            "-Werror",
            "-pedantic",
            f"-I{include}",
            str(source),
            f"-L{cpp_build.dir}",
            "-lartalk_client",
            "-o",
            str(exe),
        ],
        check=True,
        capture_output=True,
    )
    assert subprocess.run([str(exe)], env=library_env(cpp_build)).returncode == 0

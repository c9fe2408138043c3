"""The C ABI from C#: P/Invoke through the Unity package's engine-free assembly, with Mono from Debian.

Mono (mono-mcs + mono-runtime, Debian bookworm) compiles Artalk.Face.Core.dll from exactly the
files of Runtime/Core (its asmdef has noEngineReferences, and it is compiled without any
UnityEngine), and tests/clients/csharp/AbiTest.cs against it. AbiTest runs with the freshly
built libartalk_client.so against the live server, against servers with TLS and tokens, and
mutual TLS. Mono's --trace records which native functions the run called.
"""

from __future__ import annotations

import re

import pytest
from engine_clients import CSHARP_OUT, CSHARP_TESTS, assert_cases_passed, mcs, run_mono

PLAIN_CASES = [
    "abi",
    "entry_points",
    "inline_map_and_clock",
    "channel_map",
    "pcm16_stream",
    "float32_matches_pcm16",
    "sample_and_stats",
    "flush_and_cancel",
    "failure_is_reported",
    "dispose_mid_stream",
]
NATIVE_CALL = re.compile(r"ENTER: \(wrapper managed-to-native\) Artalk\.Face\.ArtalkNative:(artalk_\w+) ")


@pytest.fixture(scope="module")
def abi_test(cpp_build, unity_dlls):
    """AbiTest.exe (next to Artalk.Face.Core.dll), built once; a function running it with arguments,
    checking how many cases passed, and returning the run."""
    exe = CSHARP_OUT / "AbiTest.exe"
    mcs(
        f"-out:{exe}",
        f"-r:{unity_dlls['Artalk.Face.Core']}",
        str(CSHARP_TESTS / "AbiTest.cs"),
        str(CSHARP_TESTS / "TestSupport.cs"),
    )

    def run(*args: str, passed: int, trace: str | None = None):
        done = run_mono(cpp_build, exe, *args, trace=trace)
        assert_cases_passed(done, passed)
        return done

    return run


def native_calls(done) -> set[str]:
    """The native functions a traced run entered through the P/Invoke declarations."""
    return set(NATIVE_CALL.findall(done.stdout))


def test_csharp_console_against_live_server(abi_test, server, speech_wav, c_abi):
    """Every plain case passes, and together they call every function the library exports but the
    TLS switch (the secured cases below call it), through the P/Invoke declarations."""
    done = abi_test(
        "--server", server.target, "--wav", str(speech_wav), passed=len(PLAIN_CASES), trace="T:Artalk.Face.ArtalkNative"
    )
    assert [line.split()[1] for line in done.stdout.splitlines() if line.startswith("PASS ")] == PLAIN_CASES
    called = native_calls(done)
    assert called <= c_abi and c_abi - called == {"artalk_config_set_tls"}, sorted(c_abi - called)


def test_pinvoke_declarations_are_the_exported_functions(abi_test, server, speech_wav, c_abi):
    """Each [DllImport] in ArtalkNative binds (Marshal.Prelink) to a function of libartalk_client by its
    own name, cdecl, and together they are exactly what the library exports."""
    done = abi_test("--server", server.target, "--wav", str(speech_wav), "--case", "entry_points", passed=1)
    entries = [line.split()[1:] for line in done.stdout.splitlines() if line.startswith("ENTRY ")]
    assert {library for library, _ in entries} == {"artalk_client"}
    names = [name for _, name in entries]
    assert len(names) == len(set(names)) and set(names) == c_abi


def test_csharp_tls_with_token(abi_test, tls_server, certs, token, speech_wav):
    cases = ["secure_stream", "token_refused", "plaintext_refused", "tls_options_checked"]
    done = abi_test(
        "--server",
        tls_server.target,
        "--wav",
        str(speech_wav),
        "--tls-ca",
        str(certs.ca),
        "--token",
        token,
        *[arg for case in cases for arg in ("--case", case)],
        passed=len(cases),
        trace="T:Artalk.Face.ArtalkNative",
    )
    assert {"artalk_config_set_tls", "artalk_config_set_token"} <= native_calls(done)


def test_csharp_mutual_tls(abi_test, mtls_server, certs, speech_wav):
    abi_test(
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
        "secure_stream",
        passed=1,
    )

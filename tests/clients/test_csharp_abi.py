"""The C ABI from C#: P/Invoke through the Unity package's own runtime files, with Mono from Debian.

Mono (mono-mcs + mono-runtime, Debian bookworm) compiles the package's engine-independent
files (Runtime/ArtalkNative.cs, ArtalkSession.cs, ArtalkChannelMap.cs) unchanged together
with tests/clients/csharp/AbiTest.cs, and runs them against the live server with the
freshly built libartalk_client.so, and against servers with TLS and tokens, and mutual TLS.
The Unity-facing components are type-checked against a compile-only stand-in of the
UnityEngine types they use.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from engine_clients import BUILD_DIR, ROOT, UNITY_PACKAGE, library_env

RUNTIME = UNITY_PACKAGE / "Runtime"
CSHARP_TESTS = ROOT / "tests" / "clients" / "csharp"
OUT = BUILD_DIR.parent / "csharp"


def engine_free_sources() -> list[Path]:
    return sorted(p for p in RUNTIME.glob("*.cs") if "using UnityEngine" not in p.read_text())


def mcs(*args: str) -> None:
    if shutil.which("mcs") is None or shutil.which("mono") is None:
        pytest.fail("Mono is missing (mono-mcs, mono-runtime): run scripts/setup.sh (APT_CLIENTS)")
    OUT.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["nice", "-n", "10", "mcs", "-langversion:6", "-warnaserror", "-nologo", *args],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_engine_free_files_are_the_expected_ones():
    """What the console test compiles is exactly the package's engine-independent code."""
    assert [p.name for p in engine_free_sources()] == ["ArtalkChannelMap.cs", "ArtalkNative.cs", "ArtalkSession.cs"]


@pytest.fixture(scope="module")
def abi_test(cpp_build):
    """AbiTest.exe, built once; a function running it with arguments and checking how many passed."""
    exe = OUT / "AbiTest.exe"
    mcs(f"-out:{exe}", *map(str, engine_free_sources()), str(CSHARP_TESTS / "AbiTest.cs"))

    def run(*args: str, passed: int) -> None:
        done = subprocess.run(["mono", "--debug", str(exe), *args], capture_output=True, text=True, timeout=300,
                              env=library_env(cpp_build))
        print(done.stdout, done.stderr)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.strip().splitlines()[-1] == f"{passed} passed, 0 failed"
    return run


def test_csharp_console_against_live_server(abi_test, server, speech_wav):
    abi_test("--server", server.target, "--wav", str(speech_wav), passed=8)


def test_csharp_tls_with_token(abi_test, tls_server, certs, token, speech_wav):
    cases = ["secure_stream", "token_refused", "plaintext_refused", "tls_options_checked"]
    abi_test("--server", tls_server.target, "--wav", str(speech_wav), "--tls-ca", str(certs.ca), "--token", token,
             *[arg for case in cases for arg in ("--case", case)], passed=len(cases))


def test_csharp_mutual_tls(abi_test, mtls_server, certs, speech_wav):
    abi_test("--server", mtls_server.target, "--wav", str(speech_wav), "--tls-ca", str(certs.ca),
             "--tls-cert", str(certs.client), "--tls-key", str(certs.client_key), "--case", "secure_stream", passed=1)


def test_unity_components_type_check():
    """Runtime/*.cs and the Basic sample compile against the UnityEngine stand-in (C# 6, warnings as errors)."""
    sources = [*RUNTIME.glob("*.cs"), *(UNITY_PACKAGE / "Samples~").rglob("*.cs"), CSHARP_TESTS / "UnityEngineStub.cs"]
    mcs("-target:library", f"-out:{OUT / 'UnityTypeCheck.dll'}", *map(str, sources))

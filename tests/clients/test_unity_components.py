"""The Unity package's assemblies as Unity splits them, and its components run against secured servers.

No Unity editor runs here. Each asmdef's folder is compiled by Mono's mcs against the assemblies it
references only, and against a stand-in of the UnityEngine types only when the asmdef allows engine
references, so a missing reference or an engine type in the engine-free Core fails the build. Then
tests/clients/csharp/UnityComponentsTest.cs plays the engine for ArtalkAudioStreamer and
ArtalkBlendshapeDriver (compiled unchanged) and sets their inspector fields: TLS files as relative
StreamingAssets paths, the server name, the token, useTls and the guidance, checking what the TLS
and token servers (the tiny model) made of them.
"""

from __future__ import annotations

import shutil

import pytest
from engine_clients import CSHARP_OUT, CSHARP_TESTS, assert_cases_passed, mcs, run_mono, unity_assemblies

TLS_TOKEN_CASES = ["clip_over_tls_with_token", "refused_tokens", "server_name", "use_tls", "guidance", "live_filter"]


def test_every_assembly_compiles_against_its_references_only(unity_dlls):
    """Built by the unity_dlls fixture: Core without UnityEngine, the components and the sample with
    the stand-in and the package assemblies their asmdefs name (mcs, C# 6, warnings as errors)."""
    assert set(unity_dlls) == {"UnityEngine", *unity_assemblies()}
    assert all(dll.is_file() and dll.stat().st_size > 0 for dll in unity_dlls.values())


@pytest.fixture(scope="module")
def components_test(unity_dlls):
    """UnityComponentsTest.exe next to the package's dlls and the UnityEngine stand-in."""
    exe = CSHARP_OUT / "UnityComponentsTest.exe"
    refs = [unity_dlls[name] for name in ("UnityEngine", "Artalk.Face.Core", "Artalk.Face")]
    mcs(
        f"-out:{exe}",
        *[f"-r:{r}" for r in refs],
        str(CSHARP_TESTS / "UnityComponentsTest.cs"),
        str(CSHARP_TESTS / "TestSupport.cs"),
    )
    return exe


@pytest.fixture(scope="module")
def streaming_assets(tmp_path_factory, certs):
    """A StreamingAssets folder with the CA and a client certificate, named as a game would ship them."""
    folder = tmp_path_factory.mktemp("StreamingAssets")
    for source, name in [(certs.ca, "ca.pem"), (certs.client, "client.pem"), (certs.client_key, "client.key")]:
        shutil.copy(source, folder / name)
    return folder


@pytest.mark.parametrize("case", TLS_TOKEN_CASES)
def test_components_against_tls_token_server(
    cpp_build, components_test, tls_server, certs, token, streaming_assets, speech_wav, case
):
    done = run_mono(
        cpp_build,
        components_test,
        "--server",
        tls_server.target,
        "--wav",
        str(speech_wav),
        "--assets",
        str(streaming_assets),
        "--token",
        token,
        "--case",
        case,
        env={"GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": str(certs.ca)},
    )  # the "system" roots of use_tls
    assert_cases_passed(done, 1)


def test_components_mutual_tls(cpp_build, components_test, mtls_server, streaming_assets, speech_wav):
    done = run_mono(
        cpp_build,
        components_test,
        "--server",
        mtls_server.target,
        "--wav",
        str(speech_wav),
        "--assets",
        str(streaming_assets),
        "--case",
        "mutual_tls",
    )
    assert_cases_passed(done, 1)

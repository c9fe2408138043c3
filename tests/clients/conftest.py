"""Fixtures of the engine-client tests: the native core's build and the C ABI it exports, the Unity
package's assemblies compiled with Mono, a proxy that breaks calls, and secured servers (the tiny
untrained model: these tests compare clients and check refusals)."""

from __future__ import annotations

from pathlib import Path

import pytest
from breaking_proxy import BreakingProxy
from engine_clients import CppBuild, build_cpp, compile_unity_assemblies, exported_symbols, unity_assemblies

from artalk_service.server.config import AuthConfig, ServerConfig, TlsConfig
from artalk_service.server.limits import Limits


@pytest.fixture(scope="session")
def cpp_build() -> CppBuild:
    """clients/cpp built (Release) into build/clients/cpp; cached between runs."""
    return build_cpp()


@pytest.fixture(scope="session")
def c_abi(cpp_build) -> set[str]:
    """The functions libartalk_client.so exports (test_cpp_core checks they are the header's, and nothing else)."""
    return set(exported_symbols(cpp_build))


@pytest.fixture(scope="session")
def unity_dlls() -> dict[str, Path]:
    """The Unity package's assemblies, each compiled from its asmdef's folder against its references
    (and the UnityEngine stand-in unless noEngineReferences) into build/clients/csharp: name -> dll."""
    return compile_unity_assemblies(unity_assemblies())


@pytest.fixture
def breaking_proxy(server):
    """A TCP proxy to the server that breaks its first connection after 20 kB of replies."""
    host, port = server.target.rsplit(":", 1)
    proxy = BreakingProxy(host, int(port), break_after_bytes=20_000, breaks=1)
    yield proxy
    proxy.stop()


@pytest.fixture(scope="session")
def token() -> str:
    """The bearer token the servers with authentication accept."""
    return "npc-fleet-4c1d7a9e"


@pytest.fixture(scope="session")
def tokens_file(tmp_path_factory, token) -> Path:
    path = tmp_path_factory.mktemp("auth") / "tokens"
    path.write_text(f"{token}\n")
    return path


def serve(server_thread, model, **config):
    srv = server_thread(model, ServerConfig(port=0, **config))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def tls_server(server_thread, tiny_model, certs, tokens_file):
    """TLS (a certificate for 127.0.0.1 and localhost, signed by certs.ca) and bearer tokens."""
    yield from serve(
        server_thread,
        tiny_model,
        tls=TlsConfig(certs.server, certs.server_key),
        auth=AuthConfig(tokens_file=tokens_file),
    )


@pytest.fixture(scope="session")
def mtls_server(server_thread, tiny_model, certs):
    """Mutual TLS: clients present a certificate signed by certs.ca."""
    yield from serve(server_thread, tiny_model, tls=TlsConfig(certs.server, certs.server_key, certs.ca))


@pytest.fixture(scope="session")
def idle_server(server_thread, tiny_model):
    """Ends a session whose client sends nothing for 1 s."""
    yield from serve(server_thread, tiny_model, limits=Limits(idle_timeout_seconds=1.0))


@pytest.fixture(scope="session")
def rate_server(server_thread, tiny_model, tokens_file):
    """Bearer tokens, each allowed one session start a minute."""
    yield from serve(
        server_thread,
        tiny_model,
        auth=AuthConfig(tokens_file=tokens_file),
        limits=Limits(sessions_per_minute_per_token=1),
    )

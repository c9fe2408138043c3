"""Fixtures of the engine-client tests: the native core's build, and a proxy that breaks calls."""
from __future__ import annotations

import pytest
from breaking_proxy import BreakingProxy
from engine_clients import CppBuild, build_cpp


@pytest.fixture(scope="session")
def cpp_build() -> CppBuild:
    """clients/cpp built (Release) into build/clients/cpp; cached between runs."""
    return build_cpp()


@pytest.fixture
def breaking_proxy(server):
    """A TCP proxy to the server that breaks its first connection after 20 kB of replies."""
    host, port = server.target.rsplit(":", 1)
    proxy = BreakingProxy(host, int(port), break_after_bytes=20_000, breaks=1)
    yield proxy
    proxy.stop()

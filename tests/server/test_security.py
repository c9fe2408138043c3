"""TLS, mutual TLS, bearer tokens and the per-token session rate, on real servers with
certificates generated for the test (trustme)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from artalk_service.api.artalk.v1 import animation_pb2 as pb
from artalk_service.audio import AudioFormat, Encoding
from artalk_service.client import AnimationClient, session_config
from artalk_service.server.app import start_server
from artalk_service.server.config import AuthConfig, ConfigError, ServerConfig, TlsConfig
from artalk_service.server.limits import Limits
from artalk_service.server.security import load_tokens

TOKENS = ("alpha-7f3c9e2b", "beta-51d08a6e")
PCM = (0.1 * np.sin(np.arange(8000) * 0.05)).astype(np.float32).tobytes()  # 0.5 s at 16 kHz
FORMAT = AudioFormat(Encoding.FLOAT32_LE, 16000, 1)


@pytest.fixture(scope="module")
def tokens_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("auth") / "tokens"
    path.write_text(f"# game servers\n{TOKENS[0]}\n\n  {TOKENS[1]}  \n")
    return path


@pytest.fixture(scope="module")
def tls_server(tiny_model, server_thread, certs):
    srv = server_thread(tiny_model, ServerConfig(port=0, tls=TlsConfig(certs.server, certs.server_key)))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def mtls_server(tiny_model, server_thread, certs):
    srv = server_thread(tiny_model, ServerConfig(port=0, tls=TlsConfig(certs.server, certs.server_key, certs.ca)))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def auth_server(tiny_model, server_thread, tokens_file):
    srv = server_thread(tiny_model, ServerConfig(port=0, auth=AuthConfig(tokens_file=tokens_file)))
    yield srv
    srv.stop()


def clip(client: AnimationClient) -> int:
    return len(
        client.stub.AnimateClip(
            pb.AnimateClipRequest(config=session_config(FORMAT), pcm=PCM), timeout=60, metadata=client.metadata
        ).frames
    )


def stream(client: AnimationClient) -> int:
    return len(client.animate_pcm(PCM, session_config(FORMAT), timeout=60).values)


def describe(client: AnimationClient) -> int:
    return len(client.describe(timeout=30).models)


def code_of(call, client) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        call(client)
    return caught.value.code()


# ------------------------------------------------------------------ TLS


def test_tls_serves_a_client_that_trusts_the_ca(tls_server, certs):
    with AnimationClient(tls_server.target, tls_ca=certs.ca) as client:
        assert describe(client) == 1 and stream(client) > 0


def test_plaintext_client_cannot_talk_to_a_tls_server(tls_server):
    with AnimationClient(tls_server.target) as client:
        assert code_of(describe, client) == grpc.StatusCode.UNAVAILABLE


def test_tls_client_refuses_a_server_signed_by_another_ca(tls_server, certs):
    with AnimationClient(tls_server.target, tls_ca=certs.stranger_ca) as client:
        assert code_of(describe, client) == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_needs_a_client_certificate_from_the_trusted_ca(mtls_server, certs):
    with AnimationClient(
        mtls_server.target, tls_ca=certs.ca, tls_cert=certs.client, tls_key=certs.client_key
    ) as client:
        assert describe(client) == 1 and clip(client) > 0
    with AnimationClient(mtls_server.target, tls_ca=certs.ca) as client:
        assert code_of(describe, client) == grpc.StatusCode.UNAVAILABLE
    with AnimationClient(
        mtls_server.target, tls_ca=certs.ca, tls_cert=certs.stranger, tls_key=certs.stranger_key
    ) as client:
        assert code_of(describe, client) == grpc.StatusCode.UNAVAILABLE


def test_tls_allows_binding_every_interface(tiny_model, server_thread, certs):
    srv = server_thread(tiny_model, ServerConfig(host="0.0.0.0", port=0, tls=TlsConfig(certs.server, certs.server_key)))
    try:
        with AnimationClient(f"127.0.0.1:{srv.running.port}", tls_ca=certs.ca) as client:
            assert describe(client) == 1
    finally:
        srv.stop()


def test_plaintext_bind_of_every_interface_is_refused(tiny_model):
    with pytest.raises(ConfigError, match="--allow-insecure-remote"):
        asyncio.run(start_server(tiny_model, ServerConfig(host="0.0.0.0", port=0)))


# --------------------------------------------------------------- tokens


@pytest.mark.parametrize("call", [describe, clip, stream])
@pytest.mark.parametrize(
    "header, expected",
    [
        (None, grpc.StatusCode.UNAUTHENTICATED),
        (f"Basic {TOKENS[0]}", grpc.StatusCode.UNAUTHENTICATED),
        ("Bearer ", grpc.StatusCode.UNAUTHENTICATED),
        ("Bearer not-a-configured-token", grpc.StatusCode.PERMISSION_DENIED),
        (f"Bearer {TOKENS[0]}x", grpc.StatusCode.PERMISSION_DENIED),
        (f"Bearer {TOKENS[0]}", None),
        (f"bearer {TOKENS[1]}", None),
    ],
)
def test_token_on_every_call(auth_server, call, header, expected, caplog):
    with caplog.at_level(logging.DEBUG), AnimationClient(auth_server.target) as client:
        client.metadata = (("authorization", header),) if header is not None else ()
        if expected is None:
            assert call(client) > 0
        else:
            assert code_of(call, client) == expected
    assert not any(token in caplog.text for token in (*TOKENS, "not-a-configured-token"))


def test_refusals_say_what_to_send(auth_server):
    with AnimationClient(auth_server.target) as client:
        with pytest.raises(grpc.RpcError, match="authorization: Bearer <token>"):
            describe(client)
    with AnimationClient(auth_server.target, token="guess") as client:
        with pytest.raises(grpc.RpcError, match="not one this server accepts") as caught:
            describe(client)
        assert "guess" not in caught.value.details()


def test_health_is_open_and_reflection_needs_a_token(auth_server):
    with grpc.insecure_channel(auth_server.target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "artalk.v1.Animation"):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)

        def list_services(metadata=()):
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            reply = next(reflection.ServerReflectionInfo(iter([request]), timeout=10, metadata=metadata))
            return {s.name for s in reply.list_services_response.service}

        with pytest.raises(grpc.RpcError) as caught:
            list_services()
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "artalk.v1.Animation" in list_services((("authorization", f"Bearer {TOKENS[0]}"),))


def test_tokens_from_the_environment(tiny_model, server_thread, monkeypatch):
    monkeypatch.setenv("ARTALK_TEST_TOKENS", "env-token-1, env-token-2")
    srv = server_thread(tiny_model, ServerConfig(port=0, auth=AuthConfig(tokens_env="ARTALK_TEST_TOKENS")))
    try:
        with AnimationClient(srv.target, token="env-token-2") as client:
            assert describe(client) == 1
        with AnimationClient(srv.target) as client:
            assert code_of(describe, client) == grpc.StatusCode.UNAUTHENTICATED
    finally:
        srv.stop()


def test_token_list_errors_name_the_place_not_the_token(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("# nothing yet\n\n")
    with pytest.raises(ConfigError, match="holds no token"):
        load_tokens(AuthConfig(tokens_file=empty), {})
    spaced = tmp_path / "spaced"
    spaced.write_text("good-token\nsecret with-space\n")
    with pytest.raises(ConfigError, match="line 2") as caught:
        load_tokens(AuthConfig(tokens_file=spaced), {})
    assert "secret" not in str(caught.value)
    assert load_tokens(AuthConfig(), {"ARTALK_TOKENS": " a1,,b2 "}) == ["a1", "b2"]
    assert load_tokens(AuthConfig(), {}) == []


# ----------------------------------------------------------------- rate


def test_session_rate_per_token(tiny_model, server_thread, tokens_file):
    srv = server_thread(
        tiny_model,
        ServerConfig(port=0, auth=AuthConfig(tokens_file=tokens_file), limits=Limits(sessions_per_minute_per_token=2)),
    )
    try:
        with (
            AnimationClient(srv.target, token=TOKENS[0]) as first,
            AnimationClient(srv.target, token=TOKENS[1]) as second,
        ):
            assert clip(first) > 0 and stream(first) > 0
            for call in (clip, stream):
                with pytest.raises(grpc.RpcError) as caught:
                    call(first)
                err = caught.value
                assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert "sessions_per_minute_per_token" in err.details() and "retry in" in err.details()
                pushback = dict(err.trailing_metadata())["grpc-retry-pushback-ms"]
                assert 25_000 < int(pushback) <= 30_000  # half a minute refills one of 2 per minute
            assert describe(first) == 1  # not a session: not counted
            assert clip(second) > 0  # another token has its own bucket
    finally:
        srv.stop()

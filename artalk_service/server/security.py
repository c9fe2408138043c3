"""Who may call: TLS server credentials (optionally mutual), bearer tokens, the per-token session rate.

Status mapping (docs/operations.md): no `authorization` metadata or a malformed
one -> UNAUTHENTICATED; a well-formed bearer token that is not configured ->
PERMISSION_DENIED; a known token over its session rate -> RESOURCE_EXHAUSTED
with a retry delay. grpc.health.v1 stays open: probes cannot send tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from collections.abc import Mapping
from pathlib import Path

import grpc

from artalk_service.server.config import AuthConfig, ConfigError, TlsConfig
from artalk_service.server.limits import SessionRate

log = logging.getLogger("artalk.server")
OPEN_PREFIXES = ("/grpc.health.v1.Health/",)
SESSION_METHODS = ("/artalk.v1.Animation/Stream", "/artalk.v1.Animation/AnimateClip")
_HANDLER_FACTORIES = {  # (request_streaming, response_streaming) -> how a handler of that shape is made
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


def check_tls_files(tls: TlsConfig) -> None:
    """ConfigError, naming the key, unless the certificate chain, its key (a matching pair) and the
    client CA load. Checked before the model loads: gRPC itself says only "failed to bind"."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    except (OSError, ssl.SSLError) as err:
        raise ConfigError(
            f"tls.cert_file {tls.cert_file} and tls.key_file {tls.key_file}: not a PEM certificate chain and its "
            f"matching private key ({err})"
        ) from None
    if tls.client_ca_file is not None:
        try:
            context.load_verify_locations(cafile=tls.client_ca_file)
        except (OSError, ssl.SSLError) as err:
            raise ConfigError(f"tls.client_ca_file {tls.client_ca_file}: not PEM CA certificates ({err})") from None


def server_credentials(tls: TlsConfig) -> grpc.ServerCredentials:
    """The server's certificate and key; with a client CA, clients must present a certificate it signed."""
    client_ca = tls.client_ca_file.read_bytes() if tls.client_ca_file is not None else None
    return grpc.ssl_server_credentials(
        [(tls.key_file.read_bytes(), tls.cert_file.read_bytes())],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )


def load_tokens(auth: AuthConfig, env: Mapping[str, str]) -> list[str]:
    """Tokens from auth.tokens_file (one a line, '#' comments) and the variable auth.tokens_env
    (comma-separated). Errors name the line or variable, never the token."""
    found: list[tuple[str, str]] = []  # (where, token)
    if auth.tokens_file is not None:
        lines = Path(auth.tokens_file).read_text().splitlines()
        found += [
            (f"{auth.tokens_file} line {n}", line.strip())
            for n, line in enumerate(lines, 1)
            if line.strip() and not line.strip().startswith("#")
        ]
        if not found:
            raise ConfigError(f"auth.tokens_file {auth.tokens_file} holds no token; write one per line")
    found += [
        (f"environment variable {auth.tokens_env}", token.strip())
        for token in env.get(auth.tokens_env, "").split(",")
        if token.strip()
    ]
    for where, token in found:
        if not all("!" <= char <= "~" for char in token):  # what an HTTP/2 header value carries verbatim
            raise ConfigError(f"the token at {where} has a character other than visible ASCII (0x21-0x7e)")
    return [token for _, token in found]


class AccessInterceptor(grpc.aio.ServerInterceptor):
    """Admits calls that carry a configured bearer token and are within that token's session rate."""

    def __init__(self, tokens: list[str], rate: SessionRate) -> None:
        # Digests, not tokens: equal lengths make compare_digest's time independent of the guess.
        self._known = [hashlib.sha256(token.encode()).digest() for token in tokens]
        self.rate = rate

    async def intercept_service(self, continuation, details: grpc.HandlerCallDetails):
        handler = await continuation(details)
        if handler is None or details.method.startswith(OPEN_PREFIXES):
            return handler
        refusal = self._refusal(details.method, details.invocation_metadata or ())
        if refusal is None:
            return handler
        log.info("refused %s: %s", details.method, refusal[0].name)
        return _refusing(handler, *refusal)

    def _refusal(self, method: str, metadata) -> tuple[grpc.StatusCode, str, tuple] | None:
        header = next((value for key, value in metadata if key == "authorization"), None)
        if header is None:
            return (
                grpc.StatusCode.UNAUTHENTICATED,
                "this server requires a bearer token: send the metadata 'authorization: Bearer <token>'",
                (),
            )
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return (grpc.StatusCode.UNAUTHENTICATED, "malformed authorization metadata; accepted: 'Bearer <token>'", ())
        identity = self._identify(token.strip())
        if identity is None:
            return grpc.StatusCode.PERMISSION_DENIED, "the bearer token is not one this server accepts", ()
        wait = self.rate.take(identity, time.monotonic()) if method in SESSION_METHODS else 0.0
        if wait > 0:
            return (
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"this token started its {self.rate.per_minute:g} sessions per minute "
                f"(sessions_per_minute_per_token); retry in {wait:.1f} s",
                (("grpc-retry-pushback-ms", str(math.ceil(wait * 1000))),),
            )
        return None

    def _identify(self, token: str) -> bytes | None:
        """The matching token's digest; every configured token is compared (no early exit)."""
        digest = hashlib.sha256(token.encode()).digest()
        match = None
        for known in self._known:
            if hmac.compare_digest(known, digest):
                match = known
        return match


def _refusing(
    handler: grpc.RpcMethodHandler, code: grpc.StatusCode, message: str, trailers: tuple
) -> grpc.RpcMethodHandler:
    """A handler of the same shape as `handler` that ends the call with `code`, running nothing."""

    async def refuse(request, context: grpc.aio.ServicerContext):
        await context.abort(code, message, trailing_metadata=trailers)

    make = _HANDLER_FACTORIES[(handler.request_streaming, handler.response_streaming)]
    return make(
        refuse, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
    )

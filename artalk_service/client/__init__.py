"""Python client library and the `artalk-client` CLI."""

from artalk_service.client.client import AnimationClient, AnimationResult, session_config

__all__ = ["AnimationClient", "AnimationResult", "session_config"]

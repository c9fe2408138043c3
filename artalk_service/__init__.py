"""artalk_service: real-time speech-driven facial animation for games over gRPC."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("artalk_service")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

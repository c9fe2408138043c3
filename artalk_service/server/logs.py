"""Server logging: one JSON object per line (or plain text), with the session id.

Every record carries the id of the session it concerns: the gRPC handler of a session sets
`SESSION_ID` for its task, and code on other threads passes `extra={"session_id": ...}`.
A record may carry an `error_id` (`extra`), the id a client got with an INTERNAL status.
Records hold what the code wrote in its message and nothing of the request: no audio, no
tokens, no payloads.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time

SESSION_ID: contextvars.ContextVar[str] = contextvars.ContextVar("artalk_session_id", default="")


class SessionFilter(logging.Filter):
    """Gives every record a `session_id` (empty outside a session)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "session_id", ""):
            record.session_id = SESSION_ID.get()
        return True


class LevelFilter(logging.Filter):
    """The service's own records (loggers artalk.*) from `level` up; third-party libraries'
    from WARNING up, unless `level` is DEBUG. A library may set its own logger to INFO (the
    ONNX optimiser does), so the handler decides, not the root logger."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level, self.others = level, level if level <= logging.DEBUG else max(level, logging.WARNING)

    def filter(self, record: logging.LogRecord) -> bool:
        own = record.name == "artalk" or record.name.startswith("artalk.")
        return record.levelno >= (self.level if own else self.others)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": _utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("session_id", "error_id"):
            if value := getattr(record, key, ""):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


# Control characters as escapes: a newline in a client's id or a quoted value must not start a line.
_ESCAPES = {c: f"\\x{c:02x}" for c in [*range(32), 127]} | {10: "\\n", 13: "\\r", 9: "\\t"}


def escape_controls(text: str) -> str:
    return text.translate(_ESCAPES)


class TextFormatter(logging.Formatter):
    """One line a record (a traceback, the server's own, follows on its lines)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        ids = [f"{key}={value}" for key in ("session_id", "error_id") if (value := getattr(record, key, ""))]
        line = logging.makeLogRecord(record.__dict__)  # the record other handlers see stays as it was
        line.msg, line.args = escape_controls(record.getMessage()), None
        line.ids = escape_controls(f" [{' '.join(ids)}]") if ids else ""
        return super().format(line)


FORMATTERS = {"json": JsonFormatter, "text": TextFormatter}  # config.LOG_FORMATS


def log_handler(log_format: str = "json", stream=None, level: int = logging.NOTSET) -> logging.Handler:
    """A handler writing records to `stream` (default stderr) in `log_format` ("json" or "text"),
    the service's own from `level` and third-party libraries' from WARNING (LevelFilter)."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(SessionFilter())
    handler.addFilter(LevelFilter(level))
    handler.setFormatter(FORMATTERS[log_format]())
    return handler


def parse_level(level: str | int) -> int:
    """ "debug", "INFO", 20 ... -> a logging level; ValueError names the accepted ones."""
    if isinstance(level, int):
        return level
    value = logging.getLevelName(level.strip().upper())
    if not isinstance(value, int):
        raise ValueError(f"unknown log level {level!r}; accepted: debug, info, warning, error, critical")
    return value


def configure_logging(log_format: str = "json", level: str | int = "INFO") -> None:
    """Route every log record to stderr in `log_format`: the service's own from `level`, other
    libraries' from WARNING unless `level` is debug."""
    level = parse_level(level)
    logging.basicConfig(level=level, handlers=[log_handler(log_format, level=level)], force=True)
    logging.captureWarnings(True)  # a library's warnings become records in the same format, not bare lines


def _utc(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created % 1 * 1000):03d}Z"


__all__ = [
    "SESSION_ID",
    "FORMATTERS",
    "JsonFormatter",
    "LevelFilter",
    "TextFormatter",
    "SessionFilter",
    "log_handler",
    "parse_level",
    "configure_logging",
]

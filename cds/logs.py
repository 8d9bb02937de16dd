"""Logging: readable text for `make serve`, one JSON object per line in production.

Log records never carry tokens or patient data beyond ids; the invocation line carries
hookInstance, service, duration, card count and status (passed as `extra`), a rejected request
its status and reason (cds.api.errors).

The configuration is a `logging.config.dictConfig` dictionary, because uvicorn applies it again in
each worker process (CDS_WORKERS > 1 starts fresh interpreters that inherit nothing): configured
only in the parent, workers would drop INFO lines and print warnings unformatted.
"""

from __future__ import annotations

import json
import logging
import logging.config
from typing import Any

from cds.settings import Settings

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Client libraries: their DEBUG/INFO lines could carry request headers (a bearer token).
QUIET_LOGGERS = ("httpx", "httpcore", "hpack", "urllib3")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,  # which worker (CDS_WORKERS > 1)
        }
        payload.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        # One line per record whatever the message holds (json.dumps escapes newlines).
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if extras:
            base += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        return base


def logging_config(settings: Settings) -> dict[str, Any]:
    """The whole logging setup: one stderr handler on the root logger, and uvicorn's loggers
    routed through it (their own handlers removed, so nothing is printed twice or unformatted)."""
    if settings.log_format == "json":
        formatter: dict[str, Any] = {"()": f"{__name__}.JsonFormatter"}
    else:
        formatter = {"()": f"{__name__}.TextFormatter", "format": TEXT_FORMAT}
    return {
        "version": 1,
        # Module loggers (created at import, before this runs) must keep working.
        "disable_existing_loggers": False,
        "formatters": {"cds": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "cds",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": settings.log_level},
        "loggers": {
            **{
                name: {"handlers": [], "propagate": True, "level": settings.log_level}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi")
            },
            # The access log is off: the service logs each invocation and each rejected request
            # itself, with the fields operators need and without query strings.
            "uvicorn.access": {"handlers": [], "propagate": False},
            **{name: {"level": "WARNING"} for name in QUIET_LOGGERS},
            # Four INFO lines per worker start (reading the migration scripts), no information.
            "alembic.runtime.plugins": {"level": "WARNING"},
        },
    }


def configure_logging(settings: Settings) -> None:
    logging.config.dictConfig(logging_config(settings))

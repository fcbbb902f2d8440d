"""Request ids and the one log line per request.

As oslo.middleware's request_id middleware: every request gets a local
``req-<uuid>`` (answered in ``X-OpenStack-Request-ID``); an incoming
``X-OpenStack-Request-ID`` that is itself a valid ``req-<uuid>`` (Nova
sends its global request id) becomes the request's global request id and
is logged next to the local one; anything else in that header is ignored.

``configure_logging`` sets the process's log handler: plain text, or one
JSON object per line with ``log_format = json``.  Every record logged while
a request is served carries its request ids (a filter adds them).
"""
from __future__ import annotations

import datetime
import json
import logging
import re
import sys
import time

import flask

from placement_pci.context import new_request_id
from placement_pci.settings import Settings

REQUEST_LOGGER = logging.getLogger("placement_pci.requests")
INCOMING_HEADER = "X-OpenStack-Request-ID"
# oslo.middleware's accepted form of a global request id.
GLOBAL_REQUEST_ID = re.compile(
    r"^req-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$")
LOG_FORMATS = ("text", "json")
TEXT_FORMAT = ("%(asctime)s %(process)d %(levelname)s %(name)s "
               "[%(request_id)s %(global_request_id)s] %(message)s")

# Record attributes a request line carries (as ``extra``), in log order.
REQUEST_FIELDS = ("request_id", "global_request_id", "user_id", "project_id",
                  "method", "route", "path", "status", "duration_ms")


def global_request_id(incoming: str | None) -> str | None:
    """The incoming header's id when it has oslo's form; otherwise None."""
    if incoming and GLOBAL_REQUEST_ID.match(incoming):
        return incoming
    return None


def install(app: flask.Flask) -> None:
    """Register first, so the request line sees the final response."""
    app.before_request(_start)
    app.after_request(_log_request)


def _start() -> None:
    flask.g.request_id = new_request_id()
    flask.g.global_request_id = global_request_id(
        flask.request.headers.get(INCOMING_HEADER))
    flask.g.request_log_started = time.perf_counter()


def _log_request(response: flask.Response) -> flask.Response:
    started = flask.g.get("request_log_started")
    duration_ms = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    context = flask.g.get("context")
    rule = flask.request.url_rule
    fields = {
        "user_id": getattr(context, "user_id", None),
        "project_id": getattr(context, "project_id", None),
        "method": flask.request.method,
        "route": rule.rule if rule is not None else None,
        "path": flask.request.path,
        "status": response.status_code,
        "duration_ms": round(duration_ms, 1),
    }
    REQUEST_LOGGER.info(
        '%s %s "%s %s" route=%s status=%d %.1fms',
        fields["user_id"] or "-", fields["project_id"] or "-", fields["method"],
        fields["path"], fields["route"] or "-", fields["status"], duration_ms,
        extra=fields)
    return response


class RequestIdFilter(logging.Filter):
    """Adds the current request's ids to every record (None outside a
    request), so formatters can always name them."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = global_id = None
        if flask.has_request_context():
            request_id = flask.g.get("request_id")
            global_id = flask.g.get("global_request_id")
        if not hasattr(record, "request_id"):
            record.request_id = request_id
        if not hasattr(record, "global_request_id"):
            record.global_request_id = global_id
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        # A copy: other handlers see the record's own (None) ids.
        shown = logging.makeLogRecord(record.__dict__)
        shown.request_id = getattr(record, "request_id", None) or "-"
        shown.global_request_id = getattr(record, "global_request_id", None) or "-"
        return super().format(shown)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, pid, the
    request ids and, for request lines, every request field."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.datetime.fromtimestamp(
                record.created, datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for name in REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _Handler(logging.StreamHandler):
    """Ours, so configuring again replaces it instead of adding another."""


def configure_logging(settings: Settings) -> None:
    """Set the root logger's level and our one handler in the chosen format."""
    if settings.log_format not in LOG_FORMATS:
        raise ValueError(f"setting 'log_format' must be one of {', '.join(LOG_FORMATS)}, "
                         f"got {settings.log_format!r}")
    root = logging.getLogger()
    root.setLevel(settings.log_level.upper())
    for handler in list(root.handlers):
        if isinstance(handler, _Handler):
            root.removeHandler(handler)
    handler = _Handler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json"
                         else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)

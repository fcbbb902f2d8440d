"""One log record, one log line: text from clients cannot forge lines.

Paths, names and headers that reach a log message may carry CR or LF
(``/resource_providers/%0d%0aINFO ...`` decodes to a line break).  The
record factory installed here escapes them in every message as ``\\r`` and
``\\n``, and indents the lines of a traceback, so that no client-controlled
text starts a line of its own.  It applies to every logger and handler,
whoever configures them (the app, gunicorn, an operator's logging file).
"""
from __future__ import annotations

import logging
import traceback
from typing import Any

_INSTALLED = "_placement_pci_single_line"
TRACEBACK_INDENT = "    "


def escape(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _indented(text: str) -> str:
    return "\n".join(TRACEBACK_INDENT + escape(line) for line in text.splitlines())


def install() -> None:
    """Wrap the logging record factory (once per process)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, _INSTALLED, False):
        return

    def single_line_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - logging reports bad format args itself
            return record
        if "\r" in message or "\n" in message:
            record.msg, record.args = escape(message), None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = _indented("".join(traceback.format_exception(*record.exc_info)))
        if record.stack_info:
            record.stack_info = _indented(record.stack_info)
        return record

    setattr(single_line_record, _INSTALLED, True)
    logging.setLogRecordFactory(single_line_record)

"""Client-controlled text cannot forge log lines (CR/LF are escaped)."""
from __future__ import annotations

import io
import logging

import pytest

from placement_pci import log_lines
from placement_pci.app import create_app
from placement_pci.settings import Settings

FORGED = "/resource_providers/x\r\nWARNING:placement_pci.auth:admin logged in"


@pytest.fixture
def captured():
    create_app(Settings(database_url="sqlite://"), migrate=False)  # installs it
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s:%(name)s:%(message)s"))
    logger = logging.getLogger("placement_pci.test_log_lines")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_message_arguments_stay_on_one_line(captured):
    logger, stream = captured
    logger.warning("unexpected error serving %s %s", "GET", FORGED)
    (line,) = stream.getvalue().splitlines()
    assert line.endswith("x\\r\\nWARNING:placement_pci.auth:admin logged in")


def test_exception_text_cannot_start_a_line(captured):
    logger, stream = captured
    try:
        raise ValueError(f"no such provider {FORGED}")
    except ValueError:
        logger.exception("failed")
    first, *rest = stream.getvalue().splitlines()
    assert first == "ERROR:placement_pci.test_log_lines:failed"
    assert rest and all(line.startswith(log_lines.TRACEBACK_INDENT) for line in rest)
    assert not any(line.startswith("WARNING") for line in rest)


def test_install_is_idempotent():
    log_lines.install()
    factory = logging.getLogRecordFactory()
    log_lines.install()
    assert logging.getLogRecordFactory() is factory

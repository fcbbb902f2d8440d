"""The dashboard's HTML: one Jinja template (``dashboard.html``,
autoescaped), inline CSS and a little JavaScript (filter the tables as you
type; hosts fold), so the page needs no build step and loads nothing from
outside."""
from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import flask


@cache
def _template() -> str:
    return resources.files(__package__).joinpath("dashboard.html").read_text("utf-8")


def render(**context: Any) -> str:
    return flask.render_template_string(_template(), **context)

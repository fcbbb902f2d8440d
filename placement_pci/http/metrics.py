"""GET /metrics (Prometheus text format, behind the ``placement_pci:metrics``
policy) and the after-request hook that counts every answer."""
from __future__ import annotations

import time

import flask

from placement_pci import metrics
from placement_pci.http import routes
from placement_pci.schemas import responses

blueprint = flask.Blueprint("metrics", __name__)


@routes.route(blueprint, "/metrics", methods=["GET"], policy="placement_pci:metrics",
              responses={200: responses.METRICS})
def exposition() -> flask.Response:
    """Prometheus metrics of every worker of this server.

    Requests by route, method and status, latency histograms, claims and
    their conflicts, transaction retries, candidate requests, snapshot
    refreshes and database pool use (see api-ref/operations.md).  Operators
    who prefer no token can publish the same text on a separate address
    with the ``metrics_bind`` setting.
    """
    return flask.Response(metrics.exposition(), mimetype=None,
                          content_type=metrics.CONTENT_TYPE)


def install(app: flask.Flask) -> None:
    """Time and count every request, whatever its outcome."""
    app.before_request(_start_timer)
    app.after_request(_count)
    metrics.watch_pool(app.config["DATABASE"].engine)


def _start_timer() -> None:
    flask.g.metrics_started = time.perf_counter()


def _count(response: flask.Response) -> flask.Response:
    started = flask.g.get("metrics_started")
    seconds = time.perf_counter() - started if started is not None else 0.0
    rule = flask.request.url_rule
    route = rule.rule if rule is not None else metrics.UNMATCHED_ROUTE
    status = response.status_code
    metrics.request_answered(route, flask.request.method, status, seconds)
    api = metrics.CLAIM_ROUTES.get(flask.request.endpoint or "")
    if api is not None:
        metrics.claim_answered(api, status, flask.g.get("error_code"))
    return response

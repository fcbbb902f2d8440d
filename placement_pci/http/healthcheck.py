"""GET/HEAD /healthcheck for load balancers and Kubernetes probes, with
oslo.middleware's healthcheck semantics: no token; ``200 OK`` (HEAD: 204)
while the database answers, 503 with the reason when it does not.
``?detailed`` adds the checks' details, for callers that pass the
``placement_pci:healthcheck:detailed`` policy (admins by default)."""
from __future__ import annotations

import json
import platform
import socket
import sys
import time

import flask
import sqlalchemy as sa

from placement_pci import errors
from placement_pci.http import auth, routes, util
from placement_pci.schemas import responses

blueprint = flask.Blueprint("healthcheck", __name__)

DETAILED_RULE = "placement_pci:healthcheck:detailed"


def _database_check() -> dict[str, object]:
    database = util.database()
    started = time.perf_counter()
    try:
        with database.read() as connection:
            connection.execute(sa.text("SELECT 1"))
    except (sa.exc.SQLAlchemyError, errors.ServiceUnavailable) as error:
        # A lost connection arrives as ServiceUnavailable naming its cause.
        cause = error.__cause__ or error
        return {"check": "database", "available": False,
                "reason": "database unreachable",
                "details": f"{type(cause).__name__}: {str(cause).splitlines()[0]}"}
    return {"check": "database", "available": True, "reason": "OK",
            "details": f"{database.backend} answered in "
                       f"{(time.perf_counter() - started) * 1000:.1f} ms"}


def _may_see_details() -> bool:
    context = flask.g.get("context") or auth.context_from_headers(flask.request.headers)
    if context is None:
        raise errors.Unauthorized("?detailed requires authentication.")
    enforcer = flask.current_app.config[auth.ENFORCER_CONFIG_KEY]
    if not enforcer.authorize(DETAILED_RULE, context.credentials,
                              {"project_id": context.project_id,
                               "user_id": context.user_id}):
        raise errors.Forbidden(f"Policy does not allow {DETAILED_RULE} to be performed.")
    return True


# ?detailed checks placement_pci:healthcheck:detailed in the handler.
@routes.route(blueprint, "/healthcheck", methods=["GET", "HEAD"], policy=routes.PUBLIC,
              responses={200: responses.HEALTH, 503: responses.HEALTH})
def healthcheck() -> flask.Response:
    """Health of this API server: 200 OK, or 503 naming what failed.

    No token needed.  HEAD answers 204 when healthy.  ``?detailed`` (admins)
    answers JSON with every check's details, the host and Python version.
    """
    detailed = "detailed" in flask.request.args and _may_see_details()
    checks = [_database_check()]
    healthy = all(check["available"] for check in checks)
    if flask.request.method == "HEAD":
        return flask.Response(status=204 if healthy else 503)
    status = 200 if healthy else 503
    reasons = [str(check["reason"]) for check in checks if check["reason"] != "OK"] or ["OK"]
    if detailed:
        body = {"detailed": True, "healthy": healthy, "checks": checks,
                "hostname": socket.gethostname(), "python_version": sys.version,
                "platform": platform.platform()}
        return flask.Response(json.dumps(body, indent=2, sort_keys=True), status=status,
                              mimetype="application/json")
    # As oslo: text/plain unless the caller prefers JSON.
    if flask.request.accept_mimetypes.best_match(
            ["text/plain", "application/json"], "text/plain") == "application/json":
        return flask.Response(json.dumps({"detailed": False, "reasons": reasons}),
                              status=status, mimetype="application/json")
    return flask.Response("\n".join(reasons), status=status, mimetype="text/plain")

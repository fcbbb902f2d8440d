"""/resource_classes and /resource_classes/{name} (1.2+; PUT creates from 1.7)."""
from __future__ import annotations

import flask

from placement_pci.http import microversion, routes, util
from placement_pci.schemas import base, responses
from placement_pci.schemas import resource_classes as schemas
from placement_pci.store import resource_classes

blueprint = flask.Blueprint("resource_classes", __name__)


@blueprint.before_request
def _resource_classes_exist_from_1_2() -> None:
    microversion.require(2)


def _path(name: str) -> str:
    return f"/resource_classes/{name}"


def _serialize(name: str) -> dict[str, object]:
    return {"name": name, "links": [{"rel": "self", "href": _path(name)}]}


def _created(name: str) -> flask.Response:
    response = flask.Response(status=201)
    response.headers.pop("Content-Type", None)
    response.headers["Location"] = util.absolute_url(_path(name))
    return response


@routes.route(blueprint, "/resource_classes", methods=["GET"],
              policy="placement:resource_classes:list",
              responses={200: responses.RESOURCE_CLASSES})
def list_resource_classes() -> flask.Response:
    """List resource classes, standard and custom."""
    found = resource_classes.list_resource_classes(util.database())
    response = util.json_response({"resource_classes": [_serialize(n) for n, _ in found]})
    # Standard classes are defined by the code that is running, so the
    # collection counts as modified now (as Placement reports it).
    return util.with_cache_headers(response, [None])


@routes.route(blueprint, "/resource_classes", methods=["POST"],
              policy="placement:resource_classes:create",
              body=schemas.ResourceClassName, responses={201: None})
def create_resource_class() -> flask.Response:
    """Create a CUSTOM_ resource class."""
    data = routes.validated_body()
    resource_classes.create_resource_class(util.database(), data["name"])
    return _created(data["name"])


@routes.route(blueprint, "/resource_classes/<name>", methods=["GET"],
              policy="placement:resource_classes:show",
              responses={200: responses.RESOURCE_CLASS})
def show_resource_class(name: str) -> flask.Response:
    """Show one resource class."""
    stamp = resource_classes.get_resource_class(util.database(), name)
    return util.with_cache_headers(util.json_response(_serialize(name)), [stamp])


@routes.route(blueprint, "/resource_classes/<name>", methods=["PUT"],
              policy="placement:resource_classes:update",
              # Before 1.7 PUT renames; from 1.7 it creates and has no body.
              body={2: schemas.ResourceClassName, 7: None},
              responses={200: responses.RESOURCE_CLASS, 201: None, 204: None})
def put_resource_class(name: str) -> flask.Response:
    """Create a CUSTOM_ class or confirm it exists (1.7+); rename one before 1.7."""
    database = util.database()
    if microversion.is_at_least(7):
        base.load(schemas.ResourceClassName._declared_fields["name"], name)
        if resource_classes.ensure_resource_class(database, name):
            return _created(name)
        response = util.no_content()
        response.headers["Location"] = util.absolute_url(_path(name))
        return response
    data = routes.validated_body()
    resource_classes.rename_resource_class(database, name, data["name"])
    return util.json_response(_serialize(data["name"]))


@routes.route(blueprint, "/resource_classes/<name>", methods=["DELETE"],
              policy="placement:resource_classes:delete", responses={204: None})
def delete_resource_class(name: str) -> flask.Response:
    """Delete a CUSTOM_ resource class that no inventory uses."""
    resource_classes.delete_resource_class(util.database(), name)
    return util.no_content()

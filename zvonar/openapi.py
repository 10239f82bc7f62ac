"""The OpenAPI 3.1 document, written from the routes' own pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter

from crm_core.api import MAX_ID, Endpoint
from zvonar.http_dispatch import takes_idempotency_key

REF = "#/components/schemas/{model}"

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}


def _schema(tp: Any, components: dict[str, Any], mode: str) -> dict[str, Any]:
    schema = TypeAdapter(tp).json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    return schema


def _query_parameters(model: type[BaseModel], components: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _schema(model, components, "validation")
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if prop.get("type") == "array" or any(s.get("type") == "array" for s in prop.get("anyOf", [])):
            param.update(style="form", explode=True)
        if "description" in prop:
            param["description"] = prop["description"]
        params.append(param)
    return params


IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Sent again with the same key (per user, kept 24 h), the request is answered as the first time "
                   "and not done twice; a key used for another request is refused (422); "
                   "while the first is still handled, 409 request_in_progress.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9._:-]+$"},
}


def build_openapi(endpoints: list[Endpoint], title: str, version: str) -> dict[str, Any]:
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for ep in endpoints:
        if ep.method == "WS":
            continue
        op: dict[str, Any] = {
            "summary": ep.summary,
            "tags": [ep.tag],
            "operationId": f"{ep.tag}_{ep.handler.__name__}",
            "parameters": [
                {"name": p, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}
                for p in ep.path_params
            ],
        }
        if ep.query is not None:
            op["parameters"] += _query_parameters(ep.query, components)
        if takes_idempotency_key(ep):
            op["parameters"].append(IDEMPOTENCY_KEY_PARAMETER)
        if ep.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema(ep.body, components, "validation")}},
            }
        elif ep.raw_body:
            op["requestBody"] = {
                "required": True,
                "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in ep.raw_body},
            }
        responses: dict[str, Any] = {}
        if ep.raw_response or ep.response is None:
            responses[str(ep.status)] = {"description": "OK"}
        else:
            responses[str(ep.status)] = {
                "description": "OK",
                "content": {"application/json": {"schema": _schema(ep.response, components, "serialization")}},
            }
        err = {"description": "error", "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}}
        for code in ("400", "401", "404", "409", "413", "422", "429", "503"):
            responses[code] = err
        if not ep.public:
            responses["403"] = err
            op["security"] = [{"bearer": []}]
        else:
            op["security"] = []
        op["responses"] = responses
        paths.setdefault(ep.path, {})[ep.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }

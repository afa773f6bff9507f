"""The client API described as OpenAPI 3.1, built from the message schemas so it never drifts from them."""
from __future__ import annotations

from typing import Any

from hub.errors import all_codes

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _problem_responses(*statuses: int) -> dict[str, Any]:
    return {str(s): {"description": ", ".join(c.code for c in all_codes().values() if c.status == s),
                     "content": {"application/problem+json": {"schema": PROBLEM}}} for s in statuses}


def _document(catalog: Any) -> dict[str, Any]:
    types = catalog.types()
    payloads = {f"payload.{t}": catalog.schema(t) for t in types}
    envelope = {"allOf": [{"$ref": "#/components/schemas/Envelope"}],
                "description": "payload must match the schema of its type: components/schemas/payload.<type>"}
    accepted = {"type": "object", "properties": {"id": {"type": "string"}, "status": {"const": "accepted"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "LGSP hub client API", "version": "1",
                 "description": "Send canonical messages to the provincial hub. Authenticate with "
                                "'Authorization: Bearer <token>'. Errors are application/problem+json with a stable code."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Envelope": catalog.envelope_schema() if hasattr(catalog, "envelope_schema") else {"type": "object"},
                        "Problem": {"type": "object", "required": ["code", "title", "status", "detail"], "properties": {
                            "code": {"type": "string", "enum": sorted(all_codes())}, "title": {"type": "string"},
                            "status": {"type": "integer"}, "detail": {"type": "string"}, "fix": {"type": "string"},
                            "id": {"type": "string"}, "errors": {"type": "array"}}},
                        "MessageType": {"type": "string", "enum": types},
                        "CallType": {"type": "string", "enum": [t for t in types if catalog.is_call(t)]},
                        **payloads},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/messages": {"post": {
                "summary": "Submit a one-way message (accepted once stored and handed to the bus)",
                "requestBody": {"required": True, "content": {"application/json": {"schema": envelope}}},
                "responses": {"202": {"description": "accepted (or the original answer for a repeated id)",
                                      "content": {"application/json": {"schema": accepted}}},
                              **_problem_responses(400, 401, 403, 413, 415, 422, 503)}}},
            "/v1/messages/{id}": {"get": {
                "summary": "A message's state, its deliveries and every hop",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "the message"}, **_problem_responses(401, 404)}}},
            "/v1/calls": {"post": {
                "summary": "Request/reply: waits (bounded) for the partner's answer in canonical form",
                "requestBody": {"required": True, "content": {"application/json": {"schema": envelope}}},
                "responses": {"200": {"description": "answered: {id, status: answered, reply}"},
                              "202": {"description": "still pending after the wait: {id, status: pending, poll}"},
                              **_problem_responses(400, 401, 403, 422, 502, 503)}}},
            "/v1/procedures/{code}": {"get": {
                "summary": "A procedure as the national catalogue (CSDL TTHC) publishes it, from the hub's synced copy",
                "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "the record (schemas/messages/procedure.sync.json)"},
                              **_problem_responses(401, 403, 404)}}},
            "/healthz": {"get": {"summary": "store, bus and connectors", "security": [],
                                 "responses": {"200": {"description": "ok"}, "503": {"description": "degraded"}}}},
            "/v1/inbound/{connector}": {"post": {"summary": "partner callbacks (verified by the connector)",
                                                 "security": [], "responses": {"200": {"description": "partner's format"}}}},
        },
    }


_cache: dict[int, dict[str, Any]] = {}


def openapi_document(catalog: Any) -> dict[str, Any]:
    key = id(catalog)
    if key not in _cache:
        _cache[key] = _document(catalog)
    return _cache[key]

"""Error codes that middleware and exception handlers answer on many operations at once
(429 ``rate_limited``, 413 ``request_too_large``, 503 ``service_unavailable``), listed in
the OpenAPI document so that clients and the schema fuzzer know them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from parta.errors import ErrorCode

# Which operations answer the code: (path, method in upper case, operation object).
Applies = Callable[[str, str, dict[str, Any]], bool]


def list_error_on(app: FastAPI, api_prefix: str, status: int, code: ErrorCode, applies: Applies) -> None:
    """Once FastAPI has built the document, add ``code`` under ``status`` to every API
    operation (path under ``api_prefix``) that ``applies`` selects."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        schema = generate()
        if fresh:
            for path, operations in schema.get("paths", {}).items():
                if not path.startswith(api_prefix):
                    continue
                for method, operation in operations.items():
                    if applies(path, method.upper(), operation):
                        add_error_code(operation, status, code)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def add_error_code(operation: dict[str, Any], status: int, code: ErrorCode) -> None:
    """List ``code`` in the operation's ``status`` answer (an ``ErrorBody``)."""
    responses = operation.setdefault("responses", {})
    entry = responses.setdefault(
        str(status),
        {
            "description": "Error codes: ",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        },
    )
    if f"`{code.value}`" not in entry["description"]:
        names = entry["description"].removeprefix("Error codes: ")
        entry["description"] = "Error codes: " + ", ".join(filter(None, (names, f"`{code.value}`")))

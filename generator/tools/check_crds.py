"""Schemas for objects kubernetes-validate does not know: Gateway API's HTTPRoute, a CRD.

kubernetes-validate carries the core API's schemas only and merely warns on an unknown kind.
The HTTPRoute schema here is the openAPIV3Schema of the upstream CRD (Gateway API v1.6.1,
standard channel; source and licence in schemas/), checked with jsonschema the way
kubernetes-validate --strict checks core objects: every object with declared properties
refuses undeclared ones. Not checked: the CRD's CEL rules (x-kubernetes-validations), which
only an API server runs.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Iterator

_SCHEMAS = Path(__file__).parent / "schemas"
# (apiVersion, kind) -> the schema file for it.
KNOWN = {("gateway.networking.k8s.io/v1", "HTTPRoute"): "gateway-api-v1.6.1-httproute-v1.json"}


def knows(document: Any) -> bool:
    return isinstance(document, dict) and (document.get("apiVersion"), document.get("kind")) in KNOWN


def problems(document: dict[str, Any]) -> Iterator[str]:
    """One line per schema violation (path: message), as validate_schemas words its own."""
    import jsonschema

    validator = jsonschema.Draft7Validator(_schema(KNOWN[(document["apiVersion"], document["kind"])]))
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        path = ".".join(str(part) for part in error.absolute_path)
        yield f"{path}: {error.message}"


@functools.cache
def _schema(name: str) -> dict[str, Any]:
    return _strict(json.loads((_SCHEMAS / name).read_text()))


def _strict(schema: Any) -> Any:
    """An object schema with properties and no additionalProperties refuses unknown fields (the
    API server would prune them silently: a typo would vanish)."""
    if isinstance(schema, dict):
        schema = {key: _strict(value) for key, value in schema.items()}
        if schema.get("type") == "object" and "properties" in schema and "additionalProperties" not in schema \
                and not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [_strict(item) for item in schema]
    return schema

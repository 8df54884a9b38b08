"""Validate Ray custom resources against KubeRay's CRD schemas, the way the API server does.

    from tests.crd_schema import assert_valid_cr, validate_cr
    assert_valid_cr(obj)                      # RayCluster / RayJob / RayService, KubeRay v1.7.0
    errors = validate_cr(obj, "v1.4.2")       # [] when valid

The CRDs live in ../shared/crds/<version>/ (read through tests.conftest.shared_path, which skips
the test loudly when the folder is missing). Like the API server's structural defaulting, the
schema's `default` values are filled in first (walking properties, additionalProperties and items),
then `spec.versions[name=v1].schema.openAPIV3Schema` is checked with jsonschema. Without defaulting,
fields that are both required and defaulted (workerGroupSpecs[].minReplicas/maxReplicas) would
give false failures. CEL rules (x-kubernetes-validations) are not evaluated.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

KIND_FILES = {
    "RayCluster": "ray.io_rayclusters.yaml",
    "RayJob": "ray.io_rayjobs.yaml",
    "RayService": "ray.io_rayservices.yaml",
}


def validate_cr(obj: dict[str, Any], version: str = "v1.7.0") -> list[str]:
    """Errors (`path: message`, sorted by path) for a Ray CR; an empty list means valid."""
    kind = obj.get("kind")
    if kind not in KIND_FILES:
        return [f"kind: {kind!r} is not one of {', '.join(KIND_FILES)}"]
    if obj.get("apiVersion") != "ray.io/v1":
        return [f"apiVersion: {obj.get('apiVersion')!r} is not ray.io/v1"]
    schema, validator = _load(kind, version)
    defaulted = apply_defaults(copy.deepcopy(obj), schema)
    errors = []
    for error in validator.iter_errors(defaulted):
        path = ".".join(str(p) for p in error.absolute_path) or "<root>"
        errors.append(f"{path}: {error.message}")
    return sorted(errors)


def assert_valid_cr(obj: dict[str, Any], version: str = "v1.7.0") -> None:
    errors = validate_cr(obj, version)
    assert not errors, f"{obj.get('kind')} {(obj.get('metadata') or {}).get('name')!r} does not validate against " \
                       f"KubeRay {version} CRD:\n  " + "\n  ".join(errors)


def apply_defaults(value: Any, schema: dict[str, Any]) -> Any:
    """Drop non-nullable nulls, fill missing keys that have a schema `default`, recursively."""
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for key in [k for k, v in value.items() if v is None and not (properties.get(k) or {}).get("nullable")]:
            del value[key]  # the API server prunes nulls of non-nullable fields before defaulting
        for key, sub in properties.items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
        for key, item in value.items():
            if key in properties:
                apply_defaults(item, properties[key])
            elif isinstance(schema.get("additionalProperties"), dict):
                apply_defaults(item, schema["additionalProperties"])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(item, schema["items"])
    return value


@functools.lru_cache(maxsize=None)
def _load(kind: str, version: str) -> tuple[dict[str, Any], Any]:
    import jsonschema
    import yaml

    from tests.conftest import shared_path

    path = shared_path("crds", version, KIND_FILES[kind])
    with open(path, encoding="utf-8") as fh:
        crd = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    served = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    assert served, f"{path} has no v1 version"
    schema = _nullable_to_jsonschema(served[0]["schema"]["openAPIV3Schema"])
    return schema, jsonschema.Draft4Validator(schema)


def _nullable_to_jsonschema(schema: Any) -> Any:
    """OpenAPI's `nullable: true` is `type: [T, "null"]` in JSON Schema."""
    if isinstance(schema, dict):
        out = {k: _nullable_to_jsonschema(v) for k, v in schema.items()}
        if out.get("nullable") and isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(schema, list):
        return [_nullable_to_jsonschema(v) for v in schema]
    return schema

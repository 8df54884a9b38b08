"""Structural schemas of CRDs, applied the way kube-apiserver's apiextensions code applies them.

On every write of a custom resource the API server (k8s.io/apiextensions-apiserver, v0.32):
1. prunes fields the schema does not declare (pruning/algorithm.go; `apiVersion`, `kind` and
   `metadata` survive at the root and in x-kubernetes-embedded-resource objects) and drops
   non-nullable nulls that have no default (defaulting/prunenulls.go);
2. fills in `default`s (defaulting/algorithm.go: a missing key, or a non-nullable null, gets a
   copy of the default; then it recurses);
3. validates with kube-openapi's validator and turns its errors into field errors
   (apiserver/validation/validation.go kubeOpenAPIResultToFieldErrors), plus the CEL rules.

`compile()` turns the schema dict into Node objects once, so a RayCluster write costs a walk of
the object only. Messages are the API server's, e.g.
`spec.workerGroupSpecs[0].replicas: Invalid value: "string": spec.workerGroupSpecs[0].replicas in
body must be of type integer: "string"`.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime
from typing import Any, Callable

Cause = dict[str, Any]  # {"reason", "message", "field"}: one entry of Status.details.causes

_INT_FORMATS = ("int32", "int64")


class Node:
    """One compiled schema node."""

    __slots__ = ("type", "properties", "additional", "items", "default", "nullable", "preserve", "embedded",
                 "int_or_string", "enum", "pattern", "min_length", "max_length", "minimum", "maximum", "required",
                 "format", "list_type", "list_keys", "rules", "max_items", "min_items")

    def __init__(self) -> None:
        self.type: str | None = None
        self.properties: dict[str, Node] = {}
        self.additional: Node | None = None
        self.items: Node | None = None
        self.default: Any = None
        self.nullable = False
        self.preserve = False
        self.embedded = False
        self.int_or_string = False
        self.enum: list[Any] | None = None
        self.pattern: re.Pattern[str] | None = None
        self.min_length: int | None = None
        self.max_length: int | None = None
        self.minimum: float | None = None
        self.maximum: float | None = None
        self.required: tuple[str, ...] = ()
        self.format: str | None = None
        self.list_type: str | None = None
        self.list_keys: tuple[str, ...] = ()
        self.rules: list[dict[str, Any]] = []
        self.max_items: int | None = None
        self.min_items: int | None = None


def compile_schema(raw: dict[str, Any]) -> Node:
    node = Node()
    node.type = raw.get("type")
    node.properties = {k: compile_schema(v) for k, v in (raw.get("properties") or {}).items()}
    extra = raw.get("additionalProperties")
    if isinstance(extra, dict):
        node.additional = compile_schema(extra)
    if isinstance(raw.get("items"), dict):
        node.items = compile_schema(raw["items"])
    node.default = raw.get("default")
    node.nullable = bool(raw.get("nullable"))
    node.preserve = bool(raw.get("x-kubernetes-preserve-unknown-fields"))
    node.embedded = bool(raw.get("x-kubernetes-embedded-resource"))
    node.int_or_string = bool(raw.get("x-kubernetes-int-or-string"))
    node.enum = raw.get("enum")
    if raw.get("pattern"):
        node.pattern = _go_regexp(raw["pattern"])
    node.min_length, node.max_length = raw.get("minLength"), raw.get("maxLength")
    node.minimum, node.maximum = raw.get("minimum"), raw.get("maximum")
    node.min_items, node.max_items = raw.get("minItems"), raw.get("maxItems")
    node.required = tuple(raw.get("required") or ())
    node.format = raw.get("format")
    node.list_type = raw.get("x-kubernetes-list-type")
    node.list_keys = tuple(raw.get("x-kubernetes-list-map-keys") or ())
    node.rules = list(raw.get("x-kubernetes-validations") or [])
    return node


def _go_regexp(pattern: str) -> re.Pattern[str]:
    """Go RE2 patterns as Python regexps (the CRDs' patterns use the common subset)."""
    return re.compile(pattern)


# --- 1. pruning and null removal -----------------------------------------------------------------

_META_FIELDS = ("apiVersion", "kind", "metadata")


def prune(obj: dict[str, Any], root: Node) -> list[str]:
    """Drop undeclared fields in place; the dotted paths of what was dropped, sorted."""
    unknown: list[str] = []
    _prune(obj, root, "", unknown, embedded=True)
    return sorted(unknown)


def _prune(value: Any, node: Node | None, path: str, unknown: list[str], embedded: bool = False) -> None:
    if node is not None and node.preserve:
        _skip_prune(value, node, path, unknown)
        return
    if isinstance(value, dict):
        if node is None:
            unknown.extend(_join(path, k) for k in value)
            value.clear()
            return
        for key in list(value):
            if (embedded or node.embedded) and key in _META_FIELDS:
                continue
            sub = node.properties.get(key) or node.additional
            if sub is not None:
                child = value[key]
                if child is None and not sub.nullable and sub.default is None:
                    del value[key]  # PruneNonNullableNullsWithoutDefaults
                    continue
                _prune(child, sub, _join(path, key), unknown)
            else:
                if key not in _META_FIELDS or path:
                    unknown.append(_join(path, key))
                del value[key]
    elif isinstance(value, list):
        item = node.items if node is not None else None
        for i, child in enumerate(value):
            _prune(child, item, f"{path}[{i}]", unknown)


def _skip_prune(value: Any, node: Node, path: str, unknown: list[str]) -> None:
    """x-kubernetes-preserve-unknown-fields: keep unknown keys, still prune inside known ones."""
    if isinstance(value, dict):
        for key, child in value.items():
            if node.embedded and key in _META_FIELDS:
                continue
            sub = node.properties.get(key) or node.additional
            if sub is not None:
                _prune(child, sub, _join(path, key), unknown)
    elif isinstance(value, list) and node.items is not None:
        for i, child in enumerate(value):
            _skip_prune(child, node.items, f"{path}[{i}]", unknown)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- 2. defaulting ---------------------------------------------------------------------------------

def default(value: Any, node: Node | None) -> None:
    """Fill in schema defaults in place (missing keys and non-nullable nulls)."""
    if node is None:
        return
    if isinstance(value, dict):
        for key, sub in node.properties.items():
            if sub.default is not None and (key not in value or (value[key] is None and not sub.nullable)):
                value[key] = copy.deepcopy(sub.default)
        for key, child in value.items():
            sub = node.properties.get(key)
            if sub is not None:
                default(child, sub)
            elif node.additional is not None:
                if child is None and not node.additional.nullable and node.additional.default is not None:
                    value[key] = child = copy.deepcopy(node.additional.default)
                default(child, node.additional)
    elif isinstance(value, list) and node.items is not None:
        for i, child in enumerate(value):
            if child is None and not node.items.nullable and node.items.default is not None:
                value[i] = child = copy.deepcopy(node.items.default)
            default(child, node.items)


# --- 3. validation ---------------------------------------------------------------------------------

_MISSING = object()


def validate(obj: dict[str, Any], root: Node, old: dict[str, Any] | None = None) -> list[Cause]:
    """Field errors as the API server reports them (Status.details.causes), in path order.

    On updates (old given) validation ratchets, as with the CRDValidationRatcheting gate (beta and
    on in 1.30-1.32): a value equal to its old counterpart is not checked again."""
    causes: list[Cause] = []
    _validate(obj, root, "", causes, old if old is not None else _MISSING, is_root=True)
    return causes


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _go_value(value: Any) -> str:
    """How field.Error prints a bad value: numbers and bools bare, strings quoted."""
    if value is None:
        return '"null"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _go_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return _go_struct(value)


def _go_number(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def _go_struct(value: Any) -> str:
    """Go's %#v of a decoded JSON value (only for rare error messages)."""
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(k)}:{_go_struct(v)}" for k, v in value.items())
        return "map[string]interface {}{" + inner + "}"
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(_go_struct(v) for v in value) + "}"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return _go_value(value)


def _cause(reason: str, field: str, body: str) -> Cause:
    return {"reason": reason, "message": body, "field": field}


def invalid(field: str, value: Any, detail: str) -> Cause:
    return _cause("FieldValueInvalid", field, f"Invalid value: {_go_value(value)}: {detail}")


def type_invalid(field: str, value: Any, detail: str) -> Cause:
    return _cause("FieldValueTypeInvalid", field, f"Invalid value: {_go_value(value)}: {detail}")


def required(field: str) -> Cause:
    return _cause("FieldValueRequired", field, "Required value")


def _validate(value: Any, node: Node, path: str, causes: list[Cause], old: Any, is_root: bool = False) -> None:
    if old is not _MISSING and not is_root and value == old:
        return  # ratcheting: unchanged values keep passing
    jtype = _json_type(value)
    if value is None:
        if node.type and not node.nullable:
            causes.append(type_invalid(path, "null", f"{path} in body must be of type {node.type}: \"null\""))
        return
    if not _type_ok(node, value, jtype, path, causes):
        return
    if isinstance(value, str):
        _validate_string(value, node, path, causes)
    elif jtype in ("integer", "number"):
        _validate_number(value, node, path, causes)
    if node.enum is not None and value not in node.enum:
        allowed = ", ".join(json.dumps(v if isinstance(v, str) else json.dumps(v)) for v in node.enum)
        causes.append(_cause("FieldValueNotSupported", path,
                             f"Unsupported value: {_go_value(value)}: supported values: {allowed}"))
    if isinstance(value, list):
        _validate_list(value, node, path, causes, old)
    elif isinstance(value, dict):
        _validate_object(value, node, path, causes, old, is_root)
    for rule in node.rules:
        _check_rule(rule, value, node, path, causes, old)


def _type_ok(node: Node, value: Any, jtype: str, path: str, causes: list[Cause]) -> bool:
    if node.int_or_string:
        if jtype in ("integer", "string") or (jtype == "number" and float(value).is_integer()):
            return True
        causes.append(type_invalid(path, jtype, f'{path} in body must be of type integer,string: "{jtype}"'))
        return False
    if not node.type:
        return True
    if node.type == jtype or (node.type == "number" and jtype == "integer"):
        return True
    if node.type == "integer" and jtype == "number":
        if float(value).is_integer():
            return True
        if node.format:  # kube-openapi checks the format first: a float for an int32 is "of type int32"
            causes.append(type_invalid(path, "double", f'{path} in body must be of type {node.format}: "double"'))
            return False
    causes.append(type_invalid(path, jtype, f'{path} in body must be of type {node.type}: "{jtype}"'))
    return False


def _validate_string(value: str, node: Node, path: str, causes: list[Cause]) -> None:
    if node.max_length is not None and len(value) > node.max_length:
        causes.append(_cause("FieldValueTooLong", path, f"Too long: may not be more than {node.max_length} bytes"))
    if node.min_length is not None and len(value) < node.min_length:
        causes.append(invalid(path, value, f"{path} in body should be at least {node.min_length} chars long"))
    if node.pattern is not None and not node.pattern.search(value):
        causes.append(invalid(path, value, f"{path} in body should match '{node.pattern.pattern}'"))
    if node.format == "date-time" and not _is_datetime(value):
        causes.append(type_invalid(path, value, f'{path} in body must be of type date-time: "{value}"'))


def _is_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _validate_number(value: int | float, node: Node, path: str, causes: list[Cause]) -> None:
    if node.minimum is not None and value < node.minimum:
        causes.append(invalid(path, value, f"{path} in body should be greater than or equal to "
                                           f"{_go_number(node.minimum)}"))
    if node.maximum is not None and value > node.maximum:
        causes.append(invalid(path, value, f"{path} in body should be less than or equal to "
                                           f"{_go_number(node.maximum)}"))


def _validate_list(value: list[Any], node: Node, path: str, causes: list[Cause], old: Any) -> None:
    if node.max_items is not None and len(value) > node.max_items:
        causes.append(_cause("FieldValueTooMany", path,
                             f"Too many: {len(value)}: must have at most {node.max_items} items"))
    if node.min_items is not None and len(value) < node.min_items:
        causes.append(invalid(path, len(value), f"{path} in body should have at least {node.min_items} items"))
    if node.items is not None:
        olds = _old_items(value, node, old)
        for i, item in enumerate(value):
            _validate(item, node.items, f"{path}[{i}]", causes, olds[i])
    if node.list_type in ("set", "map"):
        seen: set[str] = set()
        for i, item in enumerate(value):
            key_value = {k: item.get(k) for k in node.list_keys} if node.list_type == "map" and isinstance(item, dict) \
                else item
            key = json.dumps(key_value, sort_keys=True)
            if key in seen:
                causes.append(_cause("FieldValueDuplicate", f"{path}[{i}]", f"Duplicate value: {_go_struct(key_value)}"))
            seen.add(key)


def _old_items(value: list[Any], node: Node, old: Any) -> list[Any]:
    """Old counterparts of list items: by key for list-type map lists, none otherwise (atomic lists)."""
    if node.list_type != "map" or not isinstance(old, list) or not node.list_keys:
        return [_MISSING] * len(value)
    by_key = {json.dumps([o.get(k) for k in node.list_keys]): o for o in old if isinstance(o, dict)}
    return [by_key.get(json.dumps([v.get(k) for k in node.list_keys]), _MISSING) if isinstance(v, dict) else _MISSING
            for v in value]


def _validate_object(value: dict[str, Any], node: Node, path: str, causes: list[Cause], old: Any,
                     is_root: bool) -> None:
    old_map = old if isinstance(old, dict) else None
    for key in sorted(value):
        if is_root and key in _META_FIELDS:
            continue
        sub = node.properties.get(key)
        if sub is None:
            sub = node.additional
        if sub is not None:
            _validate(value[key], sub, _join(path, key), causes,
                      old_map.get(key, _MISSING) if old_map is not None else _MISSING)
    for key in node.required:
        if key not in value:
            causes.append(required(_join(path, key)))


# --- CEL rules (the ones KubeRay's CRDs use) -------------------------------------------------------

def _has(value: Any, key: str) -> bool:
    return isinstance(value, dict) and key in value


_RULES: dict[str, Callable[[Any, Any], bool]] = {
    "self == oldSelf": lambda self, old: old is None or self == old,
    "self in ['ray.io/kuberay-operator', 'kueue.x-k8s.io/multikueue']":
        lambda self, old: self in ("ray.io/kuberay-operator", "kueue.x-k8s.io/multikueue"),
    "!((has(self.onSuccess) || has(self.onFailure)) && has(self.deletionRules))":
        lambda self, old: not ((_has(self, "onSuccess") or _has(self, "onFailure")) and _has(self, "deletionRules")),
    "((has(self.onSuccess) && has(self.onFailure)) || has(self.deletionRules))":
        lambda self, old: (_has(self, "onSuccess") and _has(self, "onFailure")) or _has(self, "deletionRules"),
    "!(has(self.jobStatus) && has(self.jobDeploymentStatus))":
        lambda self, old: not (_has(self, "jobStatus") and _has(self, "jobDeploymentStatus")),
    "has(self.jobStatus) || has(self.jobDeploymentStatus)":
        lambda self, old: _has(self, "jobStatus") or _has(self, "jobDeploymentStatus"),
}


def _check_rule(rule: dict[str, Any], value: Any, node: Node, path: str, causes: list[Cause], old: Any) -> None:
    check = _RULES.get(rule.get("rule", ""))
    if check is None:  # a rule this emulator does not know: accepted, as by an API server without CEL
        return
    if rule["rule"] == "self == oldSelf" and old is _MISSING:
        return  # transition rules only run on updates that keep the field
    old = None if old is _MISSING else old
    if not check(value, old):
        message = rule.get("message") or f"failed rule: {rule['rule']}"
        causes.append(invalid(path, node.type or "object", message))

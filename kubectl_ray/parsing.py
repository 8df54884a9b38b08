"""Parsers for flag values: key=value maps, taints, durations, TYPE/NAME, names, JSON.

Every parser raises UsageError naming the flag and the offending value, so the CLI can print one
line and exit before anything is written to the cluster.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from kubectl_ray.errors import UsageError
from kubectl_ray.kube.resources import RAY_GROUP, RAY_VERSION
from kubectl_ray.resources.quantity import Quantity, QuantityError, parse_quantity

DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]*)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def parse_key_values(flag: str, values: Iterable[str] | str | None) -> dict[str, str]:
    """pflag's stringToString: `a=1,b=2`, repeatable; quotes protect commas (`a="x,y"`)."""
    if values is None:
        return {}
    if isinstance(values, str):
        values = [values]
    result: dict[str, str] = {}
    for value in values:
        if value.strip() == "":
            continue
        try:
            records = list(csv.reader([value], skipinitialspace=False))
        except csv.Error as exc:
            raise UsageError(f"invalid argument {value!r} for {flag}: {exc}") from None
        for item in records[0] if records else []:
            key, sep, val = item.partition("=")
            if not sep or not key.strip():
                raise UsageError(f"invalid argument {value!r} for {flag}: {item!r} must be formatted as key=value")
            result[key.strip()] = val
    return result


def validate_label_key(flag: str, key: str) -> None:
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix)):
        raise UsageError(f"invalid {flag} key {key!r}: prefix must be a DNS subdomain (e.g. example.com/name)")
    if not name or len(name) > 63 or not _LABEL_NAME.match(name):
        raise UsageError(
            f"invalid {flag} key {key!r}: name part must be at most 63 characters of alphanumerics, '-', '_' "
            "or '.', starting and ending with an alphanumeric"
        )


def validate_label_value(flag: str, key: str, value: str) -> None:
    if value and (len(value) > 63 or not _LABEL_NAME.match(value)):
        raise UsageError(
            f"invalid {flag} value {value!r} for key {key!r}: must be at most 63 characters of alphanumerics, "
            "'-', '_' or '.', starting and ending with an alphanumeric"
        )


def parse_labels(flag: str, values: Iterable[str] | str | None, *, check_values: bool = True) -> dict[str, str]:
    """A key=value map whose keys (and, for labels and selectors, values) must be valid label syntax."""
    result = parse_key_values(flag, values)
    for key, value in result.items():
        validate_label_key(flag, key)
        if check_values:
            validate_label_value(flag, key, value)
    return result


def parse_tolerations(flag: str, values: Iterable[str] | str | None) -> list[dict[str, str]]:
    """Tolerations in kubectl taint syntax: `key=value:Effect`, `key:Effect`, `key=value`, `key`."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    result: list[dict[str, str]] = []
    for value in values:
        for item in (part.strip() for part in value.split(",")):
            if not item:
                continue
            result.append(_parse_toleration(flag, item))
    return result


def _parse_toleration(flag: str, item: str) -> dict[str, str]:
    spec, colon, effect = item.partition(":")
    key, eq, val = spec.partition("=")
    if not key or (colon and not effect) or ":" in effect:
        raise UsageError(
            f"invalid {flag} value {item!r}: use key=value:Effect, key:Effect, key=value or key "
            f"(Effect is one of {', '.join(TAINT_EFFECTS)})"
        )
    validate_label_key(flag, key)
    toleration = {"key": key, "operator": "Equal" if eq else "Exists"}
    if eq:
        validate_label_value(flag, key, val)
        toleration["value"] = val
    if effect:
        canonical = {e.lower(): e for e in TAINT_EFFECTS}.get(effect.lower())
        if canonical is None:
            raise UsageError(f"invalid {flag} effect {effect!r} in {item!r}: must be one of {', '.join(TAINT_EFFECTS)}")
        toleration["effect"] = canonical
    return toleration


def parse_duration(flag: str, value: str | int | float, *, bare_seconds: bool = False) -> float:
    """Go's time.ParseDuration (`90s`, `5m`, `1h30m`, `0`); bare numbers are seconds if allowed."""
    text = str(value).strip()
    if text in ("0", "+0", "-0"):
        return 0.0
    if bare_seconds and re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        return float(text)
    body = text.lstrip("+")
    if body.startswith("-"):
        raise UsageError(f"invalid {flag} {text!r}: must not be negative")
    total, pos = 0.0, 0
    for match in _DURATION_PART.finditer(body):
        if match.start() != pos or match.group(1) in ("", "."):
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(body) or not body:
        hint = " (a number of seconds or a duration such as 30s, 5m, 1h)" if bare_seconds else " (e.g. 30s, 5m, 1h)"
        raise UsageError(f"invalid {flag} {text!r}: not a duration{hint}")
    return total


def format_duration(seconds: float) -> str:
    """Go's Duration.String() for whole seconds: `5m0s`, `1h30m0s`, `45s`."""
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h:
        return f"{h}h{m}m{sec}s"
    if m:
        return f"{m}m{sec}s"
    return f"{sec}s"


def parse_quantity_flag(flag: str, value: object, *, allow_zero: bool = True) -> Quantity:
    """A resource quantity flag; negative values and garbage are usage errors naming the flag."""
    try:
        quantity = parse_quantity(value)
    except QuantityError as exc:
        shown = repr(value) if len(str(value)) <= 40 else f"{str(value)[:20]!r}...({len(str(value))} characters)"
        raise UsageError(f"{flag} is not a valid resource quantity: {shown}: {exc}") from None
    if quantity.milli < 0:
        raise UsageError(f"{flag} cannot be negative: {value!r}")
    if not allow_zero and quantity.is_zero():
        raise UsageError(f"{flag} must be greater than zero: {value!r}")
    return quantity


def validate_name(kind: str, name: str, *, max_length: int = 63) -> None:
    """Object names the operator accepts: a DNS-1035 label, shorter for CRs that derive names."""
    if not name:
        raise UsageError(f"{kind} name must not be empty")
    if len(name) > max_length:
        raise UsageError(f"invalid {kind} name {name!r}: must be no more than {max_length} characters")
    if not DNS1035_LABEL.match(name):
        raise UsageError(
            f"invalid {kind} name {name!r}: must consist of lower case alphanumeric characters or '-', "
            "start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name')"
        )


def parse_json_flag(flag: str, value: str | None, *, expect: type = dict) -> Any:
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise UsageError(f"invalid {flag}: not valid JSON: {exc}") from None
    if expect is not None and not isinstance(parsed, expect):
        raise UsageError(f"invalid {flag}: expected a JSON {'object' if expect is dict else expect.__name__}")
    return parsed


# --- TYPE/NAME references -----------------------------------------------------------------

RESOURCE_TYPES = ("raycluster", "rayjob", "rayservice")


def _spellings(singular: str) -> dict[str, str]:
    """Every name kubectl resolves to a Ray kind: singular, plural (= kind, lower case) and both
    qualified by group or version.group (`rayclusters.ray.io`, `raycluster.v1.ray.io`)."""
    names = {}
    for base in (singular, singular + "s"):
        for suffix in ("", f".{RAY_GROUP}", f".{RAY_VERSION}.{RAY_GROUP}"):
            names[base + suffix] = singular
    return names


TYPE_NAMES: dict[str, str] = {name: t for t in RESOURCE_TYPES for name, t in _spellings(t).items()}


@dataclass(frozen=True)
class ResourceRef:
    type: str  # raycluster | rayjob | rayservice
    name: str
    explicit: bool = field(default=True, compare=False)  # TYPE was written (TYPE/NAME), not defaulted

    def __str__(self) -> str:
        return f"{self.type}/{self.name}"


def resource_type(text: str, allowed: tuple[str, ...] = RESOURCE_TYPES) -> str | None:
    """The Ray type a kubectl resource name means (case-insensitive), or None."""
    found = TYPE_NAMES.get(text.lower())
    return found if found in allowed else None


def parse_resource_ref(arg: str, *, default_type: str = "raycluster", allowed: tuple[str, ...] = RESOURCE_TYPES) -> ResourceRef:
    """`NAME` or `TYPE/NAME`, TYPE as kubectl spells it (`rayjob`, `rayjobs`, `RayJob`, `rayjobs.ray.io`,
    `rayjob.v1.ray.io`), case-insensitive."""
    text = arg.strip()
    parts = text.split("/")
    if len(parts) == 1:
        type_, name, explicit = default_type, parts[0], False
    elif len(parts) == 2:
        raw_type, name = parts
        explicit = True
        type_ = resource_type(raw_type, allowed) or ""
        if not type_:
            raise UsageError(f"unsupported resource type {raw_type!r} in {arg!r}: use one of {', '.join(allowed)}")
    else:
        raise UsageError(f"invalid resource type/name: {arg!r} (use NAME or TYPE/NAME)")
    if not name:
        raise UsageError(f"invalid resource type/name: {arg!r}: the name is empty")
    return ResourceRef(type_, name, explicit)

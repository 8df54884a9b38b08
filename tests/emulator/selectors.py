"""Label and field selectors with the API server's semantics."""

from __future__ import annotations

import re
from typing import Any, Callable

Predicate = Callable[[dict[str, Any]], bool]

_SET_TERM = re.compile(r"^\s*([^\s!=()]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def split_terms(selector: str) -> list[str]:
    """Split on commas that are not inside `in (a,b)` parentheses."""
    terms, depth, current = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += ch
    terms.append(current)
    return [t.strip() for t in terms if t.strip()]


class SelectorError(ValueError):
    pass


def label_selector(selector: str | None) -> Predicate:
    if not selector:
        return lambda obj: True
    checks = [_label_term(t) for t in split_terms(selector)]

    def match(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(check(labels) for check in checks)

    return match


def _label_term(term: str) -> Callable[[dict[str, str]], bool]:
    m = _SET_TERM.match(term)
    if m:
        key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    for op in ("!=", "==", "="):
        if op in term:
            key, value = (p.strip() for p in term.split(op, 1))
            if not key:
                raise SelectorError(f"invalid label selector term {term!r}")
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    if term.startswith("!"):
        key = term[1:].strip()
        return lambda labels: key not in labels
    if not re.match(r"^[A-Za-z0-9./_-]+$", term):
        raise SelectorError(f"invalid label selector term {term!r}")
    return lambda labels: term in labels


def field_selector(selector: str | None) -> Predicate:
    if not selector:
        return lambda obj: True
    checks = []
    for term in split_terms(selector):
        for op in ("!=", "==", "="):
            if op in term:
                path, value = (p.strip() for p in term.split(op, 1))
                checks.append((path, op, value))
                break
        else:
            raise SelectorError(f"invalid field selector term {term!r}")

    def match(obj: dict[str, Any]) -> bool:
        for path, op, value in checks:
            actual = _lookup(obj, path)
            actual = "" if actual is None else str(actual)
            if (op == "!=") == (actual == value):
                return False
        return True

    return match


def _lookup(obj: dict[str, Any], path: str) -> Any:
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current

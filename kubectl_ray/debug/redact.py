"""Redaction: what must never leave the cluster in a diagnosis or a support bundle.

Applied by the collector to every object and log line it keeps, so the report, `-o json` and the
bundle all see the same redacted data. Secrets are never read at all. What is redacted:

* env entries whose name looks secret (password, passwd, pwd, token, secret, key, credential): value;
* string fields whose key looks secret (rayStartParams `redis-password`, `redisPassword.value`, ...),
  except the structural keys `key`, `name`, `secretName` that only name things;
* inside any string: `password=...`, `token: ...`, `--redis-password X`, `password X`, `Bearer ...`
  and the password of `scheme://user:password@host` URLs;
* the kubectl last-applied-configuration annotation: parsed and redacted like the object itself.
"""

from __future__ import annotations

import json
import re
from typing import Any

REDACTED = "<redacted>"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

SENSITIVE_NAME = re.compile(r"(?i)(passw|pwd|token|secret|key|credential)")
STRUCTURAL_KEYS = {"key", "name", "secretName", "secretKeyRef", "configMapKeyRef", "keyRef", "tokenSecretName",
                   "serviceAccountToken", "automountServiceAccountToken", "keySecretRef"}
_NAMES = r"(?:[\w.-]*(?:password|passwd|pwd|token|secret|api[_-]?key|access[_-]?key|private[_-]?key|credentials?))"
_ASSIGN = re.compile(rf"(?i)(\b{_NAMES}\b[\"']?\s*[=:]\s*[\"']?)([^\s\"',;&}}]+)")
_FLAG = re.compile(rf"(?i)(--{_NAMES}[\s=]+[\"']?)([^\s\"',;&]+)")
_BEARER = re.compile(r"(?i)(\bbearer\s+)([A-Za-z0-9._~+/=-]{8,})")
_SPOKEN = re.compile(r"(?i)(\b(?:password|passwd|pwd)\s+)(?!(?:for|in|is|of|to|the|and|from|with|was|not|has|must|"
                     r"should|missing|required|field|key|secret)\b)([^\s\"'<>]{3,})")
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)([^@\s/]+)(@)")


def redact_text(text: str) -> str:
    """Secrets inside free text (commands, messages, log lines)."""
    if not text or not isinstance(text, str):
        return text
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)
    text = _FLAG.sub(lambda m: m.group(1) + REDACTED, text)
    text = _ASSIGN.sub(lambda m: m.group(1) + (m.group(2) if m.group(2) == REDACTED else REDACTED), text)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _SPOKEN.sub(lambda m: m.group(1) + REDACTED, text)  # "... with password hunter2"
    return text


def sensitive(name: str) -> bool:
    return bool(SENSITIVE_NAME.search(name or ""))


def redact(value: Any, key: str = "") -> Any:
    """A redacted copy of an object (dicts, lists, strings)."""
    if isinstance(value, dict):
        return _redact_dict(value, key)
    if isinstance(value, list):
        if key in ("env",):
            return [_redact_env(e) if isinstance(e, dict) else redact(e) for e in value]
        return [redact(v, key) for v in value]
    if isinstance(value, str):
        if key and key not in STRUCTURAL_KEYS and sensitive(key) and value:
            return REDACTED
        return redact_text(value)
    return value


def _redact_dict(obj: dict[str, Any], key: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        if k == LAST_APPLIED and isinstance(v, str):
            out[k] = _redact_json_text(v)
        elif k == "value" and isinstance(v, str) and key and key not in STRUCTURAL_KEYS and sensitive(key) and v:
            out[k] = REDACTED  # e.g. redisPassword: {value: ...}
        elif k == "data" and key in ("", "secret") and isinstance(v, dict) and obj.get("kind") == "Secret":
            out[k] = {name: REDACTED for name in v}
        else:
            out[k] = redact(v, k)
    return out


def _redact_env(entry: dict[str, Any]) -> dict[str, Any]:
    out = {k: redact(v, k if k != "name" else "") for k, v in entry.items() if k != "value"}
    if "value" in entry:
        value = entry["value"]
        if sensitive(str(entry.get("name", ""))) and value not in ("", None):
            out["value"] = REDACTED
        else:
            out["value"] = redact_text(value) if isinstance(value, str) else value
    return out


def _redact_json_text(text: str) -> str:
    try:
        doc = json.loads(text)
    except ValueError:
        return redact_text(text)
    return json.dumps(redact(doc), separators=(",", ":"), sort_keys=True)

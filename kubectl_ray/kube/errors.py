"""API failures rendered the way kubectl renders them, always as one line."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kubectl_ray.errors import KubectlRayError, one_line

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "Timeout",
}


_SELF_EXPLAINING = ("NotFound", "Forbidden", "Conflict", "AlreadyExists", "Invalid")


@dataclass(frozen=True)
class RequestInfo:
    """What a request was doing, so errors can say which verb on which resource in which namespace."""

    verb: str  # get, list, watch, create, update, patch, delete
    resource: str = ""  # e.g. rayclusters.ray.io, pods
    namespace: str | None = None
    name: str | None = None
    path: str = ""


class ConfigError(KubectlRayError):
    """The kubeconfig, the connection flags or a file they name cannot be used (found before any request)."""


class ConnectionFailed(KubectlRayError):
    """The API server could not be reached (refused, DNS, TLS, timeout, reset)."""


class ApiError(KubectlRayError):
    """The API server answered with an error status."""

    prefix = ""

    def __init__(self, status: int, reason: str, message: str, *, details: dict | None = None,
                 request: RequestInfo | None = None, retry_after: float | None = None) -> None:
        self.status = status
        self.reason = reason or _REASONS.get(status, f"HTTP {status}")
        self.details = details or {}
        self.request = request
        self.retry_after = retry_after
        super().__init__(message or self.reason)

    @classmethod
    def from_response(cls, status: int, body: bytes, request: RequestInfo | None = None,
                      retry_after: float | None = None) -> "ApiError":
        doc: Any = None
        try:
            doc = json.loads(body.decode("utf-8", "replace")) if body else None
        except (ValueError, RecursionError):
            doc = None
        if isinstance(doc, dict) and doc.get("kind") == "Status" and status >= 400:
            details = doc.get("details")
            return cls(status, _string(doc.get("reason")), _string(doc.get("message")),
                       details=details if isinstance(details, dict) else None, request=request, retry_after=retry_after)
        text = body.decode("utf-8", "replace").strip()[:300] if body and status >= 400 else ""
        if not text:  # client-go's words for an answer that says nothing (or a redirect, which we never follow)
            text = f"the server responded with the status code {status} but did not return more information"
        return cls(status, "", text, request=request, retry_after=retry_after)

    @property
    def causes(self) -> list[dict]:
        causes = self.details.get("causes")
        return [c for c in causes if isinstance(c, dict)] if isinstance(causes, list) else []

    @property
    def is_not_found(self) -> bool:
        return self.status == 404

    @property
    def names_an_object(self) -> bool:
        """A 404 about one object, as opposed to one about a resource type the server lacks."""
        name = self.details.get("name")
        return isinstance(name, str) and bool(name)

    def render(self) -> str:
        if self.status == 401:
            return f"error: You must be logged in to the server ({one_line(self.message) or 'Unauthorized'})"
        if self.status == 403:
            return f"Error from server (Forbidden): {one_line(self._forbidden_message())}"
        if self.status == 422:
            return f"Error from server (Invalid): {one_line(self._invalid_message())}"
        return f"Error from server ({self.reason}): {one_line(self.message)}"

    def detail(self) -> str:
        """For wrapping (`failed to scale ...: <detail>`): the server's message, with the reason when
        the message alone does not say what kind of failure it was (e.g. a bare 500)."""
        if self.status == 401:
            return super().detail()
        if self.status == 403:
            message = self._forbidden_message()
        elif self.status == 422:
            message = self._invalid_message()
        else:
            message = self.message
        message = one_line(message)
        return message if self.reason in _SELF_EXPLAINING else f"{message} ({self.reason})"

    def _forbidden_message(self) -> str:
        if "cannot" in self.message or self.request is None:
            return self.message
        req = self.request
        where = f'in the namespace "{req.namespace}"' if req.namespace else "at the cluster scope"
        return f'{req.resource} is forbidden: cannot {req.verb} resource "{req.resource}" {where}: {self.message}'

    def _invalid_message(self) -> str:
        kind = self.details.get("kind") or (self.request.resource if self.request else "object")
        name = self.details.get("name") or (self.request.name if self.request else "")
        if not self.causes:
            return self.message
        causes = "; ".join(f"{c.get('field', '')}: {c.get('message', '')}".strip(": ") for c in self.causes)
        return f'{kind} "{name}" is invalid: {causes}'


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


class CRDsMissing(KubectlRayError):
    """`ray.io/v1` (or one of its resources) is not served: KubeRay is not installed."""


class WatchExpired(Exception):
    """The watch's resourceVersion is too old (410 Gone); the caller must list again."""

"""The per-invocation environment every layer may use: connection flags, namespace, API client, streams.

It sits below the CLI so that `ray/` and `debug/` can take a `CommandEnv` without importing `cli/`;
the CLI builds one per command from the parsed flags (`flags_from_kwargs`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubectl_ray.kube.flags import ConnectionFlags

if TYPE_CHECKING:
    from kubectl_ray.kube.client import KubeClient

# The parameter names click gives kubectl's connection flags (see cli/common.py for the flags themselves).
CONNECTION_PARAM_NAMES = (
    "kubeconfig", "context", "cluster", "user", "namespace", "server", "token", "as_user", "as_groups", "as_uid",
    "certificate_authority", "client_certificate", "client_key", "insecure_skip_tls_verify", "tls_server_name",
    "request_timeout",
)


def flags_from_kwargs(kwargs: dict[str, Any]) -> ConnectionFlags:
    """Take the connection flags out of a command's parsed parameters (they are removed from `kwargs`)."""
    values = {name: kwargs.pop(name) for name in CONNECTION_PARAM_NAMES if name in kwargs}
    values["as_groups"] = tuple(values.get("as_groups") or ())
    values["insecure_skip_tls_verify"] = bool(values.get("insecure_skip_tls_verify"))
    return ConnectionFlags(**values)


@dataclass
class CommandEnv:
    """Per-invocation state: the connection flags and, once needed, the API client."""

    flags: ConnectionFlags = field(default_factory=ConnectionFlags)
    _kube: "KubeClient | None" = None
    _namespace: tuple[str, bool] | None = None

    def kube(self) -> "KubeClient":
        if self._kube is None:
            from kubectl_ray.kube import connect

            self._kube = connect(self.flags)
        return self._kube

    @property
    def namespace(self) -> str:
        return self._resolved_namespace()[0]

    @property
    def namespace_explicit(self) -> bool:
        return self._resolved_namespace()[1]

    def _resolved_namespace(self) -> tuple[str, bool]:
        """flag > kubeconfig context > default, without reading credentials (works offline)."""
        if self._kube is not None:
            return self._kube.namespace, self._kube.namespace_explicit
        if self._namespace is None:
            if self.flags.namespace:
                self._namespace = (self.flags.namespace, True)
            else:
                from kubectl_ray.kube.kubeconfig import resolve_namespace

                self._namespace = resolve_namespace(self.flags)
        return self._namespace

    @property
    def out(self) -> Any:
        return sys.stdout

    @property
    def err(self) -> Any:
        return sys.stderr

"""kubectl's connection flags as one value, passed from the CLI to the Kubernetes layer."""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass(frozen=True)
class ConnectionFlags:
    kubeconfig: str | None = None
    context: str | None = None
    cluster: str | None = None
    user: str | None = None
    namespace: str | None = None
    server: str | None = None
    token: str | None = None
    as_user: str | None = None
    as_groups: tuple[str, ...] = field(default_factory=tuple)
    as_uid: str | None = None
    certificate_authority: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    request_timeout: str | None = None

    # flag name on kubectl's command line for each field
    _FLAG_NAMES = {
        "kubeconfig": "--kubeconfig",
        "context": "--context",
        "cluster": "--cluster",
        "user": "--user",
        "namespace": "--namespace",
        "server": "--server",
        "token": "--token",
        "as_user": "--as",
        "as_uid": "--as-uid",
        "certificate_authority": "--certificate-authority",
        "client_certificate": "--client-certificate",
        "client_key": "--client-key",
        "tls_server_name": "--tls-server-name",
        "request_timeout": "--request-timeout",
    }

    def kubectl_args(self, *, include_namespace: bool = True) -> list[str]:
        """The same flags as arguments for a child `kubectl`, so it talks to the same cluster as we do."""
        args: list[str] = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "namespace" and not include_namespace:
                continue
            if f.name in self._FLAG_NAMES and value:
                args.append(f"{self._FLAG_NAMES[f.name]}={value}")
        args.extend(f"--as-group={group}" for group in self.as_groups)
        if self.insecure_skip_tls_verify:
            args.append("--insecure-skip-tls-verify=true")
        return args

    def merged_with(self, override: "ConnectionFlags") -> "ConnectionFlags":
        """Flags given after the command name win over the same flags given before it."""
        values = {}
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(override, f.name)
            values[f.name] = theirs if theirs not in (None, (), False) else mine
        return ConnectionFlags(**values)

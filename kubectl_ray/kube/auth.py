"""Credentials for API requests: static tokens, token files, basic auth, exec plugins, OIDC.

Exec credential plugins (`gke-gcloud-auth-plugin`, `aws eks get-token`, `kubelogin`, ...) follow
client-go's protocol: KUBERNETES_EXEC_INFO in, an ExecCredential on stdout; the result is cached
for the life of the process and refreshed once when the server answers 401.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from typing import Any

from kubectl_ray.kube.kubeconfig import ConfigError, ConnectionConfig

EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")


class Authenticator:
    def __init__(self, config: ConnectionConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._exec_status: dict[str, Any] | None = None

    def headers(self) -> dict[str, str]:
        """Authorization and impersonation headers for one request."""
        headers: dict[str, str] = {}
        token = self._bearer_token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif self.config.username and self.config.password is not None:
            raw = f"{self.config.username}:{self.config.password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        if self.config.impersonate_user:
            headers["Impersonate-User"] = self.config.impersonate_user
        if self.config.impersonate_uid:
            headers["Impersonate-Uid"] = self.config.impersonate_uid
        return headers

    def header_items(self) -> list[tuple[str, str]]:
        """Headers including the repeatable ones (one Impersonate-Group per group)."""
        items = list(self.headers().items())
        items += [("Impersonate-Group", g) for g in self.config.impersonate_groups]
        for key, values in self.config.impersonate_extra.items():
            items += [(f"Impersonate-Extra-{key}", v) for v in values]
        return items

    def client_certificate(self) -> tuple[bytes, bytes] | None:
        if self.config.client_cert_data and self.config.client_key_data:
            return self.config.client_cert_data, self.config.client_key_data
        status = self._exec_credentials()
        if status and status.get("clientCertificateData") and status.get("clientKeyData"):
            return status["clientCertificateData"].encode(), status["clientKeyData"].encode()
        return None

    def refresh(self) -> bool:
        """Forget cached exec credentials after a 401; True if a retry could help."""
        if not self.config.exec_config:
            return False
        with self._lock:
            self._exec_status = None
        return True

    def _bearer_token(self) -> str | None:
        if self.config.token:
            return self.config.token
        if self.config.token_file:
            try:
                with open(self.config.token_file, encoding="utf-8") as fh:
                    return fh.read().strip()
            except OSError as exc:
                raise ConfigError(f"cannot read token file {self.config.token_file!r}: {exc.strerror}") from None
        if self.config.exec_config:
            return (self._exec_credentials() or {}).get("token")
        if self.config.auth_provider:
            return _auth_provider_token(self.config.auth_provider)
        return None

    def _exec_credentials(self) -> dict[str, Any] | None:
        if not self.config.exec_config:
            return None
        with self._lock:
            if self._exec_status is None:
                self._exec_status = run_exec_plugin(self.config.exec_config, self.config.cluster_info)
            return self._exec_status


def run_exec_plugin(spec: dict[str, Any], cluster_info: dict[str, Any]) -> dict[str, Any]:
    """Run a client-go exec credential plugin and return the ExecCredential's status."""
    command = spec.get("command")
    api_version = spec.get("apiVersion") or ""
    if not command:
        raise ConfigError("exec plugin: the kubeconfig user has no exec command")
    if api_version not in EXEC_API_VERSIONS:
        raise ConfigError(f"exec plugin: invalid apiVersion {api_version!r} (use {' or '.join(EXEC_API_VERSIONS)})")
    mode = spec.get("interactiveMode") or ("IfAvailable" if api_version.endswith("v1beta1") else "")
    if api_version.endswith("/v1") and mode not in ("Never", "IfAvailable", "Always"):
        raise ConfigError("exec plugin: interactiveMode must be Never, IfAvailable or Always for client.authentication.k8s.io/v1")
    interactive = mode != "Never" and sys.stdin is not None and sys.stdin.isatty()
    if mode == "Always" and not interactive:
        raise ConfigError(f"exec plugin {command!r} needs an interactive terminal (interactiveMode: Always)")
    exec_info: dict[str, Any] = {"apiVersion": api_version, "kind": "ExecCredential", "spec": {"interactive": interactive}}
    if spec.get("provideClusterInfo"):
        exec_info["spec"]["cluster"] = _camel_cluster_info(cluster_info)
    env = dict(os.environ)
    for item in spec.get("env") or []:
        if isinstance(item, dict) and item.get("name"):
            env[str(item["name"])] = str(item.get("value", ""))
    env["KUBERNETES_EXEC_INFO"] = json.dumps(exec_info)
    argv = [str(command), *[str(a) for a in spec.get("args") or []]]
    try:
        proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stdin=None if interactive else subprocess.DEVNULL,
                              check=False)
    except FileNotFoundError:
        hint = spec.get("installHint")
        raise ConfigError(f"exec plugin: executable {command} not found" + (f"; {' '.join(hint.split())}" if hint else "")) from None
    except OSError as exc:
        raise ConfigError(f"exec plugin {command}: {exc.strerror or exc}") from None
    if proc.returncode != 0:
        raise ConfigError(f"getting credentials: exec: executable {command} failed with exit code {proc.returncode}")
    try:
        doc = json.loads(proc.stdout.decode("utf-8"))
    except ValueError:
        raise ConfigError(f"exec plugin {command} printed something that is not an ExecCredential (JSON)") from None
    status = doc.get("status") if isinstance(doc, dict) else None
    if not isinstance(status, dict) or not (status.get("token") or status.get("clientCertificateData")):
        raise ConfigError(f"exec plugin {command} returned no token and no client certificate")
    return status


def _camel_cluster_info(info: dict[str, Any]) -> dict[str, Any]:
    mapping = {"certificate-authority-data": "certificate-authority-data", "tls-server-name": "tls-server-name",
               "insecure-skip-tls-verify": "insecure-skip-tls-verify", "proxy-url": "proxy-url"}
    out = {"server": info.get("server")}
    for key, target in mapping.items():
        if key in info:
            out[target] = info[key]
    if "config" in info:
        out["config"] = info["config"]
    return out


def _auth_provider_token(provider: dict[str, Any]) -> str | None:
    name = provider.get("name")
    cfg = provider.get("config") or {}
    if name == "oidc":
        if not cfg.get("id-token"):
            raise ConfigError("the oidc auth-provider has no id-token; log in with your OIDC helper (e.g. kubelogin) first")
        return str(cfg["id-token"])
    if name in ("gcp", "azure"):
        raise ConfigError(
            f"the {name} auth-provider was removed from kubectl in 1.26; switch the kubeconfig to the exec plugin "
            + ("gke-gcloud-auth-plugin" if name == "gcp" else "kubelogin")
        )
    raise ConfigError(f"unsupported auth-provider {name!r} in the kubeconfig")

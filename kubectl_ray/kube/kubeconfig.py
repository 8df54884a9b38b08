"""kubeconfig loading as kubectl does it: KUBECONFIG merging, context selection, flag overrides.

The result is a `ConnectionConfig`: everything a transport needs to reach and authenticate to
the API server, with file references already read and relative paths resolved.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import Any

from kubectl_ray.errors import KubectlRayError, UsageError
from kubectl_ray.kube.flags import ConnectionFlags

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
_PATH_KEYS_CLUSTER = ("certificate-authority",)
_PATH_KEYS_USER = ("client-certificate", "client-key", "tokenFile")


class ConfigError(KubectlRayError):
    """The kubeconfig or connection flags cannot be used."""


@dataclass
class ConnectionConfig:
    server: str
    namespace: str = "default"
    namespace_explicit: bool = False
    context: str | None = None
    cluster_name: str | None = None
    user_name: str | None = None
    ca_data: bytes | None = None
    insecure: bool = False
    tls_server_name: str | None = None
    client_cert_data: bytes | None = None
    client_key_data: bytes | None = None
    token: str | None = None
    token_file: str | None = None
    username: str | None = None
    password: str | None = None
    exec_config: dict[str, Any] | None = None
    auth_provider: dict[str, Any] | None = None
    impersonate_user: str | None = None
    impersonate_groups: tuple[str, ...] = ()
    impersonate_uid: str | None = None
    impersonate_extra: dict[str, list[str]] = field(default_factory=dict)
    proxy_url: str | None = None
    timeout: float | None = None  # per request; None = no timeout (kubectl's default "0")
    cluster_info: dict[str, Any] = field(default_factory=dict)  # for exec plugins' provideClusterInfo


def kubeconfig_paths(flags: ConnectionFlags) -> tuple[list[str], bool]:
    """The files to merge, and whether the user named them explicitly."""
    if flags.kubeconfig:
        return [os.path.expanduser(flags.kubeconfig)], True
    env = os.environ.get("KUBECONFIG")
    if env:
        return [os.path.expanduser(p) for p in env.split(os.pathsep) if p], False
    return [os.path.join(os.path.expanduser("~"), ".kube", "config")], False


def load_merged(paths: list[str], explicit: bool) -> dict[str, Any]:
    """Merge kubeconfig files as client-go does: the first file to define a name wins."""
    merged: dict[str, Any] = {"clusters": {}, "users": {}, "contexts": {}, "current-context": ""}
    for path in paths:
        if not os.path.exists(path):
            if explicit:
                raise ConfigError(f'kubeconfig file "{path}" does not exist (from --kubeconfig)')
            continue
        doc = _read_yaml(path)
        base = os.path.dirname(os.path.abspath(path))
        for section, key in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
            for entry in doc.get(section) or []:
                if not isinstance(entry, dict) or not entry.get("name"):
                    continue
                body = dict(entry.get(key) or {})
                _resolve_paths(body, base, section)
                body.setdefault("_source", path)
                merged[section].setdefault(str(entry["name"]), body)
        if not merged["current-context"] and doc.get("current-context"):
            merged["current-context"] = str(doc["current-context"])
    return merged


def _read_yaml(path: str) -> dict[str, Any]:
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except OSError as exc:
        raise ConfigError(f'error loading config file "{path}": {exc.strerror or exc}') from None
    except yaml.YAMLError as exc:
        raise ConfigError(f'error loading config file "{path}": not valid YAML: {_yaml_problem(exc)}') from None
    if not isinstance(doc, dict):
        raise ConfigError(f'error loading config file "{path}": expected a kubeconfig mapping')
    return doc


def _yaml_problem(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"line {mark.line + 1}: {problem}" if mark is not None else problem


def _resolve_paths(body: dict[str, Any], base: str, section: str) -> None:
    keys = _PATH_KEYS_CLUSTER if section == "clusters" else _PATH_KEYS_USER if section == "users" else ()
    for key in keys:
        value = body.get(key)
        if value and not os.path.isabs(os.path.expanduser(value)):
            body[key] = os.path.join(base, value)
        elif value:
            body[key] = os.path.expanduser(value)
    exec_cfg = body.get("exec")
    if isinstance(exec_cfg, dict):
        command = exec_cfg.get("command") or ""
        # client-go: a command containing a path separator is relative to the kubeconfig file.
        if command and os.sep in command and not os.path.isabs(command):
            exec_cfg = dict(exec_cfg, command=os.path.join(base, command))
        body["exec"] = exec_cfg


def resolve_connection(flags: ConnectionFlags) -> ConnectionConfig:
    """Select the context, apply the flags over it and read every referenced file."""
    timeout = _request_timeout(flags.request_timeout)
    paths, explicit = kubeconfig_paths(flags)
    merged = load_merged(paths, explicit)
    if not any(merged[s] for s in ("clusters", "users", "contexts")) and not flags.server:
        in_cluster = _in_cluster_config(flags, timeout)
        if in_cluster is not None:
            return in_cluster
    context_name = flags.context or merged["current-context"]
    context: dict[str, Any] = {}
    if context_name:
        if context_name not in merged["contexts"]:
            raise ConfigError(f'context "{context_name}" does not exist')
        context = merged["contexts"][context_name]
    cluster_name = flags.cluster or context.get("cluster")
    user_name = flags.user or context.get("user")
    cluster: dict[str, Any] = {}
    if cluster_name:
        if cluster_name not in merged["clusters"]:
            if not flags.server:
                raise ConfigError(f'cluster "{cluster_name}" does not exist in the kubeconfig')
        else:
            cluster = merged["clusters"][cluster_name]
    user: dict[str, Any] = dict(merged["users"].get(user_name or "", {}))
    server = flags.server or cluster.get("server")
    if not server:
        where = os.pathsep.join(paths)
        if not context_name:
            raise ConfigError(
                f"no Kubernetes cluster is configured: no current context in {where} "
                "(pass --context or --server, or run 'kubectl config use-context NAME')"
            )
        raise ConfigError(f'context "{context_name}" has no server (cluster "{cluster_name}") in {where}')
    if "://" not in server:
        server = "https://" + server
    namespace = flags.namespace or context.get("namespace") or "default"
    config = ConnectionConfig(
        server=server.rstrip("/"),
        namespace=namespace,
        namespace_explicit=bool(flags.namespace),
        context=context_name or None,
        cluster_name=cluster_name,
        user_name=user_name,
        timeout=timeout,
        proxy_url=cluster.get("proxy-url"),
    )
    _apply_tls(config, cluster, flags)
    _apply_auth(config, user, flags)
    config.cluster_info = _cluster_info(config, cluster)
    return config


def _request_timeout(value: str | None) -> float | None:
    from kubectl_ray.parsing import parse_duration

    if not value:
        return None
    seconds = parse_duration("--request-timeout", value, bare_seconds=True)
    return seconds or None


def _apply_tls(config: ConnectionConfig, cluster: dict[str, Any], flags: ConnectionFlags) -> None:
    config.insecure = bool(flags.insecure_skip_tls_verify or cluster.get("insecure-skip-tls-verify"))
    config.tls_server_name = flags.tls_server_name or cluster.get("tls-server-name") or None
    if flags.insecure_skip_tls_verify:
        return  # kubectl drops the CA when told to skip verification
    if flags.certificate_authority:
        config.ca_data = _read_file(flags.certificate_authority, "--certificate-authority")
    elif cluster.get("certificate-authority-data"):
        config.ca_data = _b64(cluster["certificate-authority-data"], "certificate-authority-data")
    elif cluster.get("certificate-authority"):
        config.ca_data = _read_file(cluster["certificate-authority"], "certificate-authority")


def _apply_auth(config: ConnectionConfig, user: dict[str, Any], flags: ConnectionFlags) -> None:
    if flags.client_certificate:
        config.client_cert_data = _read_file(flags.client_certificate, "--client-certificate")
    elif user.get("client-certificate-data"):
        config.client_cert_data = _b64(user["client-certificate-data"], "client-certificate-data")
    elif user.get("client-certificate"):
        config.client_cert_data = _read_file(user["client-certificate"], "client-certificate")
    if flags.client_key:
        config.client_key_data = _read_file(flags.client_key, "--client-key")
    elif user.get("client-key-data"):
        config.client_key_data = _b64(user["client-key-data"], "client-key-data")
    elif user.get("client-key"):
        config.client_key_data = _read_file(user["client-key"], "client-key")
    if bool(config.client_cert_data) != bool(config.client_key_data):
        raise ConfigError("a client certificate needs a client key and a key needs a certificate")
    if flags.token:
        config.token = flags.token  # an explicit token replaces every other credential
    else:
        config.token = user.get("token") or None
        config.token_file = user.get("tokenFile") or None
        config.username = user.get("username") or None
        config.password = user.get("password") or None
        config.exec_config = user.get("exec") or None
        config.auth_provider = user.get("auth-provider") or None
    config.impersonate_user = flags.as_user or user.get("as") or None
    config.impersonate_groups = tuple(flags.as_groups) or tuple(user.get("as-groups") or ())
    config.impersonate_uid = flags.as_uid or user.get("as-uid") or None
    extra = user.get("as-user-extra") or {}
    config.impersonate_extra = {str(k): [str(x) for x in (v or [])] for k, v in extra.items()}
    if config.impersonate_groups and not config.impersonate_user:
        raise UsageError("--as-group requires --as (impersonating groups needs a user)")


def _cluster_info(config: ConnectionConfig, cluster: dict[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = {"server": config.server}
    if config.tls_server_name:
        info["tls-server-name"] = config.tls_server_name
    if config.insecure:
        info["insecure-skip-tls-verify"] = True
    if config.ca_data:
        info["certificate-authority-data"] = base64.b64encode(config.ca_data).decode()
    if cluster.get("proxy-url"):
        info["proxy-url"] = cluster["proxy-url"]
    ext = (cluster.get("extensions") or [])
    for item in ext:
        if isinstance(item, dict) and item.get("name") == "client.authentication.k8s.io/exec":
            info["config"] = item.get("extension")
    return info


def _read_file(path: str, what: str) -> bytes:
    try:
        with open(os.path.expanduser(path), "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} file {path!r}: {exc.strerror or exc}") from None


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=False)
    except (ValueError, TypeError):
        raise ConfigError(f"{what} in the kubeconfig is not valid base64") from None


def _in_cluster_config(flags: ConnectionFlags, timeout: float | None) -> ConnectionConfig | None:
    """The service-account config kubectl uses inside a pod when no kubeconfig exists."""
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
    token_path = os.path.join(SERVICE_ACCOUNT_DIR, "token")
    if not host or not port or not os.path.exists(token_path):
        return None
    if ":" in host:
        host = f"[{host}]"
    ns_path = os.path.join(SERVICE_ACCOUNT_DIR, "namespace")
    namespace = flags.namespace
    if not namespace and os.path.exists(ns_path):
        with open(ns_path, encoding="utf-8") as fh:
            namespace = fh.read().strip()
    ca_path = os.path.join(SERVICE_ACCOUNT_DIR, "ca.crt")
    return ConnectionConfig(
        server=f"https://{host}:{port}",
        namespace=namespace or "default",
        namespace_explicit=bool(flags.namespace),
        token=flags.token,
        token_file=None if flags.token else token_path,
        ca_data=_read_file(ca_path, "service account CA") if os.path.exists(ca_path) else None,
        insecure=flags.insecure_skip_tls_verify,
        impersonate_user=flags.as_user,
        impersonate_groups=tuple(flags.as_groups),
        timeout=timeout,
    )


def resolve_namespace(flags: ConnectionFlags) -> tuple[str, bool]:
    """Namespace only (flag > context > default) without reading any credential files."""
    if flags.namespace:
        return flags.namespace, True
    paths, explicit = kubeconfig_paths(flags)
    merged = load_merged(paths, explicit)
    context = merged["contexts"].get(flags.context or merged["current-context"] or "", {})
    return context.get("namespace") or "default", False

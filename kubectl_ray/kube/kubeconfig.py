"""kubeconfig loading exactly as kubectl (client-go's clientcmd) does it.

Loading: `--kubeconfig` alone, else every file in KUBECONFIG (duplicates and missing files skipped),
else ~/.kube/config; the first file to define a cluster/user/context name wins, the first
current-context wins; relative paths resolve against the file that holds them.

Selection and overrides: `--context` picks the context; `--cluster`, `--user`, `-n` override its
parts; the remaining flags are merged over the chosen cluster and user, with client-go's two special
rules (`--insecure-skip-tls-verify`/`--certificate-authority` replace all of the kubeconfig's CA
settings; `--server`/`--tls-server-name` replace its tls-server-name). Then client-go's validation
(ConfirmUsable) and, only for https servers, the user's credentials: kubectl never sends a token,
password, client certificate or exec-plugin credential over plain http.

In a pod with no usable kubeconfig, the service account (in-cluster config) is used.

Deliberate differences from kubectl (README, "Differences from kubectl"): no server configured is an
error instead of a silent dial to localhost:8080; no interactive username/password prompt (an https
user without credentials sends anonymous requests, a context naming a missing user is an error);
in-cluster config also applies with --as/--request-timeout.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

from kubectl_ray.errors import UsageError
from kubectl_ray.kube.errors import ConfigError
from kubectl_ray.kube.flags import ConnectionFlags
from kubectl_ray.kube.kubeconfig_file import (MAX_REFERENCED_FILE_BYTES, AuthProviderSpec, Cluster, Context,
                                              ExecSpec, KubeconfigFile, User, load_kubeconfig_file, read_capped)
from kubectl_ray.kube.server_url import ServerURL, parse_server

__all__ = ["ConfigError", "ConnectionConfig", "resolve_connection", "resolve_namespace", "kubeconfig_paths",
           "load_merged", "service_account_dir"]

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
SERVICE_ACCOUNT_DIR_ENV = "KUBECTL_RAY_SERVICE_ACCOUNT_DIR"  # internal: tests point it at a temporary folder


@dataclass
class ConnectionConfig:
    """Everything a transport needs: where, how to verify, who we are, with files already read."""

    server: str  # the server as configured (after client-go's cleanup), for messages and exec plugins
    endpoint: ServerURL
    namespace: str = "default"
    namespace_explicit: bool = False
    context: str | None = None
    cluster_name: str | None = None
    user_name: str | None = None
    # server identification (https only)
    ca_data: bytes | None = None
    insecure: bool = False
    tls_server_name: str | None = None
    # user identification (https only); never in a repr, so never in a message or a traceback's locals
    client_cert_data: bytes | None = field(default=None, repr=False)
    client_key_data: bytes | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    token_file: str | None = None  # re-read while the process runs (rotated tokens), wins over `token`
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    exec_spec: ExecSpec | None = field(default=None, repr=False)
    auth_provider: AuthProviderSpec | None = field(default=None, repr=False)
    exec_cluster: dict[str, Any] | None = field(default=None, repr=False)  # KUBERNETES_EXEC_INFO's spec.cluster
    # sent over http and https
    impersonate_user: str | None = None
    impersonate_uid: str | None = None
    impersonate_groups: tuple[str, ...] = ()
    impersonate_extra: dict[str, tuple[str, ...]] = field(default_factory=dict)
    proxy_url: str | None = field(default=None, repr=False)  # may hold a password; env proxies are chosen later
    timeout: float | None = None  # whole-request deadline; None = wait forever (kubectl's default "0")
    in_cluster: bool = False


@dataclass
class _Merged:
    """The merged kubeconfig files."""

    files: list[str]
    explicit: bool
    clusters: dict[str, Cluster] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    contexts: dict[str, Context] = field(default_factory=dict)
    current_context: str = ""


@dataclass
class _Selection:
    context_name: str
    context: Context
    cluster_name: str
    cluster: Cluster
    user_name: str
    user: User
    user_found: bool


# --- loading -------------------------------------------------------------------------------------


def kubeconfig_paths(flags: ConnectionFlags) -> tuple[list[str], bool]:
    """The files to merge, and whether the user named one explicitly (--kubeconfig)."""
    if flags.kubeconfig:
        return [flags.kubeconfig], True
    env = os.environ.get("KUBECONFIG")
    if env:
        return list(dict.fromkeys(p for p in env.split(os.pathsep) if p)), False
    return [os.path.join(os.path.expanduser("~"), ".kube", "config")], False


def _load(paths: list[str], explicit: bool) -> _Merged:
    merged = _Merged(paths, explicit)
    if explicit and not os.path.exists(paths[0]):
        raise ConfigError(f'kubeconfig file "{paths[0]}" does not exist (from --kubeconfig)')
    for path in paths:
        try:
            doc = load_kubeconfig_file(path)
        except FileNotFoundError:
            continue
        _resolve_paths(doc)
        for section in ("clusters", "users", "contexts"):
            target = getattr(merged, section)
            for name, entry in getattr(doc, section).items():
                target.setdefault(name, entry)
        merged.current_context = merged.current_context or doc.current_context
    return merged


def load_merged(paths: list[str], explicit: bool) -> dict[str, Any]:
    """The merged files as plain data (name -> fields) for shell completion."""
    merged = _load(paths, explicit)
    return {
        "clusters": {n: {"server": c.server} for n, c in merged.clusters.items()},
        "users": {n: {} for n in merged.users},
        "contexts": {n: {"cluster": c.cluster, "user": c.user, "namespace": c.namespace}
                     for n, c in merged.contexts.items()},
        "current-context": merged.current_context,
    }


def _resolve_paths(doc: KubeconfigFile) -> None:
    """client-go's ResolveLocalPaths: relative file references are relative to their kubeconfig."""
    base = os.path.dirname(os.path.abspath(doc.path))

    def resolve(path: str) -> str:
        return os.path.join(base, path) if path and not os.path.isabs(path) else path

    for cluster in doc.clusters.values():
        cluster.ca_file = resolve(cluster.ca_file)
    for user in doc.users.values():
        user.client_cert_file = resolve(user.client_cert_file)
        user.client_key_file = resolve(user.client_key_file)
        user.token_file = resolve(user.token_file)
        if user.exec and os.sep in user.exec.command:  # a bare name is looked up on PATH
            user.exec = replace(user.exec, command=resolve(user.exec.command))


# --- selection and flag overrides (clientcmd DirectClientConfig) -----------------------------------


def _select(merged: _Merged, flags: ConnectionFlags) -> _Selection:
    if flags.user and flags.user not in merged.users:
        raise ConfigError(f'auth info "{flags.user}" does not exist')
    context_name = flags.context or merged.current_context
    if flags.context and flags.context not in merged.contexts:
        raise ConfigError(f'context "{flags.context}" does not exist')
    context = replace(merged.contexts.get(context_name) or Context())
    context.cluster = flags.cluster or context.cluster
    context.user = flags.user or context.user
    context.namespace = flags.namespace or context.namespace

    user = _override_user(replace(merged.users.get(context.user) or User()), flags)

    if flags.cluster and flags.cluster not in merged.clusters:
        raise ConfigError(f'cluster "{flags.cluster}" does not exist')
    cluster = _override_cluster(replace(merged.clusters.get(context.cluster) or Cluster()), flags)
    return _Selection(context_name, context, context.cluster, cluster, context.user, user,
                      user_found=context.user in merged.users)


def _override_user(user: User, flags: ConnectionFlags) -> User:
    user.client_cert_file = flags.client_certificate or user.client_cert_file
    user.client_key_file = flags.client_key or user.client_key_file
    user.token = flags.token or user.token
    user.impersonate = flags.as_user or user.impersonate
    user.impersonate_uid = flags.as_uid or user.impersonate_uid
    user.impersonate_groups = tuple(flags.as_groups) or user.impersonate_groups
    return user


def _override_cluster(cluster: Cluster, flags: ConnectionFlags) -> Cluster:
    cluster.server = flags.server or cluster.server
    cluster.tls_server_name = flags.tls_server_name or cluster.tls_server_name
    if flags.insecure_skip_tls_verify or flags.certificate_authority:
        # a CA flag turns verification back on; the insecure flag drops the kubeconfig's CA
        cluster.insecure = flags.insecure_skip_tls_verify
        cluster.ca_file = flags.certificate_authority or ""
        cluster.ca_data = b""
    if flags.tls_server_name or flags.server:
        cluster.tls_server_name = flags.tls_server_name or ""  # --server drops the kubeconfig's name
    return cluster


# --- validation (clientcmd ConfirmUsable) ----------------------------------------------------------


def _validate(merged: _Merged, sel: _Selection) -> None:
    problems: list[str] = []
    if sel.context_name and sel.context_name not in merged.contexts:
        problems.append(f"context was not found for specified context: {sel.context_name}")
    problems += _user_problems(sel.user_name, sel.user)
    problems += _cluster_problems(sel.cluster_name, sel.cluster)
    if problems:
        raise ConfigError("invalid configuration: " + "; ".join(problems))


def _user_problems(name: str, user: User) -> list[str]:
    problems = []
    methods = (["token"] if user.token else []) + (["basicAuth"] if user.username or user.password else [])
    if user.client_cert_file or user.client_cert_data:
        if user.client_cert_file and user.client_cert_data:
            problems.append(f"client-cert-data and client-cert are both specified for {name}")
        if user.client_key_file and user.client_key_data:
            problems.append(f"client-key-data and client-key are both specified for {name}")
        if not user.client_key_file and not user.client_key_data:
            problems.append(f"client-key-data or client-key must be specified for {name} to use the clientCert "
                            "authentication method")
        for path, what in ((user.client_cert_file, "client-cert"), (user.client_key_file, "client-key")):
            if path and not _readable(path):
                problems.append(f"unable to read {what} {path} for {name}")
    if user.exec is not None:
        problems += _exec_problems(name, user)
    if len(methods) > 1:
        problems.append(f"more than one authentication method found for {name}; found {methods}, only one is allowed")
    if (user.impersonate_uid or user.impersonate_groups or user.impersonate_extra) and not user.impersonate:
        problems.append(f"requesting uid, groups or user-extra for {name} without impersonating a user "
                        "(--as-uid and --as-group need --as)")
    return problems


def _exec_problems(name: str, user: User) -> list[str]:
    spec = user.exec
    assert spec is not None
    problems = []
    if user.auth_provider is not None:
        problems.append(f"authProvider cannot be provided in combination with an exec plugin for {name}")
    if not spec.command:
        problems.append(f"command must be specified for {name} to use exec authentication plugin")
    if not spec.api_version:
        problems.append(f"apiVersion must be specified for {name} to use exec authentication plugin")
    if any(not env_name for env_name, _ in spec.env):
        problems.append(f"env variable name must be specified for {name} to use exec authentication plugin")
    if not spec.interactive_mode:
        problems.append(f"interactiveMode must be specified for {name} to use exec authentication plugin")
    elif spec.interactive_mode not in ("Never", "IfAvailable", "Always"):
        problems.append(f'invalid interactiveMode for {name}: "{spec.interactive_mode}"')
    return problems


def _cluster_problems(name: str, cluster: Cluster) -> list[str]:
    from kubectl_ray.kube.proxy import parse_proxy_url

    problems = []
    if cluster.proxy_url:
        try:
            parse_proxy_url(cluster.proxy_url)
        except ValueError as exc:
            problems.append(f"invalid 'proxy-url' for cluster \"{name}\": {exc}")
    if cluster.ca_file and cluster.ca_data:
        problems.append(f"certificate-authority-data and certificate-authority are both specified for {name}")
    if cluster.ca_file and not _readable(cluster.ca_file):
        problems.append(f"unable to read certificate-authority {cluster.ca_file} for {name}")
    return problems


def _readable(path: str) -> bool:
    try:
        with open(path, "rb"):
            return True
    except OSError:
        return False


# --- the result ------------------------------------------------------------------------------------


def resolve_connection(flags: ConnectionFlags) -> ConnectionConfig:
    """Select the context, apply the flags over it and read every file it names (no request yet)."""
    timeout = parse_request_timeout(flags.request_timeout)
    merged = _load(*kubeconfig_paths(flags))
    sel = _select(merged, flags)
    _validate(merged, sel)
    server = sel.cluster.server or os.environ.get("KUBERNETES_MASTER", "")
    if _is_default(sel, server, timeout) and in_cluster_possible():
        return _in_cluster_config(flags, timeout)
    if not server:
        raise ConfigError(_no_server_message(merged, sel))
    endpoint = parse_server(server)
    namespace, explicit = _namespace(merged, sel, flags)
    config = ConnectionConfig(
        server=endpoint.configured, endpoint=endpoint, namespace=namespace, namespace_explicit=explicit,
        context=sel.context_name or None, cluster_name=sel.cluster_name or None, user_name=sel.user_name or None,
        proxy_url=sel.cluster.proxy_url or None, timeout=timeout,
    )
    if sel.user.impersonate:
        _apply_impersonation(config, sel.user)
    if endpoint.secure:  # client-go reads credentials and server identification only for TLS
        _apply_server_identification(config, sel.cluster)
        _apply_user_identification(config, sel)
        if config.exec_spec and config.exec_spec.provide_cluster_info:
            config.exec_cluster = exec_cluster_info(config, sel.cluster)
    return config


def _is_default(sel: _Selection, server: str, timeout: float | None) -> bool:
    """client-go uses the service account only when the kubeconfig and flags add nothing to its
    default config: no server (or the default one), no timeout, impersonation or proxy."""
    default = os.environ.get("KUBERNETES_MASTER") or "http://localhost:8080"
    return (server in ("", default) and not timeout and not sel.user.impersonate and not sel.cluster.proxy_url
            and not sel.cluster.disable_compression)


def _no_server_message(merged: _Merged, sel: _Selection) -> str:
    where = os.pathsep.join(merged.files) or "the kubeconfig"
    if not sel.context_name:
        return (f"no Kubernetes cluster is configured: no current context in {where} "
                "(pass --context or --server, or run 'kubectl config use-context NAME')")
    if not sel.cluster_name:
        return f'context "{sel.context_name}" names no cluster in {where}'
    if sel.cluster_name not in merged.clusters:
        return f'cluster "{sel.cluster_name}" of context "{sel.context_name}" does not exist in {where}'
    return f'cluster "{sel.cluster_name}" has no server in {where}'


def _apply_impersonation(config: ConnectionConfig, user: User) -> None:
    config.impersonate_user = user.impersonate
    config.impersonate_uid = user.impersonate_uid or None
    config.impersonate_groups = user.impersonate_groups
    config.impersonate_extra = dict(user.impersonate_extra)


def _apply_server_identification(config: ConnectionConfig, cluster: Cluster) -> None:
    config.insecure = cluster.insecure
    config.tls_server_name = cluster.tls_server_name or None
    config.ca_data = cluster.ca_data or (_read(cluster.ca_file, "certificate-authority") if cluster.ca_file else None)
    if config.ca_data and config.insecure:
        raise ConfigError("specifying a root certificates file with the insecure flag is not allowed")


def _apply_user_identification(config: ConnectionConfig, sel: _Selection) -> None:
    user = sel.user
    if user.token:
        config.token, config.token_file = user.token, user.token_file or None
    elif user.token_file:
        config.token, config.token_file = _read(user.token_file, "tokenFile").decode("utf-8", "replace"), user.token_file
    if user.client_cert_file or user.client_cert_data:
        config.client_cert_data = user.client_cert_data or _read(user.client_cert_file, "client-certificate")
        config.client_key_data = user.client_key_data or _read(user.client_key_file, "client-key")
    if user.username or user.password:
        config.username, config.password = user.username, user.password
    config.auth_provider = user.auth_provider
    config.exec_spec = user.exec
    if sel.user_name and not sel.user_found and not _has_credentials(config):
        raise ConfigError(f'user "{sel.user_name}" of context "{sel.context_name}" does not exist in the kubeconfig')


def _has_credentials(config: ConnectionConfig) -> bool:
    return bool(config.token or config.token_file or config.username or config.client_cert_data
                or config.exec_spec or config.auth_provider)


def exec_cluster_info(config: ConnectionConfig, cluster: Cluster) -> dict[str, Any]:
    """client-go's ConfigToExecCluster, as the JSON an exec plugin reads from KUBERNETES_EXEC_INFO."""
    import base64

    info: dict[str, Any] = {"server": config.server}
    if config.tls_server_name:
        info["tls-server-name"] = config.tls_server_name
    if config.insecure:
        info["insecure-skip-tls-verify"] = True
    if config.ca_data:
        info["certificate-authority-data"] = base64.b64encode(config.ca_data).decode()
    if config.proxy_url:
        info["proxy-url"] = config.proxy_url
    if cluster.disable_compression:
        info["disable-compression"] = True
    info["config"] = cluster.exec_extension
    return info


def _read(path: str, what: str) -> bytes:
    try:
        return read_capped(path, MAX_REFERENCED_FILE_BYTES, f'{what} file "{path}"')
    except OSError as exc:
        raise ConfigError(f'cannot read {what} file "{path}": {exc.strerror or exc}') from None


def parse_request_timeout(value: str | None) -> float | None:
    """clientcmd.ParseTimeout: whole seconds, or a Go duration; 0 (the default) means no timeout."""
    from kubectl_ray.parsing import parse_duration

    text = (value or "").strip()
    if not text:
        return None
    if text.isdigit():
        return float(text) or None
    try:
        seconds = parse_duration("--request-timeout", text.lstrip("-"))
    except UsageError:
        raise UsageError(f"invalid --request-timeout {value!r}: must be a whole number of seconds or a duration "
                         "with a unit (e.g. 1s, 2m, 3h)") from None
    return None if text.startswith("-") or not seconds else seconds


# --- namespace -----------------------------------------------------------------------------------


def _namespace(merged: _Merged, sel: _Selection, flags: ConnectionFlags) -> tuple[str, bool]:
    """DeferredLoadingClientConfig.Namespace: flag > context > (in a pod) the pod's namespace > default."""
    if flags.namespace:
        return flags.namespace, True
    namespace = sel.context.namespace or "default"
    if namespace != "default" or sel.context.namespace or not in_cluster_possible():
        return namespace, False
    return _in_cluster_namespace(), False


def resolve_namespace(flags: ConnectionFlags) -> tuple[str, bool]:
    """Namespace only (flag > context > pod > default), reading no credential files."""
    if flags.namespace:
        return flags.namespace, True
    merged = _load(*kubeconfig_paths(flags))
    context_name = flags.context or merged.current_context
    context = merged.contexts.get(context_name) or Context()
    if context.namespace:
        return context.namespace, False
    return (_in_cluster_namespace() if in_cluster_possible() else "default"), False


# --- in-cluster (rest.InClusterConfig + clientcmd's inClusterClientConfig) ----------------------


def service_account_dir() -> str:
    return os.environ.get(SERVICE_ACCOUNT_DIR_ENV) or SERVICE_ACCOUNT_DIR


def in_cluster_possible() -> bool:
    token = os.path.join(service_account_dir(), "token")
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST") and os.environ.get("KUBERNETES_SERVICE_PORT")
                and os.path.exists(token) and not os.path.isdir(token))


def _in_cluster_namespace() -> str:
    if os.environ.get("POD_NAMESPACE"):
        return os.environ["POD_NAMESPACE"]
    try:
        namespace = _read(os.path.join(service_account_dir(), "namespace"), "service account namespace")
    except ConfigError:
        return "default"
    return namespace.decode("utf-8", "replace").strip() or "default"


def _in_cluster_config(flags: ConnectionFlags, timeout: float | None) -> ConnectionConfig:
    """The pod's service account: only --token, --certificate-authority and -n apply, as in kubectl."""
    folder = service_account_dir()
    host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"]
    endpoint = parse_server("https://" + ServerURL.join_host_port(host, port))
    token_path = os.path.join(folder, "token")
    config = ConnectionConfig(
        server=endpoint.configured, endpoint=endpoint, timeout=timeout, in_cluster=True,
        namespace=flags.namespace or _in_cluster_namespace(), namespace_explicit=bool(flags.namespace),
        token=flags.token or _read(token_path, "service account token").decode("utf-8", "replace"),
        token_file=None if flags.token else token_path,
    )
    if flags.certificate_authority:
        config.ca_data = _read(flags.certificate_authority, "certificate-authority")
    else:
        config.ca_data = _pem_or_none(os.path.join(folder, "ca.crt"))
    return config


def _pem_or_none(path: str) -> bytes | None:
    """client-go logs and ignores an unreadable service-account CA (then the system roots apply)."""
    try:
        data = _read(path, "service account CA")
    except ConfigError:
        return None
    return data if b"-----BEGIN CERTIFICATE-----" in data else None

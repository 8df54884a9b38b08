"""One kubeconfig file, read with a size cap and type-checked field by field as client-go decodes it.

client-go decodes a kubeconfig strictly by type but leniently by presence: an unknown key is
ignored, `null` is the field's zero value, and a value of the wrong type fails the whole file
with `error loading config file "PATH": json: cannot unmarshal ...`. `_Node` is the one accessor
that does this checking, so the code above it only ever sees strings, booleans, bytes, lists of
strings and the dataclasses below.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from kubectl_ray.kube.errors import ConfigError

MAX_KUBECONFIG_BYTES = 16 * 1024 * 1024  # real kubeconfigs with hundreds of clusters stay far below this
MAX_REFERENCED_FILE_BYTES = 4 * 1024 * 1024  # token, CA bundle, client certificate or key
_MAX_EXTENSION_NODES = 10_000  # an exec extension is a small object; aliases must not blow it up

EXEC_EXTENSION = "client.authentication.k8s.io/exec"  # cluster extension handed to exec plugins

T = TypeVar("T")


@dataclass(frozen=True)
class ExecSpec:
    command: str = ""
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    api_version: str = ""
    install_hint: str = ""
    provide_cluster_info: bool = False
    interactive_mode: str = ""


@dataclass(frozen=True)
class AuthProviderSpec:
    name: str = ""
    config: dict[str, str] = field(default_factory=dict)


@dataclass
class Cluster:
    server: str = ""
    tls_server_name: str = ""
    insecure: bool = False
    ca_file: str = ""
    ca_data: bytes = b""
    proxy_url: str = ""
    disable_compression: bool = False
    exec_extension: Any = None  # the `client.authentication.k8s.io/exec` extension, as JSON-able data
    origin: str = ""  # the file it came from (relative paths are resolved against it)


@dataclass
class User:
    client_cert_file: str = ""
    client_cert_data: bytes = b""
    client_key_file: str = ""
    client_key_data: bytes = b""
    token: str = ""
    token_file: str = ""
    impersonate: str = ""
    impersonate_uid: str = ""
    impersonate_groups: tuple[str, ...] = ()
    impersonate_extra: dict[str, tuple[str, ...]] = field(default_factory=dict)
    username: str = ""
    password: str = ""
    auth_provider: AuthProviderSpec | None = None
    exec: ExecSpec | None = None
    origin: str = ""


@dataclass
class Context:
    cluster: str = ""
    user: str = ""
    namespace: str = ""
    origin: str = ""


@dataclass
class KubeconfigFile:
    path: str
    clusters: dict[str, Cluster] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    contexts: dict[str, Context] = field(default_factory=dict)
    current_context: str = ""


def read_capped(path: str, limit: int, describe: str) -> bytes:
    """Read at most `limit` bytes; a longer (or endless, e.g. /dev/zero) file is an error, not a hang."""
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ConfigError(f"{describe} is larger than {limit // (1024 * 1024)} MiB; refusing to read it")
    return data


def load_kubeconfig_file(path: str) -> KubeconfigFile:
    """Read, parse and type-check one kubeconfig file (FileNotFoundError propagates: callers skip it)."""
    where = f'error loading config file "{path}"'
    try:
        data = read_capped(path, MAX_KUBECONFIG_BYTES, f"{where}: the file")
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"{where}: {exc.strerror or exc}") from None
    return parse_kubeconfig(data, path)


def parse_kubeconfig(data: bytes, path: str) -> KubeconfigFile:
    doc = _parse_yaml(data, path)
    root = _Node(doc, "", path)
    root.mapping()
    api_version, kind = root.get("apiVersion").string(), root.get("kind").string()
    if api_version not in ("", "v1") or kind not in ("", "Config"):
        raise root.error(f'no kind "{kind or "Config"}" is registered for version "{api_version or "v1"}"')
    root.get("preferences").mapping()
    root.get("extensions").items()
    result = KubeconfigFile(path, current_context=root.get("current-context").string())
    result.clusters = _named(root.get("clusters"), "cluster", lambda n: _cluster(n, path))
    result.users = _named(root.get("users"), "user", lambda n: _user(n, path))
    result.contexts = _named(root.get("contexts"), "context", lambda n: _context(n, path))
    return result


def _parse_yaml(data: bytes, path: str) -> Any:
    import yaml

    if not data:
        return None
    try:
        documents = yaml.load_all(data, Loader=_loader())
        return next(iter(documents), None)  # client-go reads the first document only
    except yaml.YAMLError as exc:
        raise ConfigError(f'error loading config file "{path}": not valid YAML: {_yaml_problem(exc)}') from None
    except RecursionError:
        raise ConfigError(f'error loading config file "{path}": nested too deeply') from None


def _loader() -> Any:
    """YAML as sigs.k8s.io/yaml (go-yaml v2, YAML 1.1) reads it: dates stay strings, and y/Y/n/N are
    booleans like yes/no (so `n: 1` is the key "false", exactly as kubectl sees it)."""
    import re

    import yaml

    global _LOADER
    if _LOADER is None:
        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

        class Loader(base):  # type: ignore[misc, valid-type]
            bool_values = dict(base.bool_values, y=True, n=False)

        Loader.yaml_implicit_resolvers = {
            key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
            for key, resolvers in base.yaml_implicit_resolvers.items()
        }
        Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"), list("yYnN"))
        _LOADER = Loader
    return _LOADER


_LOADER: Any = None


def _yaml_problem(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or str(exc)
    return f"line {mark.line + 1}: {problem}" if mark is not None else str(problem)


class _Node:
    """A value inside a kubeconfig with its position, for messages like client-go's."""

    _TYPE_NAMES = {str: "a string", bool: "a boolean", int: "a number", float: "a number", list: "a list",
                   dict: "a mapping", bytes: "binary data"}

    def __init__(self, value: Any, where: str, source: str) -> None:
        self.value = value
        self.where = where
        self.source = source

    def error(self, problem: str) -> ConfigError:
        at = f"{self.where}: " if self.where else ""
        return ConfigError(f'error loading config file "{self.source}": {at}{problem}')

    def _expect(self, expected: str) -> ConfigError:
        got = self._TYPE_NAMES.get(type(self.value), type(self.value).__name__)
        return self.error(f"expected {expected}, got {got}")

    def get(self, key: str) -> "_Node":
        mapping = self.mapping()
        child = f"{self.where}.{key}" if self.where else key
        return _Node(mapping.get(key), child, self.source)

    def mapping(self) -> dict[Any, Any]:
        if self.value is None:
            return {}
        if not isinstance(self.value, dict):
            raise self._expect("a mapping")
        return self.value

    def items(self) -> list["_Node"]:
        if self.value is None:
            return []
        if not isinstance(self.value, list):
            raise self._expect("a list")
        return [_Node(v, f"{self.where}[{i}]", self.source) for i, v in enumerate(self.value)]

    def string(self) -> str:
        if self.value is None:
            return ""
        if not isinstance(self.value, str):
            raise self._expect("a string")
        return self.value

    def boolean(self) -> bool:
        if self.value is None:
            return False
        if not isinstance(self.value, bool):
            raise self._expect("a boolean (true or false)")
        return self.value

    def base64(self) -> bytes:
        """client-go's []byte fields: standard base64 with padding (line breaks allowed)."""
        text = self.string()
        try:
            return base64.b64decode("".join(text.split("\r\n")).replace("\n", ""), validate=True)
        except (binascii.Error, ValueError):
            raise self.error("not valid base64") from None

    def strings(self) -> tuple[str, ...]:
        return tuple(item.string() for item in self.items())

    def string_map(self) -> dict[str, str]:
        return {self._key(k): _Node(v, f"{self.where}.{k}", self.source).string() for k, v in self.mapping().items()}

    def string_lists(self) -> dict[str, tuple[str, ...]]:
        return {self._key(k): _Node(v, f"{self.where}.{k}", self.source).strings() for k, v in self.mapping().items()}

    def _key(self, key: Any) -> str:
        if not isinstance(key, str):
            raise _Node(key, self.where, self.source)._expect("string keys")
        return key

    def json_value(self) -> Any:
        """Free-form data (extensions), copied with a node budget so YAML aliases cannot explode it."""
        budget = [_MAX_EXTENSION_NODES]

        def copy(value: Any) -> Any:
            budget[0] -= 1
            if budget[0] < 0:
                raise self.error(f"more than {_MAX_EXTENSION_NODES} values")
            if isinstance(value, dict):
                return {_json_key(k): copy(v) for k, v in value.items()}
            if isinstance(value, list):
                return [copy(v) for v in value]
            if isinstance(value, (str, int, float, bool)) or value is None:
                return value
            return str(value)

        return copy(self.value)


def _json_key(key: Any) -> str:
    """A YAML key as the JSON key sigs.k8s.io/yaml makes of it (true/false, not True/False)."""
    if isinstance(key, bool):
        return "true" if key else "false"
    return "null" if key is None else str(key)


def _named(node: _Node, body_key: str, build: Callable[[_Node], T]) -> dict[str, T]:
    """A list of {name, <body_key>} entries as a dict; a name used twice is an error, as in client-go."""
    result: dict[str, T] = {}
    for item in node.items():
        item.mapping()
        name = item.get("name").string()
        if name in result:
            raise item.error(f'duplicate name "{name}" in {node.where}')
        result[name] = build(item.get(body_key))
    return result


def _cluster(node: _Node, origin: str) -> Cluster:
    node.mapping()
    cluster = Cluster(
        server=node.get("server").string(),
        tls_server_name=node.get("tls-server-name").string(),
        insecure=node.get("insecure-skip-tls-verify").boolean(),
        ca_file=node.get("certificate-authority").string(),
        ca_data=node.get("certificate-authority-data").base64(),
        proxy_url=node.get("proxy-url").string(),
        disable_compression=node.get("disable-compression").boolean(),
        origin=origin,
    )
    for ext in node.get("extensions").items():
        ext.mapping()
        if ext.get("name").string() == EXEC_EXTENSION:
            cluster.exec_extension = ext.get("extension").json_value()
    return cluster


def _user(node: _Node, origin: str) -> User:
    node.mapping()
    node.get("extensions").items()
    return User(
        client_cert_file=node.get("client-certificate").string(),
        client_cert_data=node.get("client-certificate-data").base64(),
        client_key_file=node.get("client-key").string(),
        client_key_data=node.get("client-key-data").base64(),
        token=node.get("token").string(),
        token_file=node.get("tokenFile").string(),
        impersonate=node.get("as").string(),
        impersonate_uid=node.get("as-uid").string(),
        impersonate_groups=node.get("as-groups").strings(),
        impersonate_extra=node.get("as-user-extra").string_lists(),
        username=node.get("username").string(),
        password=node.get("password").string(),
        auth_provider=_auth_provider(node.get("auth-provider")),
        exec=_exec(node.get("exec")),
        origin=origin,
    )


def _auth_provider(node: _Node) -> AuthProviderSpec | None:
    if node.value is None:
        return None
    node.mapping()
    return AuthProviderSpec(name=node.get("name").string(), config=node.get("config").string_map())


def _exec(node: _Node) -> ExecSpec | None:
    if node.value is None:
        return None
    node.mapping()
    api_version = node.get("apiVersion").string()
    mode = node.get("interactiveMode").string()
    if not mode and api_version in ("client.authentication.k8s.io/v1beta1", "client.authentication.k8s.io/v1alpha1"):
        mode = "IfAvailable"  # client-go's default for the older versions; v1 must say it
    env = []
    for item in node.get("env").items():
        item.mapping()
        env.append((item.get("name").string(), item.get("value").string()))
    return ExecSpec(
        command=node.get("command").string(),
        args=node.get("args").strings(),
        env=tuple(env),
        api_version=api_version,
        install_hint=node.get("installHint").string(),
        provide_cluster_info=node.get("provideClusterInfo").boolean(),
        interactive_mode=mode,
    )


def _context(node: _Node, origin: str) -> Context:
    node.mapping()
    node.get("extensions").items()
    return Context(cluster=node.get("cluster").string(), user=node.get("user").string(),
                   namespace=node.get("namespace").string(), origin=origin)

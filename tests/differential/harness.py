"""Run the real kubectl and kubectl-ray on the same kubeconfig, flags and environment; observe what
reached the recording servers; compare.

kubectl runs `get rayclusters` (discovery, then GET .../namespaces/NS/rayclusters); we run `get
cluster` (GET .../namespaces/NS/rayclusters). Per case the observation holds: the outcome (ok, or
the class of the error), whether a TLS handshake was abandoned, which server got the RayCluster list, its namespace and path prefix, the
SNI name, the client certificate CN, the Authorization header, the impersonation headers, the
proxies used (with their credentials), whether the exec plugin ran and what it read from
KUBERNETES_EXEC_INFO, and every credential presented on any request.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from tests.differential.servers import Recorder

SA_MOUNT = "/run/secrets/kubernetes.io/serviceaccount"  # /var/run is a link to /run here


def find_kubectl() -> str | None:
    """kubectl on PATH; gcloud's dispatcher is replaced by the v1.32 binary it would run (it adds a
    version probe of its own to every command)."""
    found = os.environ.get("KUBECTL_RAY_DIFF_KUBECTL") or shutil.which("kubectl")
    if not found:
        return None
    real = os.path.realpath(found)
    versioned = os.path.join(os.path.dirname(real), "kubectl.1.32")
    return versioned if os.path.exists(versioned) else found


def mount_namespace_works() -> bool:
    if not shutil.which("unshare") or os.geteuid() != 0:
        return False
    try:
        probe = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                                "mount -t tmpfs none /run && echo ok"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.stdout.strip() == b"ok"


@dataclass
class Observation:
    outcome: str = "ok"
    tls_rejected: bool = False  # a server saw a TLS handshake the client abandoned (it rejected the certificate)
    endpoint: str | None = None
    namespace: str | None = None
    prefix: str | None = None
    sni: str | None = None
    client_cn: str | None = None
    authorization: str | None = None
    impersonation: tuple = ()
    proxies: tuple = ()
    exec_ran: bool = False
    exec_info: Any = None
    credentials: tuple = ()  # every Authorization value and client CN seen on any request

    def differences(self, other: "Observation") -> dict[str, tuple[Any, Any]]:
        return {f.name: (getattr(self, f.name), getattr(other, f.name)) for f in fields(self)
                if getattr(self, f.name) != getattr(other, f.name)}


_ERROR_CLASSES = [  # (class, patterns) in order; matched against the lower-cased stderr
    ("prompt", ("please enter username",)),
    ("bad-credential", ("invalid header field value", "cannot be sent in an http header", "read empty token")),
    ("exec", ("getting credentials",)),
    ("auth-provider", ("auth plugin has been removed", "no auth provider found", "no valid id-token",
                       "must provide", "not a valid jwt", "oidc auth-provider")),
    ("bad-client-cert", ("found a certificate rather than a key", "failed to find any pem data",
                         "private key does not match", "client certificate or key is not valid pem")),
    ("tls-verify", ("x509:", "failed to verify certificate", "certificate verify failed")),
    ("tls", ("tls handshake", "tls:", "ssl", "first record does not look like a tls handshake")),
    ("proxy", ("proxyconnect", "https:// proxies are not supported", "socks connect", "refusing to use http_proxy")),
    ("config", ("error loading config file", "invalid configuration", "error in configuration", "does not exist",
                "unable to read", "unable to load root certificates", "specifying a root certificates file",
                "host must be a url", "invalid 'proxy-url'", "invalid timeout", "invalid --request-timeout",
                "username/password or bearer token", "more than one authentication method", "pem",
                "no kubernetes cluster is configured", "names no cluster", "has no server", "invalid port",
                "unsupported protocol scheme", "cannot read", "no such file", "must be specified", "are both specified",
                "invalid interactivemode", "cannot be provided in combination", "no server found for cluster",
                "requesting uid, groups or user-extra")),
    ("refused", ("was refused", "connection refused")),
    ("dns", ("no such host",)),
    ("timeout", ("timeout", "did not answer in time", "deadline")),
    ("unauthorized", ("must be logged in",)),
]


_KLOG_LINE = re.compile(r"^[EWI]\d{4} ")  # client-go's log lines before kubectl's own error


def error_class(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip() and not _KLOG_LINE.match(line)]
    text = "\n".join(lines).lower()
    for name, patterns in _ERROR_CLASSES:
        if any(p in text for p in patterns):
            return name
    first = lines[-1] if lines else ""
    return f"other: {first[:120]}"


def observe(recorder: Recorder, exit_code: int, stderr: str, exec_record: Path) -> Observation:
    obs = Observation(outcome="ok" if exit_code == 0 else error_class(stderr))
    recorder.settle()
    with recorder.lock:
        requests = list(recorder.requests)
        proxied = list(recorder.proxied)
        obs.tls_rejected = bool(recorder.tls_failures)
    data = [r for r in requests if "/rayclusters" in r.path]
    if data:
        req = data[0]
        match = re.search(r"/namespaces/([^/]+)/rayclusters", req.path)
        obs.endpoint, obs.namespace = req.endpoint, match.group(1) if match else None
        obs.prefix = "/prefix" if req.path.startswith("/prefix/") else ""
        obs.sni, obs.client_cn, obs.authorization = req.sni, req.client_cn, req.header("authorization")
        extras = sorted((k, tuple(v)) for k, v in req.headers.items() if k.startswith("impersonate-extra-"))
        obs.impersonation = (req.header("impersonate-user"), req.header("impersonate-uid"),
                             tuple(req.headers.get("impersonate-group", [])), tuple(extras))
    obs.proxies = tuple(sorted(set(proxied), key=repr))
    creds = {r.header("authorization") for r in requests if r.header("authorization")}
    creds |= {f"cn={r.client_cn}" for r in requests if r.client_cn}
    obs.credentials = tuple(sorted(creds))
    if exec_record.exists():
        lines = [line for line in exec_record.read_text().splitlines() if line.strip()]
        obs.exec_ran = bool(lines)
        obs.exec_info = json.loads(lines[0]) if lines else None
        exec_record.unlink()
    return obs


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


@dataclass
class Case:
    """One kubeconfig/flags/environment combination. Strings may hold {placeholders} (Lab.values)."""

    id: str
    kubeconfig: Any = None  # written to the case folder and passed with --kubeconfig
    flags: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    kubeconfig_env: tuple[Any, ...] = ()  # files (documents, or None for a missing file) for KUBECONFIG
    home_config: Any = None  # ~/.kube/config
    files: dict[str, str] = field(default_factory=dict)  # extra files in the case folder
    exec_reply: Any = None  # what the exec plugin prints (JSON document)
    service_account: dict[str, str] | None = None  # in-cluster files: token, ca.crt, namespace
    hosts: bool = False  # resolve *.test names to loopback (both tools run in a mount namespace)
    deliberate: str | None = None  # why we differ from kubectl on purpose (also in README)
    ours: dict[str, Any] = field(default_factory=dict)  # our expected values where we differ

    def __str__(self) -> str:
        return self.id


def fill(value: Any, values: dict[str, str]) -> Any:
    """Replace {name} placeholders in every string of a (nested) document."""
    if isinstance(value, str):
        return re.sub(r"\{([a-z0-9_]+)\}", lambda m: values.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {fill(k, values): fill(v, values) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(fill(v, values) for v in value)
    return value


def write_doc(path: Path, doc: Any) -> str:
    if isinstance(doc, bytes):
        path.write_bytes(doc)
    else:
        path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return str(path)


def namespaced(argv: list[str], *, service_account: str | None, hosts: str | None) -> list[str]:
    """argv run in a private mount namespace with the service account folder and/or hosts file in place."""
    steps = []
    if service_account:
        steps += ["mount -t tmpfs none /run", f"mkdir -p {os.path.dirname(SA_MOUNT)}",
                  f'ln -s "{service_account}" {SA_MOUNT}']
    if hosts:
        steps.append(f'mount --bind "{hosts}" /etc/hosts')
    script = " && ".join(steps) + ' && exec "$@"'
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", *argv]


def run_process(argv: list[str], env: dict[str, str], cwd: Path) -> Run:
    proc = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    return Run(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))


def ours_argv() -> list[str]:
    return [sys.executable, "-m", "kubectl_ray"]

"""Pod exec through the `kubernetes` package's WebSocket client (used by `kubectl ray log`).

Configured from the same resolved ConnectionConfig and Authenticator as the native transport, so
every kubeconfig and flag rule lives in one place (kubeconfig.py, auth.py). It is no longer an
API transport: it could not follow kubectl's connection rules (repeated headers, SOCKS5, proxy
selection, deadlines), see transport.py.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from typing import Any, Iterator

from kubectl_ray.kube.auth import Authenticator
from kubectl_ray.kube.errors import ApiError, ConnectionFailed, RequestInfo
from kubectl_ray.kube.kubeconfig import ConnectionConfig


class _CredentialFiles:
    """The kubernetes package wants CA and client key pairs as files: keep them in a private directory."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="kubectl-ray-")
        atexit.register(shutil.rmtree, self.dir, True)

    def write(self, name: str, data: bytes) -> str:
        path = os.path.join(self.dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return path


def kubernetes_configuration(config: ConnectionConfig, auth: Authenticator) -> Any:
    from kubernetes import client as k8s

    files = _CredentialFiles()
    conf = k8s.Configuration()
    conf.host = config.endpoint.url
    conf.verify_ssl = not config.insecure
    if config.insecure:  # kubectl stays quiet about --insecure-skip-tls-verify; so do we
        import urllib3

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    if config.ca_data and not config.insecure:
        conf.ssl_ca_cert = files.write("ca.crt", config.ca_data)
    cert = auth.client_certificate()
    if cert:
        conf.cert_file = files.write("client.crt", cert[0])
        conf.key_file = files.write("client.key", cert[1])
    if config.tls_server_name:
        conf.tls_server_name = config.tls_server_name
    if config.proxy_url:
        conf.proxy = config.proxy_url
    return conf


class ExecSession:
    """A command running in a container over the WebSocket channel protocol (v4.channel.k8s.io)."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws
        self.stderr = b""
        self._error = b""
        # WSClient also appends every stdout/stderr byte to `_all` for read_all(), and stream() has no
        # way to pass capture_all=False: drop that copy, or a large tar stream piles up in memory.
        if hasattr(ws, "_all"):
            ws._all = _Discard()

    def stdout_chunks(self, poll_seconds: float = 1.0) -> Iterator[bytes]:
        """stdout as it arrives; stderr and the final status are kept for afterwards."""
        from kubernetes.stream.ws_client import ERROR_CHANNEL, STDERR_CHANNEL, STDOUT_CHANNEL

        ws = self._ws
        try:
            while True:
                ws.update(timeout=poll_seconds)
                out = ws.read_channel(STDOUT_CHANNEL)
                if out:
                    yield out
                err = ws.read_channel(STDERR_CHANNEL)
                if err and len(self.stderr) < 65536:
                    self.stderr += err
                status = ws.read_channel(ERROR_CHANNEL)
                if status:
                    self._error += status
                if not ws.is_open():
                    rest = ws.read_channel(STDOUT_CHANNEL)
                    if rest:
                        yield rest
                    return
        finally:
            ws.close()

    def failure(self) -> str | None:
        """None if the command succeeded, else the server's message (exit code or exec error)."""
        import json

        if not self._error:
            return None
        try:
            status = json.loads(self._error)
        except ValueError:
            return self._error.decode("utf-8", "replace").strip() or None
        if status.get("status") == "Success":
            return None
        return str(status.get("message") or status.get("reason") or "command failed")


class _Discard:
    def write(self, _data: Any) -> None:
        pass

    def getvalue(self) -> bytes:
        return b""


def exec_in_pod(config: ConnectionConfig, pod: str, namespace: str, command: list[str],
                container: str | None = None) -> ExecSession:
    """Start `command` in a pod with stdout/stderr only (no stdin, no TTY) through the kubernetes client."""
    from kubernetes import client as k8s
    from kubernetes.client.rest import ApiException
    from kubernetes.stream import stream

    auth = Authenticator(config)
    conf = kubernetes_configuration(config, auth)
    authorization = dict(auth.headers()).get("Authorization")
    if authorization:
        # The WebSocket path forwards only the lower-case `authorization` header set from api_key.
        conf.api_key = {"authorization": authorization.decode("utf-8")}
    api = k8s.CoreV1Api(k8s.ApiClient(conf))
    try:
        ws = stream(api.connect_get_namespaced_pod_exec, pod, namespace, command=command, container=container,
                    stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False, binary=True)
    except (ApiException, AttributeError) as exc:
        # A refused WebSocket handshake arrives as ApiException(status=0) whose reason holds the HTTP
        # status and body; some client versions then trip over its empty body (AttributeError).
        cause = exc if isinstance(exc, ApiException) else exc.__context__
        if not isinstance(cause, ApiException):
            raise
        raise _exec_error(cause, pod, namespace) from None
    return ExecSession(ws)


def _exec_error(exc: Any, pod: str, namespace: str) -> Exception:
    """`Handshake status 400 Bad Request -+-+- {headers} -+-+- {Status JSON}` -> ApiError, like kubectl's."""
    import re

    reason = str(exc.reason or "")
    match = re.match(r"Handshake status (\d+)", reason)
    parts = reason.split(" -+-+- ")
    if match and len(parts) >= 3:
        info = RequestInfo("create", "pods/exec", namespace, pod)
        return ApiError.from_response(int(match.group(1)), parts[-1].encode("utf-8", "replace"), info)
    if "Connection refused" in reason or "Errno 111" in reason:  # say it the way every other request does
        return ConnectionFailed(f"exec into pod {namespace}/{pod} failed: the connection to the server was refused")
    return ConnectionFailed(f"exec into pod {namespace}/{pod} failed: {reason or exc}")

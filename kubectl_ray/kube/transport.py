"""HTTP(S) to the API server with nothing but the standard library.

Why not the `kubernetes` package for this: importing it costs ~210-290 ms per process and an
authenticated list through it ~256 ms, against ~52 ms for http.client + ssl (measured, see
benchmarks/RESULTS.md); kubectl itself needs ~134 ms. The `kubernetes` transport in
k8s_transport.py implements the same interface (KUBECTL_RAY_TRANSPORT=kubernetes) and the pod
exec path, which needs its WebSocket client.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import tempfile
import threading
import time
from typing import Any, Iterator, Mapping, Protocol
from urllib.parse import quote, unquote, urlencode, urlsplit

from kubectl_ray.kube.auth import Authenticator
from kubectl_ray.kube.errors import ApiError, ConnectionFailed, RequestInfo
from kubectl_ray.kube.kubeconfig import ConfigError, ConnectionConfig

USER_AGENT = "kubectl-ray"
MAX_RETRIES = 3
_RETRY_STATUSES_READ = (429, 500, 502, 503, 504)
_IDEMPOTENT = ("GET", "HEAD")
_UNSET: Any = object()


class Response:
    """A response whose body may be streamed (watch, logs) or read whole."""

    def __init__(self, status: int, headers: Mapping[str, str], raw: Any, on_close: Any = None,
                 server: str = "the server") -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self._raw = raw
        self._on_close = on_close
        self._server = server
        self._body: bytes | None = None

    def read(self) -> bytes:
        if self._body is None:
            reuse = False
            try:
                self._body = self._raw.read()
                reuse = True
            except Exception as exc:  # noqa: BLE001 - any I/O failure while reading the body
                raise self._lost(exc) from None
            finally:
                self.close(reuse=reuse)
        return self._body

    def json(self) -> Any:
        body = self.read()
        try:
            return json.loads(body or b"null")
        except ValueError:
            raise ConnectionFailed(f"{self._server} answered with something that is not JSON: {body[:80]!r}") from None

    def iter_chunks(self, size: int = 1 << 16) -> Iterator[bytes]:
        try:
            while True:
                try:
                    chunk = self._raw.read1(size) if hasattr(self._raw, "read1") else self._raw.read(size)
                except Exception as exc:  # noqa: BLE001 - any I/O failure while streaming
                    raise self._lost(exc) from None
                if not chunk:
                    return
                yield chunk
        finally:
            self.close()

    def _lost(self, exc: BaseException) -> ConnectionFailed:
        return ConnectionFailed(f"Unable to connect to the server: {self._server} closed the connection in the "
                                f"middle of a response ({type(exc).__name__})")

    def iter_lines(self) -> Iterator[bytes]:
        """Newline-delimited records (watch events), read in chunks rather than byte by byte."""
        pending = b""
        for chunk in self.iter_chunks():
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line.strip():
                    yield line
        if pending.strip():
            yield pending

    def close(self, reuse: bool = False) -> None:
        if self._on_close is not None:
            callback, self._on_close = self._on_close, None
            callback(reuse)


class Transport(Protocol):
    def request(self, method: str, path: str, *, query: Mapping[str, Any] | None = None, body: Any = None,
                content_type: str | None = None, accept: str = "application/json", stream: bool = False,
                timeout: float | None = _UNSET, info: RequestInfo | None = None) -> Response: ...

    def close(self) -> None: ...


def make_transport(config: ConnectionConfig) -> Transport:
    """The native transport, or the `kubernetes` package's when KUBECTL_RAY_TRANSPORT=kubernetes."""
    choice = os.environ.get("KUBECTL_RAY_TRANSPORT", "native").strip().lower()
    if choice == "kubernetes":
        from kubectl_ray.kube.k8s_transport import KubernetesTransport

        return KubernetesTransport(config)
    if choice not in ("", "native"):
        raise ConfigError(f"KUBECTL_RAY_TRANSPORT must be 'native' or 'kubernetes', not {choice!r}")
    return HttpTransport(config)


def encode_body(body: Any, content_type: str | None) -> tuple[bytes | None, str | None]:
    if body is None:
        return None, content_type
    if isinstance(body, (bytes, bytearray)):
        return bytes(body), content_type or "application/octet-stream"
    return json.dumps(body, separators=(",", ":")).encode("utf-8"), content_type or "application/json"


def retry_delay(attempt: int, retry_after: str | None) -> float:
    """Server's Retry-After (capped at 10 s) or exponential backoff from 0.5 s."""
    if retry_after:
        try:
            return min(max(float(retry_after), 0.0), 10.0)
        except ValueError:
            pass
    return min(0.5 * (2 ** attempt), 5.0)


def should_retry(method: str, status: int) -> bool:
    """429 means the request was not processed, so any verb may retry; 5xx only for reads."""
    return status == 429 or (method in _IDEMPOTENT and status in _RETRY_STATUSES_READ)


class HttpTransport:
    def __init__(self, config: ConnectionConfig) -> None:
        self.config = config
        self.auth = Authenticator(config)
        url = urlsplit(config.server)
        if url.scheme not in ("http", "https"):
            raise ConfigError(f"server URL {config.server!r} must start with https:// or http://")
        self.scheme = url.scheme
        self.host = url.hostname or ""
        self.port = url.port or (443 if url.scheme == "https" else 80)
        self.base_path = url.path.rstrip("/")
        self.netloc = url.netloc
        self._ssl_context: Any = None
        self._local = threading.local()
        self._lock = threading.Lock()
        self._proxy = _proxy_for(config, self.scheme, self.host)

    # --- public -----------------------------------------------------------------------------

    def request(self, method: str, path: str, *, query: Mapping[str, Any] | None = None, body: Any = None,
                content_type: str | None = None, accept: str = "application/json", stream: bool = False,
                timeout: float | None = _UNSET, info: RequestInfo | None = None) -> Response:
        payload, ctype = encode_body(body, content_type)
        url = self.base_path + _quote_path(path) + (("?" + urlencode(_clean_query(query), doseq=True)) if query else "")
        if timeout is _UNSET:
            timeout = self.config.timeout
        refreshed = False
        attempt = 0
        while True:
            response = self._send(method, url, payload, ctype, accept, timeout, stream)
            if response.status == 401 and not refreshed and self.auth.refresh():
                response.read()
                refreshed = True
                self._reset_tls()
                continue
            if response.status >= 400:
                body_bytes = response.read()
                retry_after = response.headers.get("retry-after")
                if attempt < MAX_RETRIES and should_retry(method, response.status):
                    time.sleep(retry_delay(attempt, retry_after))
                    attempt += 1
                    continue
                raise ApiError.from_response(response.status, body_bytes, info or RequestInfo(method.lower(), path=path),
                                             retry_after=_float(retry_after))
            if not stream:
                response.read()
            return response

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- internals ----------------------------------------------------------------------------

    def _send(self, method: str, url: str, payload: bytes | None, ctype: str | None, accept: str,
              timeout: float | None, stream: bool) -> Response:
        attempt = 0
        while True:
            conn, reused = self._connection(timeout)
            try:
                self._put_request(conn, method, url, payload, ctype, accept)
                raw = conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                self._drop(conn)
                if reused:
                    continue  # the server closed an idle keep-alive connection; nothing was processed
                if method in _IDEMPOTENT and attempt < MAX_RETRIES:
                    attempt += 1
                    time.sleep(retry_delay(attempt - 1, None))
                    continue
                raise self._connection_error(exc, timeout) from None
            except (OSError, http.client.HTTPException) as exc:
                self._drop(conn)
                raise self._connection_error(exc, timeout) from None
            except BaseException:
                self._drop(conn)  # e.g. Ctrl-C mid-request: the connection is half-used, never reuse it
                raise

            if stream:
                self._local.conn = None  # a streamed body owns its connection until it is closed

            def release(reuse: bool, conn: Any = conn, raw: Any = raw) -> None:
                if reuse and not stream and not raw.will_close:
                    return
                self._drop(conn)

            return Response(raw.status, dict(raw.getheaders()), raw, release, server=f"{self.host}:{self.port}")

    def _put_request(self, conn: Any, method: str, url: str, payload: bytes | None, ctype: str | None,
                     accept: str) -> None:
        target = url
        if self._proxy and self.scheme == "http":
            target = f"http://{self.netloc}{url}"
        conn.putrequest(method, target, skip_accept_encoding=True)
        conn.putheader("Accept", accept)
        conn.putheader("User-Agent", USER_AGENT)
        for key, value in self.auth.header_items():
            conn.putheader(key, value)
        if self._proxy and self.scheme == "http" and self._proxy.get("auth"):
            conn.putheader("Proxy-Authorization", self._proxy["auth"])
        if payload is not None:
            conn.putheader("Content-Type", ctype or "application/json")
            conn.putheader("Content-Length", str(len(payload)))
        conn.endheaders(payload)

    def _connection(self, timeout: float | None) -> tuple[Any, bool]:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            return conn, True
        conn = self._new_connection(timeout)
        self._local.conn = conn
        return conn, False

    def _new_connection(self, timeout: float | None) -> Any:
        host, port = self.host, self.port
        if self._proxy:
            host, port = self._proxy["host"], self._proxy["port"]
        if self.scheme == "https":
            conn: Any = _HTTPSConnection(host, port, context=self._tls_context(), timeout=timeout,
                                         server_hostname=self.config.tls_server_name or self.host)
            if self._proxy:
                headers = {"Proxy-Authorization": self._proxy["auth"]} if self._proxy.get("auth") else None
                conn.set_tunnel(self.host, self.port, headers=headers)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        return conn

    def _drop(self, conn: Any) -> None:
        conn.close()
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None

    def _reset_tls(self) -> None:
        with self._lock:
            self._ssl_context = None
        self.close()

    def _tls_context(self) -> Any:
        with self._lock:
            if self._ssl_context is None:
                self._ssl_context = build_ssl_context(self.config, self.auth.client_certificate())
            return self._ssl_context

    def _connection_error(self, exc: BaseException, timeout: float | None) -> ConnectionFailed:
        import ssl

        where = f"{self.host}:{self.port}"
        if isinstance(exc, ConnectionRefusedError):
            return ConnectionFailed(f"The connection to the server {where} was refused - did you specify the right host or port?")
        if isinstance(exc, socket.gaierror):
            return ConnectionFailed(f"Unable to connect to the server: dial tcp: lookup {self.host}: no such host")
        if isinstance(exc, ssl.SSLCertVerificationError):
            reason = exc.verify_message or exc.reason or str(exc)
            return ConnectionFailed(f"Unable to connect to the server: tls: failed to verify certificate of {where}: {reason}")
        if isinstance(exc, ssl.SSLError):
            return ConnectionFailed(f"Unable to connect to the server: TLS handshake with {where} failed: {exc.reason or exc}")
        if isinstance(exc, (socket.timeout, TimeoutError)):
            limit = f" after {_fmt_seconds(timeout)} (--request-timeout)" if timeout else ""
            return ConnectionFailed(f"Unable to connect to the server: {where} did not answer in time{limit}")
        if isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                            http.client.IncompleteRead)):
            return ConnectionFailed(f"Unable to connect to the server: {where} closed the connection")
        if isinstance(exc, OSError) and exc.strerror:
            return ConnectionFailed(f"Unable to connect to the server {where}: {exc.strerror}")
        return ConnectionFailed(f"Unable to connect to the server {where}: {exc}")


class _HTTPSConnection(http.client.HTTPSConnection):
    """HTTPS with a separate TLS server name (kubeconfig `tls-server-name`)."""

    def __init__(self, host: str, port: int, *, context: Any, timeout: float | None, server_hostname: str) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._server_hostname = server_hostname

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self._server_hostname)


def build_ssl_context(config: ConnectionConfig, client_cert: tuple[bytes, bytes] | None) -> Any:
    import ssl

    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if config.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif config.ca_data:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            context.load_verify_locations(cadata=config.ca_data.decode("ascii", "replace"))
        except (ssl.SSLError, ValueError) as exc:
            raise ConfigError(f"the certificate authority in the kubeconfig is not a valid PEM certificate: {exc}") from None
    if client_cert:
        _load_client_cert(context, *client_cert)
    return context


def _load_client_cert(context: Any, cert: bytes, key: bytes) -> None:
    """ssl only loads key pairs from files: write them to a private directory, load, delete."""
    import ssl

    with tempfile.TemporaryDirectory(prefix="kubectl-ray-") as tmp:
        cert_path, key_path = os.path.join(tmp, "client.crt"), os.path.join(tmp, "client.key")
        for path, data in ((cert_path, cert), (key_path, key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        try:
            context.load_cert_chain(cert_path, key_path)
        except ssl.SSLError as exc:
            raise ConfigError(f"the client certificate or key is not valid PEM, or they do not match: {exc.reason or exc}") from None


def _proxy_for(config: ConnectionConfig, scheme: str, host: str) -> dict[str, Any] | None:
    url = config.proxy_url
    if not url:
        if _is_loopback(host) or _no_proxy(host):
            return None
        url = (os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")) if scheme == "https" else \
            (os.environ.get("HTTP_PROXY") or os.environ.get("http_proxy"))
    if not url:
        return None
    if "://" not in url:
        url = "http://" + url
    parsed = urlsplit(url)
    if parsed.scheme not in ("http", "https"):
        raise ConfigError(f"proxy {url!r}: only http:// proxies are supported (socks5 is not)")
    proxy: dict[str, Any] = {"host": parsed.hostname, "port": parsed.port or 80}
    if parsed.username:
        import base64

        creds = f"{unquote(parsed.username)}:{unquote(parsed.password or '')}".encode()
        proxy["auth"] = "Basic " + base64.b64encode(creds).decode()
    return proxy


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def _no_proxy(host: str) -> bool:
    value = os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or ""
    for entry in (e.strip().lower() for e in value.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        entry = entry.lstrip(".")
        if host.lower() == entry or host.lower().endswith("." + entry):
            return True
        if "/" in entry and _in_cidr(host, entry):
            return True
    return False


def _in_cidr(host: str, cidr: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def _clean_query(query: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (query or {}).items():
        if value is None or value is False:
            continue
        out[key] = "true" if value is True else value
    return out


def _quote_path(path: str) -> str:
    return quote(path, safe="/:@")


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds:g}s"

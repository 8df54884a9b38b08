"""HTTP(S) to the API server with nothing but the standard library, connecting as kubectl does.

Why not the `kubernetes` package: importing it costs ~210-290 ms per process and an authenticated
list through it ~256 ms, against ~52 ms for http.client + ssl (benchmarks/RESULTS.md); it also
cannot follow kubectl's connection rules (one value per header, no SOCKS5, proxies chosen by
urllib3); pod exec has its own stdlib WebSocket client on this transport (podexec.py). HTTP/1.1 itself
is http11.py, not http.client, whose import pulls in `email` and `ssl` (~17 ms): `ssl` is imported
only for https servers (and to name a connection error).

Every request has one deadline (--request-timeout) covering the exec plugin, connect, proxy
handshake, TLS, headers and body; a stream (watch, logs) must be established within it and is then
read without a deadline. `open_connection` and `request_headers` give other protocols (WebSocket
pod exec) exactly the same connection and credentials.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any, Callable, Iterator, Mapping, Protocol
from urllib.parse import quote, urlencode

from kubectl_ray.kube import http11
from kubectl_ray.kube.auth import Authenticator, Header
from kubectl_ray.kube.deadline import Deadline, DeadlineExceeded, DeadlineSocket
from kubectl_ray.kube.errors import ApiError, ConfigError, ConnectionFailed, RequestInfo
from kubectl_ray.kube.kubeconfig import ConnectionConfig
from kubectl_ray.kube.proxy import ProxyURL, connect_via_proxy, open_socket, select_proxy
from kubectl_ray.shapes import MIB, ShapeError, TooLarge, decode_json, read_body_capped

USER_AGENT = "kubectl-ray"
MAX_RETRIES = 3
# Pauses between retries, summed over every request of one command: a server that keeps failing is
# reported after this, not waited for once per request (debug makes dozens of requests).
RETRY_PAUSE_BUDGET = 10.0
_RETRY_STATUSES_READ = (429, 500, 502, 503, 504)
_IDEMPOTENT = ("GET", "HEAD")
_UNSET: Any = object()
# No real answer comes near this: a list page holds at most 500 objects (our --chunk-size, kubectl's too)
# and a typical RayCluster or Pod is 5-20 KiB, so 128 MiB is 500 objects of 256 KiB each. It bounds what a
# hostile or broken server can make us hold (the body is read in pieces and dropped once past the cap).
MAX_ANSWER_BYTES = 128 * MIB
MAX_ERROR_BYTES = MIB  # of an error answer: its Status message is all we show

ErrorFor = Callable[[BaseException, bool], ConnectionFailed]


class Response:
    """A response whose body may be streamed (watch, logs) or read whole."""

    def __init__(self, status: int, headers: Mapping[str, str], raw: Any, on_close: Any = None,
                 error_for: ErrorFor | None = None) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self._raw = raw
        self._on_close = on_close
        self._error_for = error_for or _lost_connection
        self._body: bytes | None = None
        self.source = "the server's answer"  # named in errors about the body: set to "... to GET /path"

    def read(self) -> bytes:
        """The whole body, at most MAX_ANSWER_BYTES (a bigger one is an error, never held in memory)."""
        return self._read_body(MAX_ANSWER_BYTES, truncate=False)

    def read_error_body(self) -> bytes:
        """The start of an error answer (enough for its Status); the rest is dropped with the connection."""
        return self._read_body(MAX_ERROR_BYTES, truncate=True)

    def _read_body(self, limit: int, *, truncate: bool) -> bytes:
        if self._body is None:
            reuse = False
            try:
                self._body = read_body_capped(self._raw, limit, self._declared_length())
                reuse = True
            except TooLarge as exc:
                if not truncate:
                    exc.pieces.clear()
                    raise ShapeError(f"{self.source} is larger than {limit // MIB} MiB; no real answer is that "
                                     "big, so it is not read") from None
                self._body = exc.start
            except Exception as exc:  # noqa: BLE001 - any I/O failure while reading the body
                raise self._error_for(exc, True) from None
            finally:
                self.close(reuse=reuse)
        return self._body

    def json(self) -> Any:
        return decode_json(self.read(), self.source)

    def iter_chunks(self, size: int = 1 << 16) -> Iterator[bytes]:
        try:
            while True:
                try:
                    chunk = self._raw.read1(size) if hasattr(self._raw, "read1") else self._raw.read(size)
                except Exception as exc:  # noqa: BLE001 - any I/O failure while streaming
                    raise self._error_for(exc, True) from None
                if not chunk:
                    return
                yield chunk
        finally:
            self.close()

    def iter_lines(self) -> Iterator[bytes]:
        """Newline-delimited records (watch events), read in chunks; a record may not exceed
        MAX_ANSWER_BYTES (pieces are joined once per record, so a long one costs linear time)."""
        parts: list[bytes] = []
        size = 0
        for chunk in self.iter_chunks():
            start = 0
            while (end := chunk.find(b"\n", start)) >= 0:
                parts.append(chunk[start:end])
                line = b"".join(parts)
                parts, size = [], 0
                if line.strip():
                    yield line
                start = end + 1
            if start < len(chunk):
                parts.append(chunk[start:])
                size += len(chunk) - start
                if size > MAX_ANSWER_BYTES:
                    self.close()
                    raise ShapeError(f"{self.source} sent a record larger than {MAX_ANSWER_BYTES // MIB} MiB")
        line = b"".join(parts)
        if line.strip():
            yield line

    def _declared_length(self) -> int | None:
        try:
            length = int(self.headers.get("content-length", ""))
        except ValueError:
            return None
        return length if length >= 0 else None

    def close(self, reuse: bool = False) -> None:
        if self._on_close is not None:
            callback, self._on_close = self._on_close, None
            callback(reuse)


def _lost_connection(exc: BaseException, _in_body: bool) -> ConnectionFailed:
    return ConnectionFailed(f"Unable to connect to the server: the connection closed in the middle of a response "
                            f"({type(exc).__name__})")


class Transport(Protocol):
    def request(self, method: str, path: str, *, query: Mapping[str, Any] | None = None, body: Any = None,
                content_type: str | None = None, accept: str = "application/json", stream: bool = False,
                timeout: float | None = _UNSET, info: RequestInfo | None = None) -> Response: ...

    def close(self) -> None: ...


def make_transport(config: ConnectionConfig) -> "HttpTransport":
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
    """One API server: keep-alive connections (one per thread), credentials, deadlines, retries."""

    def __init__(self, config: ConnectionConfig) -> None:
        self.config = config
        self.endpoint = config.endpoint
        self.auth = Authenticator(config)
        self.proxy: ProxyURL | None = select_proxy(self.endpoint, config.proxy_url)
        self._tls_contexts: dict[Any, Any] = {}
        self._local = threading.local()
        self._lock = threading.Lock()
        self._pause_budget = RETRY_PAUSE_BUDGET
        if self.endpoint.secure:
            self._tls_context(self._static_certificate())  # a bad CA or client certificate fails before any request

    # --- public: requests ------------------------------------------------------------------------

    def request(self, method: str, path: str, *, query: Mapping[str, Any] | None = None, body: Any = None,
                content_type: str | None = None, accept: str = "application/json", stream: bool = False,
                timeout: float | None = _UNSET, info: RequestInfo | None = None) -> Response:
        payload, ctype = encode_body(body, content_type)
        target = self.endpoint.base_path + _quote_path(path)
        if query:
            target += "?" + urlencode(_clean_query(query), doseq=True)
        deadline = Deadline(self.config.timeout if timeout is _UNSET else timeout)
        refreshed, attempt = False, 0
        while True:
            response = self._send(method, target, payload, ctype, accept, deadline, stream)
            response.source = f"the server's answer to {method} {path}"
            if response.status == 401 and not refreshed and self.auth.refresh():
                response.read_error_body()
                refreshed = True
                self._reset_tls()
                continue
            if response.status >= 300:  # no redirect is followed (it could take credentials elsewhere)
                body_bytes = response.read_error_body()
                retry_after = response.headers.get("retry-after")
                delay = retry_delay(attempt, retry_after)
                if attempt < MAX_RETRIES and should_retry(method, response.status) and self._may_pause(deadline, delay):
                    time.sleep(delay)
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
            self._drop(conn)

    # --- public: the same connection and credentials for other protocols (pod exec) --------------

    def open_connection(self, deadline: Deadline | None = None) -> socket.socket:
        """A new socket to the API server, connected exactly as requests are: through the proxy
        (HTTP CONNECT or SOCKS5, also for http servers), TLS with the configured CA / insecure flag,
        SNI and server name, and client certificate (an exec plugin's too). The caller owns it; its
        timeout is the time left of `deadline` (default: --request-timeout from now)."""
        deadline = deadline or Deadline(self.config.timeout)
        try:
            sock = self._open_socket(deadline, tunnel=True)
            sock.settimeout(deadline.remaining())
            return sock
        except (OSError, ValueError) as exc:
            raise self._connection_error(exc, deadline) from None

    def request_headers(self, deadline: Deadline | None = None) -> list[Header]:
        """Authorization (token, basic, auth-provider or exec plugin; https only) and impersonation
        headers for one request, values checked and UTF-8 encoded. May run the exec plugin."""
        return self.auth.headers(deadline or Deadline(self.config.timeout))

    def _may_pause(self, deadline: Deadline, delay: float) -> bool:
        """Whether a retry may wait `delay`: within the request's deadline and the command's pause budget."""
        with self._lock:
            if not _fits(deadline, delay) or delay > self._pause_budget:
                return False
            self._pause_budget -= delay
            return True

    # --- internals: one exchange -------------------------------------------------------------------

    def _send(self, method: str, target: str, payload: bytes | None, ctype: str | None, accept: str,
              deadline: Deadline, stream: bool) -> Response:
        attempt = 0
        headers = self.auth.headers(deadline)  # before connecting, as client-go runs exec plugins
        while True:
            try:
                conn, reused = self._connection(deadline)
            except (OSError, ValueError) as exc:
                raise self._connection_error(exc, deadline) from None
            try:
                self._put_request(conn, method, target, headers, payload, ctype, accept)
                raw = conn.getresponse()
            except (http11.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                self._drop(conn)
                if reused:
                    continue  # the server closed an idle keep-alive connection; nothing was processed
                if method in _IDEMPOTENT and attempt < MAX_RETRIES and self._may_pause(deadline, retry_delay(attempt, None)):
                    time.sleep(retry_delay(attempt, None))
                    attempt += 1
                    continue
                raise self._connection_error(exc, deadline) from None
            except (OSError, ValueError, http11.HTTPException) as exc:
                self._drop(conn)
                raise self._connection_error(exc, deadline) from None
            except BaseException:
                self._drop(conn)  # e.g. Ctrl-C mid-request: the connection is half-used, never reuse it
                raise
            return self._response(conn, raw, deadline, stream)

    def _response(self, conn: Any, raw: Any, deadline: Deadline, stream: bool) -> Response:
        if stream:
            self._local.conn = None  # a streamed body owns its connection until it is closed
            conn.deadline_socket.deadline = Deadline(None)  # established: read without a deadline ...
            conn.deadline_socket.idle = deadline.seconds  # ... but give up on a connection silent that long

        def release(reuse: bool) -> None:
            if reuse and not stream and not raw.will_close:
                return
            self._drop(conn)

        def error_for(exc: BaseException, in_body: bool) -> ConnectionFailed:
            return self._connection_error(exc, deadline, in_body=in_body)

        return Response(raw.status, dict(raw.getheaders()), raw, release, error_for)

    def _put_request(self, conn: Any, method: str, target: str, headers: list[Header], payload: bytes | None,
                     ctype: str | None, accept: str) -> None:
        via_http_proxy = self.proxy is not None and not self.endpoint.secure and self.proxy.scheme == "http"
        if via_http_proxy:
            target = f"http://{self.endpoint.netloc}{target}"  # absolute-form, as to any HTTP proxy
        conn.putrequest(method, target, skip_accept_encoding=True)
        conn.putheader("Accept", accept)
        conn.putheader("User-Agent", USER_AGENT)
        for key, value in headers:
            conn.putheader(key, value)
        if via_http_proxy and self.proxy is not None and self.proxy.authorization:
            conn.putheader("Proxy-Authorization", self.proxy.authorization)
        if payload is not None:
            conn.putheader("Content-Type", ctype or "application/json")
            conn.putheader("Content-Length", str(len(payload)))
        conn.endheaders(payload)

    # --- internals: connections ------------------------------------------------------------------

    def _connection(self, deadline: Deadline) -> tuple[Any, bool]:
        conn = getattr(self._local, "conn", None)
        if conn is not None and conn.sock is not None:
            conn.deadline_socket.deadline = deadline
            conn.deadline_socket.idle = None
            return conn, True
        conn = http11.HTTPConnection(self.endpoint.host, self.endpoint.port)
        # the connection forgets its socket when the server says "close": keep our own reference to close it
        conn.sock = conn.deadline_socket = DeadlineSocket(self._open_socket(deadline, tunnel=False), deadline)
        self._local.conn = conn
        return conn, False

    def _open_socket(self, deadline: Deadline, *, tunnel: bool) -> socket.socket:
        """TCP (direct, tunnelled, or to an HTTP proxy for plain-http requests), then TLS for https."""
        host, port = self.endpoint.host, self.endpoint.port
        if self.proxy is None:
            sock = open_socket(host, port, deadline)
        elif self.proxy.scheme == "http" and not self.endpoint.secure and not tunnel:
            sock = open_socket(self.proxy.host, self.proxy.port, deadline)
        else:
            sock = connect_via_proxy(self.proxy, host, port, deadline)
        if not self.endpoint.secure:
            return sock
        try:
            sock.settimeout(deadline.remaining())
            context = self._tls_context(self.auth.client_certificate(deadline))
            return context.wrap_socket(sock, server_hostname=self.config.tls_server_name or host)
        except BaseException:
            sock.close()
            raise

    def _drop(self, conn: Any) -> None:
        conn.close()
        conn.deadline_socket.abort()
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None

    def _reset_tls(self) -> None:
        with self._lock:
            self._tls_contexts.clear()
        self.close()

    def _static_certificate(self) -> tuple[bytes, bytes] | None:
        if self.config.client_cert_data and self.config.client_key_data:
            return self.config.client_cert_data, self.config.client_key_data
        return None

    def _tls_context(self, client_cert: tuple[bytes, bytes] | None) -> Any:
        with self._lock:
            context = self._tls_contexts.get(client_cert)
            if context is None:
                context = self._tls_contexts[client_cert] = build_ssl_context(self.config, client_cert)
            return context

    # --- internals: errors -------------------------------------------------------------------------

    def _connection_error(self, exc: BaseException, deadline: Deadline, *, in_body: bool = False) -> ConnectionFailed:
        import ssl

        where = self.endpoint.netloc
        if isinstance(exc, (DeadlineExceeded, socket.timeout, TimeoutError)):
            limit = f" after {deadline.seconds:g}s (--request-timeout)" if deadline.seconds else ""
            what = "did not finish its answer in time" if in_body else "did not answer in time"
            return ConnectionFailed(f"Unable to connect to the server: {where} {what}{limit}")
        if isinstance(exc, ConnectionRefusedError):
            if self.proxy is not None:
                return ConnectionFailed(f"Unable to connect to the server: the connection to the proxy "
                                        f"{self.proxy.display} was refused")
            return ConnectionFailed(f"The connection to the server {where} was refused - did you specify the right host or port?")
        if isinstance(exc, socket.gaierror):
            return ConnectionFailed(f"Unable to connect to the server: dial tcp: lookup {self.endpoint.host}: no such host")
        if isinstance(exc, ssl.SSLCertVerificationError):
            reason = exc.verify_message or exc.reason or str(exc)
            return ConnectionFailed(f"Unable to connect to the server: tls: failed to verify certificate of {where}: {reason}")
        if isinstance(exc, ssl.SSLError):
            return ConnectionFailed(f"Unable to connect to the server: TLS handshake with {where} failed: {exc.reason or exc}")
        if in_body or isinstance(exc, (http11.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                                       http11.IncompleteRead)):
            return ConnectionFailed(f"Unable to connect to the server: {where} closed the connection"
                                    + (" in the middle of a response" if in_body else ""))
        if isinstance(exc, OSError) and exc.strerror:
            return ConnectionFailed(f"Unable to connect to the server {where}: {exc.strerror}")
        return ConnectionFailed(f"Unable to connect to the server {where}: {type(exc).__name__}")


def build_ssl_context(config: ConnectionConfig, client_cert: tuple[bytes, bytes] | None) -> Any:
    """client-go's TLS config: TLS >= 1.2; only the configured CA when there is one, else the system's."""
    import ssl

    if config.ca_data:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            context.load_verify_locations(cadata=_pem_certificates(config.ca_data))
        except (ssl.SSLError, ValueError, TypeError):
            raise ConfigError("unable to load root certificates: unable to parse bytes as PEM block") from None
    else:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if config.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if client_cert:
        _load_client_cert(context, *client_cert)
    return context


def _pem_certificates(data: bytes) -> str:
    """The PEM certificate blocks in a CA bundle; text around them is ignored, as Go's AppendCertsFromPEM does."""
    import re

    blocks = [b.decode("ascii") for b in re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----",
                                                     data, re.S) if b.isascii()]
    if not blocks:
        raise ValueError("no PEM certificate")
    return "\n".join(blocks)


def _load_client_cert(context: Any, cert: bytes, key: bytes) -> None:
    """ssl only loads key pairs from files: write them to a private directory, load, delete."""
    import os
    import ssl
    import tempfile

    try:
        with tempfile.TemporaryDirectory(prefix="kubectl-ray-") as tmp:
            cert_path, key_path = os.path.join(tmp, "client.crt"), os.path.join(tmp, "client.key")
            for path, data in ((cert_path, cert), (key_path, key)):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
            try:
                context.load_cert_chain(cert_path, key_path)
            except ssl.SSLError as exc:
                raise ConfigError(f"the client certificate or key is not valid PEM, or they do not match ({exc.reason or 'invalid'})") from None
    except OSError as exc:  # a full or missing temporary folder ($TMPDIR)
        raise ConfigError(f"cannot write the client certificate to a private folder in {tempfile.gettempdir()}: "
                          f"{exc.strerror or exc}") from None


def _fits(deadline: Deadline, delay: float) -> bool:
    """True if waiting `delay` seconds still leaves time before the deadline."""
    try:
        left = deadline.remaining()
    except DeadlineExceeded:
        return False
    return left is None or left > delay


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

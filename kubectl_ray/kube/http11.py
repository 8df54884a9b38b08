"""HTTP/1.1 on one connected socket: the part of http.client the transport uses, without its imports.

`import http.client` costs ~17 ms per process: it imports the `email` package to parse headers and
`ssl` to define HTTPSConnection, although the transport brings its own (TLS-wrapped or plain) socket
and only needs a request line, headers, and a body by Content-Length, chunks or close. This module
does that with http.client's rules (limits, keep-alive, the Host header, its exception types' names
and bases), so a plain-http command imports neither `email` nor `ssl`.
"""

from __future__ import annotations

from typing import Any

MAX_LINE = 65536  # http.client's _MAXLINE
MAX_HEADERS = 100  # http.client's _MAXHEADERS
DEFAULT_PORT = 80  # HTTPConnection's: the Host header leaves it out


class HTTPException(Exception):
    """A response that is not HTTP/1.x as the transport can read it."""


class BadStatusLine(HTTPException):
    pass


class LineTooLong(HTTPException):
    pass


class IncompleteRead(HTTPException):
    def __init__(self, partial: bytes, expected: int | None = None) -> None:
        super().__init__(partial)
        self.partial = partial
        self.expected = expected

    def __repr__(self) -> str:
        more = f", {self.expected} more expected" if self.expected is not None else ""
        return f"IncompleteRead({len(self.partial)} bytes read{more})"

    __str__ = __repr__


class RemoteDisconnected(ConnectionResetError, BadStatusLine):
    """The server closed the connection before it answered (e.g. an idle keep-alive connection)."""


class HTTPConnection:
    """One request at a time on `sock` (set by the caller: plain or TLS, already connected)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.sock: Any = None
        self._buffer: list[bytes] = []

    def putrequest(self, method: str, url: str, skip_accept_encoding: bool = True) -> None:
        if any(c <= " " or c == "\x7f" for c in url) or not method.isalpha():
            raise HTTPException(f"can't send {method!r} to {url!r}: control characters or spaces")
        self._buffer = [f"{method} {url} HTTP/1.1".encode("ascii")]
        self.putheader("Host", self._host_header())

    def putheader(self, name: str, value: str | bytes) -> None:
        data = value if isinstance(value, bytes) else str(value).encode("latin-1")
        if not name or any(c in name for c in ":\r\n \t") or b"\r" in data or b"\n" in data:
            raise ValueError(f"invalid header {name!r}")
        self._buffer.append(name.encode("ascii") + b": " + data)

    def endheaders(self, body: bytes | None = None) -> None:
        message = b"\r\n".join([*self._buffer, b"", b""])
        self._buffer = []
        self.sock.sendall(message + body if body else message)

    def getresponse(self) -> "HTTPResponse":
        response = HTTPResponse(self.sock)
        try:
            response.begin()
        except BaseException:
            response.close()
            raise
        if response.will_close:  # the response owns the socket now; it is closed once the body is read
            self.close()
        return response

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()

    def _host_header(self) -> str:
        host = self.host
        try:
            host.encode("ascii")
        except UnicodeEncodeError:
            host = host.encode("idna").decode("ascii")
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return host if self.port == DEFAULT_PORT else f"{host}:{self.port}"


class HTTPResponse:
    """Status, headers, and a body read whole (`read()`) or as it comes (`read1(n)`)."""

    def __init__(self, sock: Any) -> None:
        self.fp: Any = sock.makefile("rb")
        self.status = 0
        self.reason = ""
        self.headers: list[tuple[str, str]] = []
        self.will_close = True
        self.chunked = False
        self.length: int | None = None  # bytes of body left (not chunked)
        self._chunk_left: int | None = None

    # --- head -----------------------------------------------------------------------------

    def begin(self) -> None:
        while True:
            version = self._status_line()
            headers = self._header_lines()
            if self.status != 100:  # 100 Continue: the real answer follows
                break
        self.headers = headers
        values = {name.lower(): value for name, value in headers}
        self.chunked = values.get("transfer-encoding", "").lower() == "chunked"
        connection = values.get("connection", "").lower()
        if version == "HTTP/1.0":
            self.will_close = "keep-alive" not in connection and "keep-alive" not in values
        else:
            self.will_close = "close" in connection
        self.length = None if self.chunked else _content_length(values.get("content-length"))
        if self.status in (204, 304) or 100 <= self.status < 200:
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True
        if self.length == 0 and not self.chunked:
            self._done()

    def _status_line(self) -> str:
        line = self._line()
        if not line:
            raise RemoteDisconnected("Remote end closed connection without response")
        text = line.decode("iso-8859-1")
        version, _, rest = text.strip().partition(" ")
        status, _, self.reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or len(status) != 3 or not status.isdigit() or int(status) < 100:
            raise BadStatusLine(repr(text))
        self.status = int(status)
        return version

    def _header_lines(self) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = []
        while True:
            line = self._line()
            if line in (b"\r\n", b"\n", b""):
                return headers
            if len(headers) >= MAX_HEADERS:
                raise HTTPException(f"got more than {MAX_HEADERS} headers")
            text = line.decode("iso-8859-1").rstrip("\r\n")
            if text[:1] in (" ", "\t") and headers:  # obsolete line folding: part of the previous value
                name, value = headers[-1]
                headers[-1] = (name, value + " " + text.strip())
                continue
            name, _, value = text.partition(":")
            headers.append((name.strip(), value.strip()))

    def _line(self) -> bytes:
        line = self.fp.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise LineTooLong("header line")
        return line

    def getheaders(self) -> list[tuple[str, str]]:
        return list(self.headers)

    # --- body -----------------------------------------------------------------------------

    def read(self, amt: int | None = None) -> bytes:
        if amt is not None:
            return self.read1(amt)
        if self.fp is None:
            return b""
        if self.chunked:
            return b"".join(iter(lambda: self.read1(1 << 16), b""))
        if self.length is None:
            data = self.fp.read()
            self._done()
            return data
        data = self.fp.read(self.length)
        if len(data) < self.length:
            self._done()
            raise IncompleteRead(data, self.length - len(data))
        self.length = 0
        self._done()
        return data

    def read1(self, n: int = -1) -> bytes:
        if self.fp is None or n == 0:
            return b""
        size = n if n > 0 else 1 << 16
        if self.chunked:
            return self._read_chunk(size)
        if self.length is not None:
            size = min(size, self.length)
        data = self.fp.read1(size)
        if not data:
            self._done()
            if self.length:
                raise IncompleteRead(b"", self.length)
            return b""
        if self.length is not None:
            self.length -= len(data)
            if self.length == 0:
                self._done()
        return data

    def _read_chunk(self, size: int) -> bytes:
        if not self._chunk_left:
            self._chunk_left = self._chunk_size()
            if self._chunk_left == 0:
                self._header_lines()  # trailers
                self._done()
                return b""
        data = self.fp.read1(min(size, self._chunk_left))
        if not data:
            self._done()
            raise IncompleteRead(b"", self._chunk_left)
        self._chunk_left -= len(data)
        if self._chunk_left == 0:
            self._line()  # the CRLF after the chunk
        return data

    def _chunk_size(self) -> int:
        line = self._line().split(b";", 1)[0].strip()
        try:
            return int(line, 16)
        except ValueError:
            self._done()
            raise IncompleteRead(b"") from None

    def _done(self) -> None:
        fp, self.fp = self.fp, None
        if fp is not None:
            fp.close()

    def close(self) -> None:
        self._done()


def _content_length(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        return None
    return length if length >= 0 else None

"""kubectl_ray/kube/http11.py reads responses as http.client does: the same canned bytes from a real socket
give the same status, headers, body, keep-alive decision and kind of error through both."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import threading
from typing import Any, Iterator

import pytest

from kubectl_ray.kube import http11

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
RESPONSES = {
    "content-length": OK,
    "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nabcd\r\n3\r\nefg\r\n0\r\nX-Trailer: t\r\n\r\n",
    "chunked-upper-hex": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n",
    "close-delimited": b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end",
    "http10": b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc",
    "http10-keep-alive": b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc",
    "no-length": b"HTTP/1.1 200 OK\r\n\r\nbody until close",
    "no-content": b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
    "continue-first": b"HTTP/1.1 100 Continue\r\n\r\n" + OK,
    "bare-newlines": b"HTTP/1.1 404 Not Found\nContent-Length: 4\n\nnope",
    "folded-header": b"HTTP/1.1 200 OK\r\nX-Long: one\r\n two\r\nContent-Length: 0\r\n\r\n",
    "duplicate-headers": b"HTTP/1.1 200 OK\r\nX-A: 1\r\nX-A: 2\r\nContent-Length: 0\r\n\r\n",
    "negative-length": b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nrest",
    "short-body": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
    "short-chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc",
    "bad-chunk-size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    "nothing": b"",
    "garbage-status": b"SSH-2.0-OpenSSH_9.0\r\n\r\n",
    "bad-status-code": b"HTTP/1.1 2x0 OK\r\n\r\n",
    "too-many-headers": b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n",
    "long-header": b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000 + b"\r\n\r\n",
}


@pytest.fixture
def serve() -> Iterator[Any]:
    """serve(bytes) -> port of a server that answers each connection's request with those bytes, then closes."""
    sockets: list[socket.socket] = []

    def start(answer: bytes) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        sockets.append(listener)

        def loop() -> None:
            for _ in range(2):
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                with conn:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    conn.sendall(answer)
                    conn.shutdown(socket.SHUT_WR)
        threading.Thread(target=loop, daemon=True).start()
        return listener.getsockname()[1]

    yield start
    for sock in sockets:
        sock.close()


def exchange(module: Any, port: int) -> tuple[Any, ...]:
    """(status, headers, will_close, body) or the error's class name, through http.client or http11."""
    conn = module.HTTPConnection("127.0.0.1", port)
    conn.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        conn.putrequest("GET", "/api", skip_accept_encoding=True)
        conn.putheader("Accept", "application/json")
        conn.endheaders()
        response = conn.getresponse()
        head = (response.status, response.getheaders(), response.will_close)
        return (*head, response.read())
    except Exception as exc:  # noqa: BLE001 - the kind of error is what is compared
        return (type(exc).__name__,)
    finally:
        conn.close()


@pytest.mark.parametrize("name", RESPONSES)
def test_responses_read_as_http_client_reads_them(serve, name):
    port = serve(RESPONSES[name])
    ours, theirs = exchange(http11, port), exchange(http.client, port)
    if name == "folded-header":  # the email parser keeps the fold in the value; ours joins it with a space
        theirs = (theirs[0], [(k, " ".join(v.split())) for k, v in theirs[1]], *theirs[2:])
    assert ours == theirs


def test_request_bytes_match_http_client():
    """Request line, Host header (default port left out, IPv6 in brackets) and headers as http.client writes them."""
    class Capture:
        def __init__(self) -> None:
            self.data = b""

        def sendall(self, data: bytes) -> None:
            self.data += data

    for host, port in (("127.0.0.1", 6443), ("api.example", 80), ("::1", 8080)):
        sent = []
        for module in (http11, http.client):
            conn = module.HTTPConnection(host, port)
            conn.sock = Capture()
            conn.putrequest("POST", "/apis/ray.io/v1/namespaces/a/rayclusters?fieldManager=kubectl-ray",
                            skip_accept_encoding=True)
            conn.putheader("Accept", "application/json")
            conn.putheader("Authorization", b"Bearer t\xc3\xa9")
            conn.putheader("Content-Length", "2")
            conn.endheaders(b"{}")
            sent.append(conn.sock.data)
        assert sent[0] == sent[1]


@pytest.mark.parametrize("header", [("X", "a\r\nInjected: 1"), ("X\r\nY", "v"), ("", "v")])
def test_header_injection_is_refused(header):
    conn = http11.HTTPConnection("127.0.0.1", 1)
    conn.putrequest("GET", "/")
    with pytest.raises(ValueError):
        conn.putheader(*header)


def test_control_characters_in_the_target_are_refused():
    with pytest.raises(http11.HTTPException):
        http11.HTTPConnection("127.0.0.1", 1).putrequest("GET", "/a b")


def test_streamed_body_in_small_reads_is_the_whole_body(serve):
    body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (b"x" * 1000, b"y" * 5, b"z" * 70000)) + b"0\r\n\r\n"
    port = serve(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    conn = http11.HTTPConnection("127.0.0.1", port)
    conn.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.putrequest("GET", "/")
    conn.endheaders()
    response = conn.getresponse()
    pieces = list(iter(lambda: response.read1(777), b""))
    assert b"".join(pieces) == b"x" * 1000 + b"y" * 5 + b"z" * 70000 and max(map(len, pieces)) <= 777
    conn.close()


def test_plain_http_imports_neither_email_nor_ssl(emulator):
    """A plain-http list, start to end, in a fresh process."""
    script = ("import sys; from kubectl_ray.kube import connect; from kubectl_ray.kube.flags import ConnectionFlags; "
              "from kubectl_ray.kube.resources import RAYCLUSTERS; connect(ConnectionFlags(kubeconfig=sys.argv[1]))"
              ".list(RAYCLUSTERS); print(sorted(m for m in ('email', 'ssl', 'http.client') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script, emulator.kubeconfig], capture_output=True, text=True,
                            timeout=120)
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr

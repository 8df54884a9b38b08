"""A small client for the Ray dashboard's HTTP API, on http.client (no Ray, no requests).

Endpoints and shapes were measured against a real Ray 2.60 head (see
../shared/reference/test-infrastructure.md §5.4) and Ray's own client
(ray/dashboard/modules/job/sdk.py, dashboard_sdk.py):

    GET  /api/version                      {"version": "4", "ray_version": ..., "session_name": ...}
    GET  /api/gcs_healthz                  200 "success" (503 with a reason when the GCS is unhealthy)
    GET  /api/cluster_status[?format=1]    {"result": true, "msg": ..., "data": {...}}
    GET  /api/v0/nodes?limit=N             {"result": true, "data": {"result": {"total": N, "result": [...]}}}
    POST /api/jobs/                        {"submission_id": ...}; 400 text for a bad request, 500 traceback
    GET  /api/jobs/ | /api/jobs/<id> | /api/jobs/<id>/logs
    POST /api/jobs/<id>/stop               {"stopped": bool}
    DELETE /api/jobs/<id>                  {"deleted": bool}
    GET|PUT /api/packages/<protocol>/<name>   200 exists / 404 missing; PUT uploads the zip

Errors are reported the way Ray said them, on one line: a 500's Python traceback is reduced to
its final exception line, a 400's text is kept. The methods `version`, `gcs_healthz`,
`cluster_status` and `nodes` are shared with `kubectl ray debug`: keep their signatures stable.
"""

from __future__ import annotations

import http.client
import json
import os
import urllib.parse
from dataclasses import dataclass, field
from typing import IO, Any, Mapping

from kubectl_ray.errors import KubectlRayError, UsageError, one_line
from kubectl_ray.shapes import (MIB, ShapeError, TooLarge, check_depth, decode_json, describe, objects, read_body_capped,
                                text)

DEFAULT_TIMEOUT = 30.0  # seconds for one ordinary request
UPLOAD_TIMEOUT = 600.0  # a 100 MiB package over a slow port-forward
MAX_MESSAGE = 1000  # characters of Ray's error text we show
NODES_LIMIT = 10000  # Ray's RAY_MAX_LIMIT_FROM_API_SERVER; the API's own default is 100
# One answer, read in pieces and dropped once past this. The biggest real ones are a job's whole driver
# log (`job logs` without --follow; --follow streams it instead) and 10000 nodes (~2 KiB each, 20 MiB).
MAX_ANSWER_BYTES = 128 * MIB
TOKEN_HINT = ("the Ray cluster uses token authentication; kubectl ray reads the token from the RayCluster's "
              "Secret when it finds the cluster, or pass it with --headers '{\"Authorization\": \"Bearer TOKEN\"}'")


class DashboardError(KubectlRayError):
    """The dashboard answered with an error status; the message is Ray's, on one line."""

    def __init__(self, message: str, *, status: int | None = None, ray_message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.ray_message = ray_message


class DashboardUnreachable(DashboardError):
    """No HTTP answer at all: refused, reset, timed out, TLS failure."""


class DashboardTimeout(DashboardError):
    """No complete answer within the whole-request deadline (not retried: the dashboard is there but slow)."""


class JobNotFound(DashboardError):
    """404 for a job id (Ray: `Job <id> does not exist`)."""


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass(frozen=True)
class Health:
    """Result of a health endpoint: ok is True only for 200."""

    ok: bool
    status: int
    message: str


@dataclass(frozen=True)
class Address:
    scheme: str  # http | https
    host: str
    port: int | None
    prefix: str  # path prefix, e.g. behind an ingress: "/ray"

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port else host

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.prefix}"


def parse_address(address: str, *, flag: str = "--address") -> Address:
    """A dashboard URL as Ray accepts it: scheme optional (http), trailing slashes dropped."""
    text = (address or "").strip()
    if not text:
        raise UsageError(f"{flag} was provided but is empty")
    if "://" not in text:
        text = "http://" + text
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise UsageError(f"invalid {flag} {address!r}: the Ray dashboard address must be http:// or https://")
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"invalid {flag} {address!r}: bad port") from None
    if not parts.hostname:
        raise UsageError(f"invalid {flag} {address!r}: no host")
    if parts.query or parts.fragment:
        raise UsageError(f"invalid {flag} {address!r}: must not have a query or fragment")
    return Address(parts.scheme, parts.hostname, port, parts.path.rstrip("/"))


def ray_message(body: str) -> str:
    """What Ray said, on one line: the final exception of a traceback, else the text itself."""
    text = body.strip()
    lines = text.splitlines()
    frames = [i for i, line in enumerate(lines) if line.startswith('  File "')]
    if "Traceback (most recent call last)" in text and frames:
        rest = lines[frames[-1] + 1:]
        while rest and (rest[0].startswith("    ") or not rest[0].strip()):  # source line, ^^^ markers
            rest = rest[1:]
        rest = [line for line in rest if line.strip(" .")]  # Ray's client appends a lone "." line
        text = "\n".join(rest) or lines[-1]
    message = one_line(text)
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + "..."


def parse_verify(value: str | bool | None) -> bool | str:
    """Ray's --verify: true/false/1/0 (any case), or a path to a CA file or directory."""
    if value is None or isinstance(value, bool):
        return True if value is None else value
    if value.lower() == "true" or value == "1":
        return True
    if value.lower() == "false" or value == "0":
        return False
    if not os.path.exists(value):
        raise UsageError(f"invalid --verify {value!r}: not true/false and no such CA file or directory")
    return value


@dataclass
class DashboardClient:
    """One Ray dashboard. Headers (and the auth token) go on every request, never into messages."""

    address: str
    headers: Mapping[str, str] = field(default_factory=dict)
    verify: bool | str = True
    timeout: float = DEFAULT_TIMEOUT  # whole request: connect, headers and body (--request-timeout)
    token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._addr = parse_address(self.address)
        self.address = self._addr.url
        merged = {str(k): str(v) for k, v in dict(self.headers).items()}
        if self.token and not any(k.lower() == "authorization" for k in merged):
            merged["Authorization"] = f"Bearer {self.token}"  # what Ray's own client sends
        self.headers = merged
        self._ssl: Any = None

    def __repr__(self) -> str:  # never show headers: they may carry a token
        return f"DashboardClient({self.address!r})"

    # --- reads shared with `kubectl ray debug` ------------------------------------------------

    def version(self) -> dict[str, Any]:
        """GET /api/version: {"version", "ray_version", "ray_commit", "session_name"}."""
        return self._json("GET", "/api/version", what="reading the Ray version")

    def gcs_healthz(self) -> Health:
        """GET /api/gcs_healthz: the check KubeRay's head readiness probe uses."""
        resp = self.request("GET", "/api/gcs_healthz")
        return Health(resp.status == 200, resp.status, ray_message(resp.text) or resp.reason)

    def cluster_status(self, *, formatted: bool = False) -> Any:
        """GET /api/cluster_status: the autoscaler's view (`data`); formatted=True gives `ray status` text."""
        data = self._envelope("GET", "/api/cluster_status" + ("?format=1" if formatted else ""),
                              what="reading the cluster status")
        if formatted:
            return text(data, "clusterStatus")
        return self._expect(data, dict, "/api/cluster_status", "data", what="reading the cluster status")

    def nodes(self, *, limit: int = NODES_LIMIT, detail: bool = False) -> list[dict[str, Any]]:
        """GET /api/v0/nodes: every Ray node (node_id, node_ip, is_head_node, state, resources_total, ...)."""
        query = urllib.parse.urlencode({"limit": limit, **({"detail": 1} if detail else {})})
        data = self._envelope("GET", f"/api/v0/nodes?{query}", what="listing the Ray nodes")
        return objects(data, "result", "result")

    # --- jobs ------------------------------------------------------------------------------------

    def submit_job(self, payload: Mapping[str, Any]) -> str:
        """POST /api/jobs/; keys with None values are dropped like Ray's client does. Returns the id."""
        body = {k: v for k, v in payload.items() if v is not None}
        doc = self._json("POST", "/api/jobs/", json_body=body, what="submitting the job")
        return text(doc, "submission_id") or text(doc, "job_id")

    def list_jobs(self) -> list[dict[str, Any]]:
        return objects(self._json("GET", "/api/jobs/", what="listing the Ray jobs", shape=list))

    def get_job(self, job_id: str) -> dict[str, Any]:
        return self._json("GET", f"/api/jobs/{_q(job_id)}", what=f"reading Ray job {job_id}", job_id=job_id)

    def job_logs(self, job_id: str) -> str:
        doc = self._json("GET", f"/api/jobs/{_q(job_id)}/logs", what=f"reading the logs of Ray job {job_id}",
                         job_id=job_id)
        return text(doc, "logs")

    def stop_job(self, job_id: str) -> bool:
        doc = self._json("POST", f"/api/jobs/{_q(job_id)}/stop", what=f"stopping Ray job {job_id}", job_id=job_id)
        return doc.get("stopped") is True

    def delete_job(self, job_id: str) -> bool:
        doc = self._json("DELETE", f"/api/jobs/{_q(job_id)}", what=f"deleting Ray job {job_id}", job_id=job_id)
        return doc.get("deleted") is True

    # --- packages (working_dir / py_modules) -----------------------------------------------------

    def package_exists(self, uri: str) -> bool:
        """GET /api/packages/<protocol>/<name>: 200 exists, 404 missing (also pins it for a while)."""
        resp = self.request("GET", _package_path(uri))
        if resp.status == 200:
            return True
        if resp.status == 404:
            return False
        raise self._error(resp, f"checking package {uri}")

    def upload_package(self, uri: str, data: bytes | IO[bytes], size: int | None = None) -> None:
        """PUT the package's bytes (a file object is streamed, not read into memory)."""
        length = len(data) if isinstance(data, (bytes, bytearray)) else size
        resp = self.request("PUT", _package_path(uri), body=data, content_type="application/octet-stream",
                            content_length=length, timeout=UPLOAD_TIMEOUT)
        if resp.status != 200:
            raise self._error(resp, f"uploading package {uri}")

    # --- WebSocket details for logtail.py -------------------------------------------------------

    def open_socket(self, timeout: float) -> Any:
        """A socket connected to the dashboard (TLS for https, verified as `verify` says), for the
        log tail's WebSocket; like every request here, it goes direct, never through a proxy."""
        import socket

        port = self._addr.port or (443 if self._addr.scheme == "https" else 80)
        sock = socket.create_connection((self._addr.host, port), timeout=timeout)
        if self._addr.scheme != "https":
            return sock
        try:
            return self._ssl_context().wrap_socket(sock, server_hostname=self._addr.host)
        except BaseException:
            sock.close()
            raise

    def websocket_request(self, path: str) -> tuple[str, list[tuple[str, str]]]:
        """The request target and headers (Host, then ours: the token travels like on any request)."""
        return self._addr.prefix + path, [("Host", self._addr.netloc), *self.headers.items()]

    # --- plumbing --------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, body: bytes | IO[bytes] | None = None,
                json_body: Any = None, content_type: str | None = None, content_length: int | None = None,
                timeout: float | None = None) -> Response:
        """One HTTP exchange within one deadline (a dashboard trickling bytes cannot stretch it);
        no answer at all is DashboardUnreachable, a too slow one DashboardTimeout."""
        from kubectl_ray.kube.deadline import Deadline, DeadlineSocket

        headers = dict(self.headers)
        if json_body is not None:
            body = json.dumps(json_body).encode()
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        if content_length is not None:
            headers["Content-Length"] = str(content_length)
        deadline = Deadline(self.timeout if timeout is None else timeout)
        conn = self._connection(deadline.seconds)
        try:
            conn.connect()
            conn.sock = DeadlineSocket(conn.sock, deadline)
            conn.request(method, self._addr.prefix + path, body=body, headers=headers)
            raw = conn.getresponse()
            data = read_body_capped(raw, MAX_ANSWER_BYTES, _length(raw.getheader("content-length")))
            return Response(raw.status, raw.reason, {k.lower(): v for k, v in raw.getheaders()}, data)
        except TooLarge as exc:
            exc.pieces.clear()
            raise DashboardError(f"the answer of the Ray dashboard at {self.address} to {method} {path} is larger "
                                 f"than {MAX_ANSWER_BYTES // MIB} MiB; it is not read"
                                 + ("; follow the log instead (--follow), which streams it" if path.endswith("/logs") else "")
                                 ) from None
        except TimeoutError:
            raise DashboardTimeout(f"the Ray dashboard at {self.address} did not answer within "
                                   f"{deadline.seconds:g}s") from None
        except (OSError, http.client.HTTPException) as exc:
            raise DashboardUnreachable(f"cannot reach the Ray dashboard at {self.address}: {_describe(exc)}") from None
        finally:
            conn.close()

    def _connection(self, timeout: float | None) -> http.client.HTTPConnection:
        if self._addr.scheme == "https":
            return http.client.HTTPSConnection(self._addr.host, self._addr.port, timeout=timeout,
                                               context=self._ssl_context())
        return http.client.HTTPConnection(self._addr.host, self._addr.port, timeout=timeout)

    def _ssl_context(self) -> Any:
        if self._ssl is None:
            import ssl  # only for https dashboards

            if self.verify is False:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            elif isinstance(self.verify, str):
                is_dir = os.path.isdir(self.verify)
                ctx = ssl.create_default_context(cafile=None if is_dir else self.verify,
                                                 capath=self.verify if is_dir else None)
            else:
                ctx = ssl.create_default_context()
            self._ssl = ctx
        return self._ssl

    def _json(self, method: str, path: str, *, what: str, json_body: Any = None, job_id: str | None = None,
              shape: type = dict) -> Any:
        """The answer as JSON of the given shape (an object unless said otherwise)."""
        resp = self.request(method, path, json_body=json_body)
        if resp.status != 200:
            if resp.status == 404 and job_id is not None:
                raise JobNotFound(f"Ray job {job_id} does not exist on the cluster at {self.address}",
                                  status=404, ray_message=ray_message(resp.text))
            raise self._error(resp, what)
        source = f"the answer from {self.address}{path}"
        try:
            doc = decode_json(resp.body, source)
            check_depth(doc, source)  # debug keeps these answers and walks them (redaction, its report)
        except ShapeError as exc:
            hint = "" if "nested" in exc.message else f" (is this a Ray dashboard?): {ray_message(resp.text)[:200]}"
            raise DashboardError(f"{what}: {exc.message}{hint}", status=resp.status) from None
        return self._expect(doc, shape, path, "", what=what)

    def _expect(self, value: Any, shape: type, path: str, field: str, *, what: str) -> Any:
        if type(value) is not shape:
            where = f"`{field}` in the answer" if field else "the answer"
            want = "an object" if shape is dict else "an array"
            raise DashboardError(f"{what}: {where} from {self.address}{path} is not {want} (got {describe(value)}); "
                                 "is this a Ray dashboard?")
        return value

    def _envelope(self, method: str, path: str, *, what: str) -> Any:
        """The state/autoscaler APIs wrap answers in {"result": bool, "msg": str, "data": ...}."""
        doc = self._json(method, path, what=what)
        if doc.get("result") is False:
            raise DashboardError(f"{what}: Ray said: {one_line(text(doc, 'msg') or 'no reason given')}")
        return doc.get("data")

    def _error(self, resp: Response, what: str) -> DashboardError:
        message = ray_message(resp.text) or resp.reason
        if "<html" in resp.text[:200].lower():
            message = f"{resp.reason} (an HTML page: is {self.address} a Ray dashboard?)"
        text = f"{what} failed: the Ray dashboard answered {resp.status}: {message}"
        if resp.status in (401, 403):
            text += f"; {TOKEN_HINT}"
        return DashboardError(text, status=resp.status, ray_message=message)


def _length(header: str | None) -> int | None:
    try:
        return int(header) if header else None
    except ValueError:
        return None


def _q(job_id: str) -> str:
    return urllib.parse.quote(job_id, safe="")


def _package_path(uri: str) -> str:
    """gcs://_ray_pkg_x.zip -> /api/packages/gcs/_ray_pkg_x.zip (Ray's uri_to_http_components)."""
    protocol, sep, name = uri.partition("://")
    if not sep or not name:
        raise ValueError(f"not a package URI: {uri!r}")
    return f"/api/packages/{protocol}/{urllib.parse.quote(name, safe='')}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the connection was closed without an answer"
    text = str(exc) or type(exc).__name__
    return one_line(text)

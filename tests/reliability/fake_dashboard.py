"""A scriptable Ray dashboard on 127.0.0.1 for mutation tests (the real Ray head is for behaviour tests).

It answers the endpoints kubectl-ray uses the way Ray 2.5x does (shapes from ray/dashboard.py's
docstring), for one finished job. `mutation`/`start`/`count` replace answers as the API suite does:
from the start-th request on, `count` of them. Mutations of kind `ws-*` change the log tail's
WebSocket instead: a binary frame, bytes that are not UTF-8, a frame announcing 2**62 bytes (70 MiB
of which come), or a close with an odd code.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from typing import Any

from aiohttp import web

from tests.reliability.mutations import Mutation, answer

JOB_ID = "raysubmit_hostile0000001"
LOG = "line 1\nline 2\n"
JOB = {"type": "SUBMISSION", "job_id": None, "submission_id": JOB_ID, "driver_info": None, "status": "SUCCEEDED",
       "entrypoint": "python x.py", "message": "Job finished successfully.", "error_type": None,
       "start_time": 1760000000000, "end_time": 1760000001000, "metadata": {}, "runtime_env": {},
       "driver_agent_http_address": "http://10.0.0.1:52365", "driver_node_id": "ab" * 28}
NODE = {"node_id": "ab" * 28, "node_ip": "10.0.0.1", "is_head_node": True, "state": "ALIVE", "state_message": None,
        "node_name": "10.0.0.1", "resources_total": {"CPU": 2.0, "memory": 4e9, "node:10.0.0.1": 1.0},
        "labels": {"ray.io/node_id": "ab" * 28}, "start_time_ms": 1760000000000, "end_time_ms": 0}
CLUSTER_STATUS = {"autoscalingStatus": "ok", "autoscalingError": None, "clusterStatus": {
    "loadMetricsReport": {"usage": {"CPU": [0.0, 2.0]}, "resourceDemand": [[{"CPU": 1.0}, 1]], "pgDemand": [],
                          "requestDemand": [], "nodeTypes": [[{"CPU": 2.0}, 1]]},
    "autoscalerReport": {"activeNodes": {"headgroup": 1}, "pendingNodes": [], "pendingLaunches": {},
                         "failedNodes": []}}}
WS_KINDS = ("ws-binary", "ws-not-utf8", "ws-huge-frame", "ws-close-odd")


class FakeDashboard:
    def __init__(self) -> None:
        self.url = ""
        self.mutation: Mutation | None = None
        self.start = 0
        self.count: int | None = None
        self.seen = 0
        self._loop: Any = None
        self._stop: Any = None
        self._thread: threading.Thread | None = None

    def arm(self, mutation: Mutation | None, start: int = 0, count: int | None = None) -> None:
        self.mutation, self.start, self.count, self.seen = mutation, start, count, 0

    # --- serving ----------------------------------------------------------------------------------------

    def __enter__(self) -> "FakeDashboard":
        ready = threading.Event()

        async def serve() -> None:
            runner = web.AppRunner(self._app(), access_log=None, handle_signals=False, shutdown_timeout=1)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            ready.set()
            await self._stop.wait()
            await runner.cleanup()

        self._thread = threading.Thread(target=lambda: asyncio.run(serve()), name="fake-dashboard", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake dashboard did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        assert self._thread is not None
        self._thread.join(10)

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._mutate], client_max_size=256 * 1024 * 1024)
        routes = [("GET", "/api/version", lambda r: web.json_response(
                      {"version": "4", "ray_version": "2.52.0", "ray_commit": "abc", "session_name": "s"})),
                  ("GET", "/api/gcs_healthz", lambda r: web.Response(text="success")),
                  ("GET", "/api/cluster_status", lambda r: web.json_response(
                      {"result": True, "msg": "", "data": CLUSTER_STATUS})),
                  ("GET", "/api/v0/nodes", lambda r: web.json_response(
                      {"result": True, "msg": "", "data": {"result": {"total": 1, "result": [NODE]}}})),
                  ("GET", "/api/jobs/", lambda r: web.json_response([JOB])),
                  ("POST", "/api/jobs/", lambda r: web.json_response({"submission_id": JOB_ID, "job_id": None})),
                  ("GET", "/api/jobs/{id}", lambda r: web.json_response(JOB)),
                  ("GET", "/api/jobs/{id}/logs", lambda r: web.json_response({"logs": LOG})),
                  ("POST", "/api/jobs/{id}/stop", lambda r: web.json_response({"stopped": False})),
                  ("GET", "/api/packages/{protocol}/{name}", lambda r: web.Response(status=404, text="not found")),
                  ]
        for method, path, handler in routes:
            app.router.add_route(method, path, _async(handler))
        app.router.add_put("/api/packages/{protocol}/{name}", self._upload)
        app.router.add_get("/api/jobs/{id}/logs/tail", self._tail)
        return app

    async def _upload(self, request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok")

    @web.middleware
    async def _mutate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.seen += 1
        mutation = self.mutation
        active = mutation is not None and self.seen > self.start and (
            self.count is None or self.seen <= self.start + self.count)
        if not active or mutation.kind in WS_KINDS:
            return await handler(request)
        if request.path.endswith("/logs/tail"):  # the handshake answered with the mutation
            return answer(mutation, None)
        honest = await handler(request)
        doc = None
        if isinstance(honest, web.Response) and honest.content_type == "application/json" and honest.body:
            import json

            doc = json.loads(honest.body)
        return answer(mutation, doc)

    async def _tail(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        kind = self.mutation.kind if self.mutation is not None else ""
        if kind == "ws-binary":
            await ws.send_bytes(b"\x00\x01binary")
        elif kind == "ws-not-utf8":
            assert request.transport is not None
            request.transport.write(b"\x81\x04\xff\xfe\xfd\xfc")  # a text frame whose payload is not UTF-8
        elif kind == "ws-huge-frame":
            await _huge_frame(request)
            return ws
        await ws.send_str(LOG)
        await ws.close(code=4999 if kind == "ws-close-odd" else 1000)
        return ws


async def _huge_frame(request: web.Request) -> None:
    """A text frame announcing 2**62 bytes, then 70 MiB of them."""
    transport = request.transport
    assert transport is not None
    transport.write(b"\x81\x7f" + struct.pack("!Q", 2**62))
    block = b"x" * (1 << 20)
    for _ in range(70):
        if transport.is_closing():
            return
        transport.write(block)
        await asyncio.sleep(0)
        while transport.get_write_buffer_size() > 8 << 20 and not transport.is_closing():
            await asyncio.sleep(0.01)


def _async(handler: Any) -> Any:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        return handler(request)

    return wrapped

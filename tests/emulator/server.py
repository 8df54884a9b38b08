"""The emulator's HTTP side: an aiohttp application speaking the Kubernetes REST API.

Covers what kubectl-ray and the real `kubectl` need: discovery (+ minimal OpenAPI v3 so
`kubectl apply` validates), CRUD with 201 on create, PUT with resourceVersion conflicts, merge and
JSON patch, server-side apply, dry-run, label/field selectors, limit/continue pagination, watch
with timeoutSeconds, pod logs as text, pod exec over the v5/v4.channel.k8s.io WebSocket protocols,
token/basic/client-certificate auth, RBAC denials and programmable faults.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from typing import Any, AsyncIterator, Callable

from aiohttp import web

from tests.emulator import api, tables
from tests.emulator.api import status_body
from tests.emulator.resources import ResourceInfo
from tests.emulator.selectors import SelectorError, field_selector, label_selector
from tests.emulator.state import Emulator, Fault, RecordedRequest, Watcher

_RECORDED_HEADERS = ("content-type", "accept", "user-agent", "authorization", "impersonate-user",
                     "impersonate-group", "impersonate-uid")
_TYPED_GROUPS = ("", "apps", "batch", "discovery.k8s.io", "node.k8s.io", "networking.k8s.io",
                 "rbac.authorization.k8s.io", "apiextensions.k8s.io")


def error(code: int, message: str, reason: str | None = None, details: dict | None = None,
          headers: dict | None = None) -> web.Response:
    return web.json_response(status_body(code, message, reason, details), status=code, headers=headers)


def _warning(text: str) -> str:
    """A Warning header value (RFC 7234 warn-text is a quoted-string), as kube-apiserver writes it."""
    return '299 - "' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _api_error(exc: api.ApiError) -> web.Response:
    return web.json_response(exc.body, status=exc.code)


class Route:
    """What a request addresses, parsed from its path."""

    def __init__(self) -> None:
        self.kind = "resource"  # resource | discovery | version | openapi | unknown
        self.res: ResourceInfo | None = None
        self.namespace: str | None = None
        self.name: str | None = None
        self.sub: str | None = None
        self.watch_prefix = False
        self.group = ""
        self.version = ""
        self.root = ""  # "api" or "apis"


def parse_route(emu: Emulator, path: str) -> Route:
    route = Route()
    parts = [p for p in path.split("/") if p]
    if parts in (["version"],):
        route.kind = "version"
        return route
    if parts and parts[0] == "openapi":
        route.kind = "openapi"
        return route
    route.root = parts[0] if parts else ""
    if parts and parts[0] == "api":
        if len(parts) <= 2:
            route.kind = "discovery"
            route.version = parts[1] if len(parts) == 2 else ""
            return route
        route.group, route.version, rest = "", parts[1], parts[2:]
    elif parts and parts[0] == "apis":
        if len(parts) <= 3:
            route.kind = "discovery"
            route.group = parts[1] if len(parts) > 1 else ""
            route.version = parts[2] if len(parts) > 2 else ""
            return route
        route.group, route.version, rest = parts[1], parts[2], parts[3:]
    else:
        route.kind = "unknown"
        return route
    if rest and rest[0] == "watch":
        route.watch_prefix = True
        rest = rest[1:]
    if len(rest) >= 3 and rest[0] == "namespaces":
        candidate = emu.registry.by_path(route.group, route.version, rest[2])
        if candidate is not None and candidate.namespaced:
            route.namespace, rest = rest[1], rest[2:]
    if not rest:
        route.kind = "unknown"
        return route
    route.res = emu.registry.by_path(route.group, route.version, rest[0])
    if route.res is None:
        route.kind = "unknown"
        return route
    route.name = rest[1] if len(rest) > 1 else None
    route.sub = rest[2] if len(rest) > 2 else None
    return route


def verb_of(method: str, route: Route, query: dict[str, list[str]]) -> str:
    if route.kind != "resource":
        return "discovery" if route.kind in ("discovery", "version", "openapi") else "unknown"
    if route.sub == "exec":
        return "exec"
    if method == "GET":
        if route.name:
            return "get"
        return "watch" if route.watch_prefix or parse_bool(query.get("watch", [""])[0]) else "list"
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete" if route.name else "deletecollection"}.get(method, method.lower())


class EmulatorApp:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    # --- entry --------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        emu = self.emu
        query = {k: request.query.getall(k) for k in request.query.keys()}
        raw = await request.read()
        route = parse_route(emu, request.path)
        rec = RecordedRequest(
            method=request.method, path=request.path, query=query, body=_decode_body(raw, request.content_type),
            headers={k.lower(): v for k, v in request.headers.items() if k.lower() in _RECORDED_HEADERS},
            verb=verb_of(request.method, route, query),
            resource=(route.res.plural + (f"/{route.sub}" if route.sub else "")) if route.res else "",
            namespace=route.namespace, name=route.name,
        )
        rec.headers["impersonate-group"] = ",".join(request.headers.getall("Impersonate-Group", []))
        user = self._authenticate(request)
        rec.user = user
        emu.record(rec)
        if user is None:
            return error(401, "Unauthorized")
        fault = emu.take_fault(rec)
        if fault is not None:
            if fault.hold_until:
                await self._barrier(fault)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.shutdown and emu.shutdown_hook is not None:
                emu.shutdown_hook()
                return await self._reset(request)
            if fault.reset:
                return await self._reset(request)
            if fault.status:
                body = fault.body or status_body(fault.status, f"injected fault: HTTP {fault.status}")
                return web.json_response(body, status=fault.status, headers=fault.headers)
        if emu.is_forbidden(rec):
            return self._forbidden(rec, user)
        mutate = emu.mutate_response
        if mutate is not None and rec.verb == "watch":
            replaced = mutate(rec, None)
            if replaced is not None:
                return replaced
        try:
            response = await self._dispatch(request, route, rec, fault)
        except SelectorError as exc:
            response = error(400, str(exc))
        if mutate is not None and not response.prepared:
            response = mutate(rec, response) or response
        rec.status = response.status
        return response

    async def _barrier(self, fault: Fault) -> None:
        """Hold requests until `hold_until` of them arrived, then release them in the same loop tick (so
        they all read the same state before any later write is processed)."""
        barriers = self.__dict__.setdefault("_barriers", {})
        event = barriers.setdefault(id(fault), asyncio.Event())
        if fault.hits >= fault.hold_until:
            event.set()
            return
        try:
            await asyncio.wait_for(event.wait(), 10)
        except asyncio.TimeoutError:
            pass

    def _authenticate(self, request: web.Request) -> str | None:
        emu = self.emu
        header = request.headers.get("Authorization", "")
        cert = request.transport.get_extra_info("peercert") if request.transport else None
        if cert:
            for rdn in cert.get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        return value
        if emu.tokens is None and not emu.basic_users and not emu.require_client_cert_users:
            return "admin"
        if header.startswith("Bearer ") and emu.tokens and header[7:] in emu.tokens:
            return emu.tokens[header[7:]]
        if header.startswith("Basic "):
            try:
                creds = base64.b64decode(header[6:]).decode()
            except ValueError:
                return None
            return emu.basic_users.get(creds)
        return None

    def _forbidden(self, rec: RecordedRequest, user: str) -> web.Response:
        res = rec.resource.split("/")[0]
        group = self.emu.registry.by_path(*_group_version(rec.path), res) if res else None
        group_name = group.group if group else ""
        display = f"{res}.{group_name}" if group_name else res
        where = f'in the namespace "{rec.namespace}"' if rec.namespace else "at the cluster scope"
        verb = rec.verb if rec.verb != "get" or not rec.resource.endswith("/log") else "get"
        message = (f'{display} is forbidden: User "{user}" cannot {verb} resource "{res}" in API group '
                   f'"{group_name}" {where}')
        return error(403, message, details={"group": group_name, "kind": res})

    async def _reset(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.content_length = 4096
        await response.prepare(request)
        await response.write(b'{"kind": "RayClusterList", "items": [')
        if request.transport:
            request.transport.abort()
        return response

    async def _dispatch(self, request: web.Request, route: Route, rec: RecordedRequest,
                        fault: Fault | None) -> web.StreamResponse:
        if route.kind == "version":
            return web.json_response(self.emu.server_version)
        if route.kind == "discovery":
            return self._discovery(route)
        if route.kind == "openapi":
            return self._openapi(request.path)
        if route.kind != "resource" or route.res is None:
            return error(404, "the server could not find the requested resource", details={})
        res = route.res
        verb = rec.verb
        if res.plural == "pods" and route.sub == "log":
            return await self._pod_log(request, route, rec)
        if res.plural == "pods" and route.sub == "exec":
            return await self._exec(request, route, rec)
        if verb == "get":
            return self._get(request, route, rec)
        if verb == "list":
            return self._list(request, route, rec)
        if verb == "watch":
            return await self._watch(request, route, rec, fault)
        if verb == "create":
            return self._create(route, rec)
        if verb == "update":
            return self._replace(route, rec)
        if verb == "patch":
            return self._patch(request, route, rec)
        if verb == "delete":
            return self._delete(route, rec)
        return error(405, f"{verb} is not supported by the emulator")

    # --- discovery ------------------------------------------------------------------------------

    def _discovery(self, route: Route) -> web.Response:
        gvs = self.emu.registry.group_versions()
        if route.root == "api" and not route.version:
            return web.json_response({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
        if route.root == "apis" and not route.group:
            groups = sorted({gv.split("/", 1)[0] for gv in gvs if "/" in gv})
            return web.json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                self._group_doc(g, [gv for gv in gvs if gv.startswith(g + "/")]) for g in groups]})
        if route.group and not route.version:
            versions = [gv for gv in gvs if gv.startswith(route.group + "/")]
            if not versions:
                return error(404, "the server could not find the requested resource", details={})
            return web.json_response(self._group_doc(route.group, versions))
        gv = f"{route.group}/{route.version}" if route.group else route.version
        if gv not in gvs:
            return error(404, "the server could not find the requested resource", details={})
        resources = []
        for res in gvs[gv]:
            entry = {"name": res.plural, "singularName": res.singular, "namespaced": res.namespaced, "kind": res.kind,
                     "verbs": list(res.verbs)}
            if res.short_names:
                entry["shortNames"] = list(res.short_names)
            if res.categories:
                entry["categories"] = list(res.categories)
            resources.append(entry)
            for sub in res.subresources:
                sub_kind = {"log": "Pod", "exec": "PodExecOptions", "scale": "Scale"}.get(sub, res.kind)
                verbs = {"log": ["get"], "exec": ["create", "get"], "status": ["get", "patch", "update"]}.get(sub, ["get", "patch", "update"])
                resources.append({"name": f"{res.plural}/{sub}", "singularName": "", "namespaced": res.namespaced,
                                  "kind": sub_kind, "verbs": verbs})
        return web.json_response({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                                  "resources": resources})

    def _group_doc(self, group: str, versions: list[str]) -> dict:
        entries = [{"groupVersion": gv, "version": gv.split("/", 1)[1]} for gv in versions]
        return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": entries,
                "preferredVersion": entries[0]}

    def _openapi(self, path: str) -> web.Response:
        gvs = self.emu.registry.group_versions()
        if path.rstrip("/") == "/openapi/v3":
            paths = {}
            for gv in gvs:
                key = f"apis/{gv}" if "/" in gv else f"api/{gv}"
                paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash=0"}
            return web.json_response({"paths": paths})
        prefix = "/openapi/v3/"
        if path.startswith(prefix):
            key = path[len(prefix):]
            gv = key.split("/", 1)[1] if key.startswith(("apis/", "api/")) else ""
            if gv in gvs:
                return web.json_response(_openapi_doc(gvs[gv]))
        return error(404, "the server could not find the requested resource", details={})

    # --- reads -------------------------------------------------------------------------------------

    def _get(self, request: web.Request, route: Route, rec: RecordedRequest) -> web.Response:
        res = route.res
        assert res is not None and route.name is not None
        obj = self.emu.peek(res, route.namespace if res.namespaced else None, route.name)
        if obj is None:
            return self._not_found(res, route.name)
        if tables.wants_table(request.headers.get("Accept", "")):
            return web.json_response(self._table(res, [obj], rec, self.emu.resource_version))
        return web.json_response(obj)

    def _not_found(self, res: ResourceInfo, name: str) -> web.Response:
        return _api_error(api.not_found(res, name))

    def _table(self, res: ResourceInfo, items: list[dict], rec: RecordedRequest, rv: str, **meta: Any) -> dict:
        columns, row = tables.converter(res, self.emu.crd_kind(res))
        return tables.table(columns, [row(o) for o in items], items, resource_version=rv,
                            include_object=rec.q("includeObject") or "Metadata", **meta)

    def _list(self, request: web.Request, route: Route, rec: RecordedRequest) -> web.Response:
        """One page in etcd key order; a continue token resumes after the last key (no copies, no rescans)."""
        res = route.res
        assert res is not None
        emu = self.emu
        selectors = rec.q("labelSelector") or rec.q("fieldSelector")
        predicate_l = label_selector(rec.q("labelSelector"))
        predicate_f = field_selector(rec.q("fieldSelector"))
        namespace = route.namespace if res.namespaced else None
        after, list_rv = None, emu.resource_version
        token = rec.q("continue")
        if token:
            try:
                state = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
                after, list_rv = (str(state["start"][0]), str(state["start"][1])), str(state["rv"])
            except (ValueError, KeyError, IndexError, TypeError):
                return error(400, "continue key is not valid: invalid token")
        limit = int(rec.q("limit") or 0)
        if emu.max_page_size:
            limit = min(limit, emu.max_page_size) if limit else emu.max_page_size
        page: list[dict[str, Any]] = []
        more = False
        last_key: tuple[str, str] | None = None
        for obj in emu.iter_sorted(res, namespace, after):
            if not (predicate_l(obj) and predicate_f(obj)):
                continue
            if limit and len(page) == limit:
                more = True
                break
            page.append(obj)
            last_key = emu._key(res, obj["metadata"])
        meta: dict[str, Any] = {"resourceVersion": list_rv}
        if more and last_key is not None:
            meta["continue"] = base64.urlsafe_b64encode(json.dumps({"start": list(last_key), "rv": list_rv}).encode()).decode()
            if not selectors:
                meta["remainingItemCount"] = emu.count_after(res, namespace, last_key)
        if tables.wants_table(request.headers.get("Accept", "")):
            return web.json_response(self._table(res, page, rec, list_rv, continue_token=meta.get("continue"),
                                                 remaining=meta.get("remainingItemCount")))
        if res.group in _TYPED_GROUPS:  # typed lists carry no per-item kind/apiVersion on the wire
            page = [{k: v for k, v in item.items() if k not in ("kind", "apiVersion")} for item in page]
        return web.json_response({"apiVersion": res.group_version, "kind": f"{res.kind}List", "metadata": meta,
                                  "items": page})

    async def _watch(self, request: web.Request, route: Route, rec: RecordedRequest,
                     fault: Fault | None) -> web.StreamResponse:
        res = route.res
        assert res is not None
        emu = self.emu
        label_p, field_p = label_selector(rec.q("labelSelector")), field_selector(rec.q("fieldSelector"))
        as_table = tables.wants_table(request.headers.get("Accept", ""))
        queue: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()
        watcher = Watcher(res.key, route.namespace if res.namespaced else None,
                          lambda o: label_p(o) and field_p(o),
                          lambda ev: loop.call_soon_threadsafe(queue.put_nowait, ev))
        with emu.lock:
            emu.watchers.append(watcher)
            rv = rec.q("resourceVersion")
            initial = [] if rv not in (None, "", "0") else [
                {"type": "ADDED", "object": o} for o in emu.view(res, watcher.namespace) if watcher.predicate(o)]
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        timeout = float(rec.q("timeoutSeconds") or 300)
        deadline = time.monotonic() + timeout
        close_after = fault.close_watch_after if fault else None
        sent = 0

        def encode(event: dict[str, Any]) -> bytes:
            if as_table and event.get("type") != "ERROR":
                event = {"type": event["type"], "object": self._table(res, [event["object"]], rec,
                                                                      event["object"]["metadata"].get("resourceVersion", ""))}
            return json.dumps(event).encode() + b"\n"

        try:
            await response.prepare(request)
            too_old = rv not in (None, "", "0") and rv.isdigit() and int(rv) < emu.compacted_rv
            if too_old or (fault is not None and fault.watch_gone):
                await response.write(json.dumps({"type": "ERROR", "object": status_body(410, f"too old resource version: {rv}", "Expired")}).encode() + b"\n")
                return response
            for event in initial:
                if close_after is not None and sent >= close_after:
                    return response
                await response.write(encode(event))
                sent += 1
            while True:
                if close_after is not None and sent >= close_after:
                    return response
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    event = await asyncio.wait_for(queue.get(), remaining)
                except asyncio.TimeoutError:
                    break
                await response.write(encode(event))
                sent += 1
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            with emu.lock:
                if watcher in emu.watchers:
                    emu.watchers.remove(watcher)
        return response

    # --- writes (semantics in api.py) ---------------------------------------------------------------

    def _write(self, call: Callable[[], api.Result]) -> web.Response:
        try:
            result = call()
        except api.ApiError as exc:
            return _api_error(exc)
        headers = {"Warning": ", ".join(_warning(w) for w in result.warnings)} if result.warnings else None
        return web.json_response(result.obj, status=result.code, headers=headers)

    def _create(self, route: Route, rec: RecordedRequest) -> web.Response:
        res = route.res
        assert res is not None
        response = self._write(lambda: api.create(self.emu, res, rec.body, route.namespace, dry_run=_dry_run(rec),
                                                  field_validation=rec.q("fieldValidation")))
        if response.status == 201 and not _dry_run(rec):
            self.emu.run_hooks("create", res.plural, json.loads(response.body))
        return response

    def _replace(self, route: Route, rec: RecordedRequest) -> web.Response:
        res = route.res
        assert res is not None and route.name is not None
        response = self._write(lambda: api.replace(self.emu, res, route.namespace, route.name or "", rec.body,
                                                   sub=route.sub, dry_run=_dry_run(rec),
                                                   field_validation=rec.q("fieldValidation")))
        if response.status == 200 and not _dry_run(rec):
            self.emu.run_hooks("update", res.plural, json.loads(response.body))
        return response

    def _patch(self, request: web.Request, route: Route, rec: RecordedRequest) -> web.Response:
        res = route.res
        assert res is not None and route.name is not None
        existed = self.emu.peek(res, route.namespace if res.namespaced else None, route.name) is not None
        response = self._write(lambda: api.patch(self.emu, res, route.namespace, route.name or "", rec.body,
                                                 request.content_type, sub=route.sub, dry_run=_dry_run(rec),
                                                 field_validation=rec.q("fieldValidation")))
        if response.status in (200, 201) and not _dry_run(rec):
            self.emu.run_hooks("update" if existed else "create", res.plural, json.loads(response.body))
        return response

    def _delete(self, route: Route, rec: RecordedRequest) -> web.Response:
        res = route.res
        assert res is not None and route.name is not None
        options = rec.body if isinstance(rec.body, dict) else {}
        propagation = rec.q("propagationPolicy") or options.get("propagationPolicy")
        if propagation is None and options.get("orphanDependents") is not None:
            propagation = "Orphan" if options["orphanDependents"] else "Background"
        grace = rec.q("gracePeriodSeconds") or options.get("gracePeriodSeconds")
        response = self._write(lambda: api.delete(self.emu, res, route.namespace, route.name or "",
                                                  propagation=propagation, dry_run=_dry_run(rec),
                                                  grace_period=int(grace) if grace is not None else None,
                                                  preconditions=options.get("preconditions")))
        if response.status == 200 and not _dry_run(rec):
            self.emu.run_hooks("delete", res.plural, json.loads(response.body))
        return response

    # --- pods: log and exec ----------------------------------------------------------------------------

    def _pod_and_container(self, route: Route, rec: RecordedRequest) -> tuple[dict | None, str | None, web.Response | None]:
        pod = self.emu.get("pods", route.namespace, route.name or "")
        if pod is None:
            return None, None, error(404, f'pods "{route.name}" not found',
                                     details={"name": route.name, "kind": "pods"})
        spec = pod.get("spec") or {}
        names = [c.get("name") for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])]
        container = rec.q("container")
        if not container:
            regular = [c.get("name") for c in spec.get("containers") or []]
            if len(regular) > 1:
                return pod, None, error(400, f"a container name must be specified for pod {route.name}, choose one of: "
                                             f"[{' '.join(regular)}]")
            container = regular[0] if regular else None
        if container not in names:
            return pod, None, error(400, f"container {container} is not valid for pod {route.name}")
        return pod, container, None

    async def _pod_log(self, request: web.Request, route: Route, rec: RecordedRequest) -> web.StreamResponse:
        pod, container, problem = self._pod_and_container(route, rec)
        if problem is not None:
            return problem
        previous = parse_bool(rec.q("previous"))
        key = (route.namespace or "", route.name or "", f"{container}/previous" if previous else str(container))
        data = self.emu.pod_logs.get(key)
        if data is None and previous:
            return error(400, f'previous terminated container "{container}" in pod "{route.name}" not found')
        if callable(data):
            response = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
            await response.prepare(request)
            pace = _Pace(self.emu.stream_rate)
            for chunk in data():
                await response.write(chunk)
                await pace.after(len(chunk))
            await response.write_eof()
            return response
        text = data.encode() if isinstance(data, str) else (data or b"")
        tail = rec.q("tailLines")
        if tail is not None:
            lines = text.splitlines(keepends=True)
            text = b"".join(lines[-int(tail):]) if int(tail) > 0 else b""
        limit = rec.q("limitBytes")
        if limit:
            text = text[: int(limit)]
        return web.Response(body=text, content_type="text/plain")

    async def _exec(self, request: web.Request, route: Route, rec: RecordedRequest) -> web.StreamResponse:
        pod, container, problem = self._pod_and_container(route, rec)
        if problem is not None:
            return problem
        assert pod is not None
        if (pod.get("status") or {}).get("phase") not in ("Running", None):
            return error(400, f"unable to upgrade connection: container not found (\"{container}\")")
        # v5 as kubectl >= 1.30 asks for it (v4 plus a stdin CLOSE signal); a test can offer fewer
        ws = web.WebSocketResponse(protocols=getattr(self.emu, "exec_protocols", EXEC_PROTOCOLS))
        await ws.prepare(request)
        command = request.query.getall("command", [])
        handler = self.emu.exec_handler or default_exec
        status: dict[str, Any] = {"metadata": {}, "status": "Success"}
        try:
            pace = _Pace(self.emu.stream_rate)
            async for channel, data in handler(self.emu, route.namespace, route.name, container, command):
                if channel == 3:
                    status = data
                    continue
                await ws.send_bytes(bytes([channel]) + data)
                await pace.after(len(data))
            await ws.send_bytes(b"\x03" + json.dumps(status).encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            await ws.close()
        return ws


EXEC_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")


async def default_exec(emu: Emulator, namespace: str | None, pod: str | None, container: str | None,
                       command: list[str]) -> AsyncIterator[tuple[int, Any]]:
    """Run `tar` locally on the directory mapped to the pod's remote directory; other commands fail."""
    raw = getattr(emu, "exec_streams", {}).get((namespace, pod))
    if raw is not None:
        yield 1, raw
        return
    mapping = emu.pod_files.get((namespace or "", pod or ""))
    if not command or command[0] != "tar" or mapping is None:
        yield 3, {"metadata": {}, "status": "Failure", "reason": "InternalError",
                  "message": f'OCI runtime exec failed: exec failed: unable to start container process: exec: '
                             f'"{command[0] if command else ""}": executable file not found in $PATH: unknown'}
        return
    args = list(command[1:])
    for i, arg in enumerate(args[:-1]):
        if arg == "-C":
            remote = args[i + 1].rstrip("/") or "/"
            args[i + 1] = mapping.get(remote) or mapping.get(remote + "/") or os.path.join("/nonexistent", remote.lstrip("/"))
    proc = await asyncio.create_subprocess_exec("tar", *args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    while True:
        chunk = await proc.stdout.read(65536)
        if not chunk:
            break
        yield 1, chunk
    err = await proc.stderr.read()
    if err:
        yield 2, err
    code = await proc.wait()
    if code != 0:
        yield 3, {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
                  "message": f"command terminated with non-zero exit code: error executing command {command}, exit code {code}",
                  "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


# --- helpers -------------------------------------------------------------------------------------------


class _Pace:
    """Caps one stream at `rate` bytes/s (None = as fast as the loop goes), like a kubelet link."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self.start = time.monotonic()
        self.sent = 0

    async def after(self, size: int) -> None:
        if not self.rate:
            return
        self.sent += size
        ahead = self.sent / self.rate - (time.monotonic() - self.start)
        if ahead > 0:
            await asyncio.sleep(ahead)


def parse_bool(value: str | None) -> bool:
    """Go's strconv.ParseBool, which the API server uses for query flags."""
    return value in ("1", "t", "T", "TRUE", "true", "True")


def _decode_body(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    if content_type == "application/apply-patch+yaml":
        import yaml

        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError:
            return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _dry_run(rec: RecordedRequest) -> bool:
    return "All" in rec.query.get("dryRun", [])


def _group_version(path: str) -> tuple[str, str]:
    parts = [p for p in path.split("/") if p]
    if parts and parts[0] == "api":
        return "", parts[1] if len(parts) > 1 else "v1"
    if parts and parts[0] == "apis" and len(parts) > 2:
        return parts[1], parts[2]
    return "", "v1"


def _openapi_doc(resources: list[ResourceInfo]) -> dict:
    """Just enough OpenAPI v3 for kubectl's client-side validation to defer to the server."""
    schemas, paths = {}, {}
    for res in resources:
        group_rev = ".".join(reversed(res.group.split("."))) if res.group else "io.k8s.api.core"
        name = f"{group_rev}.{res.version}.{res.kind}"
        gvk = [{"group": res.group, "version": res.version, "kind": res.kind}]
        schemas[name] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                         "x-kubernetes-group-version-kind": gvk}
        root = f"/apis/{res.group}/{res.version}" if res.group else f"/api/{res.version}"
        item = f"{root}/namespaces/{{namespace}}/{res.plural}/{{name}}" if res.namespaced else f"{root}/{res.plural}/{{name}}"
        paths[item] = {"patch": {"x-kubernetes-group-version-kind": gvk[0], "x-kubernetes-action": "patch",
                                 "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}],
                                 "responses": {"200": {"description": "OK"}}}}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.4"}, "paths": paths,
            "components": {"schemas": schemas}}

"""KubeClient: typed-enough helpers over one transport. Objects are plain dicts, as on the wire."""

from __future__ import annotations

import json
from typing import Any, Iterator

from kubectl_ray.errors import KubectlRayError
from kubectl_ray.kube.errors import ApiError, CRDsMissing, RequestInfo, WatchExpired
from kubectl_ray.kube.kubeconfig import ConnectionConfig
from kubectl_ray.kube.resources import RAY_GROUP, RAY_VERSION, Resource
from kubectl_ray.kube.transport import Transport
from kubectl_ray.shapes import ShapeError, check_depth, describe, dig, expect_object, list_envelope, name_of, text

FIELD_MANAGER = "kubectl-ray"
DEFAULT_PAGE_SIZE = 500  # kubectl's --chunk-size default
KUBERAY_INSTALL_HINT = "install the KubeRay operator and its CRDs (https://docs.ray.io/en/latest/cluster/kubernetes/getting-started/kuberay-operator-installation.html)"


class KubeClient:
    def __init__(self, transport: Transport, config: ConnectionConfig) -> None:
        self.transport = transport
        self.config = config
        self.namespace = config.namespace
        self.namespace_explicit = config.namespace_explicit
        self._ray_resources: set[str] | None = None

    # --- reads ----------------------------------------------------------------------------

    def get(self, res: Resource, name: str, namespace: str | None = None) -> dict[str, Any]:
        ns = self._ns(res, namespace)
        path = _path(res, ns, name)
        obj = self._json("GET", path, RequestInfo("get", res.display, ns, name))
        found = dig(obj, "metadata", "name")
        if found != name:  # commands write back what they read: it must be the object they asked for
            shown = f'"{found[:80]}"' if isinstance(found, str) else describe(found)
            raise ShapeError(f"the server's answer to GET {path} is not the object asked for (its metadata.name "
                             f"is {shown})")
        return obj

    def get_or_none(self, res: Resource, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        try:
            return self.get(res, name, namespace)
        except ApiError as exc:
            if exc.status == 404 and exc.names_an_object:
                return None
            raise

    def list_pages(self, res: Resource, namespace: str | None = None, *, all_namespaces: bool = False,
                   label_selector: str | None = None, field_selector: str | None = None,
                   page_size: int = DEFAULT_PAGE_SIZE, depth_checked: bool = True) -> Iterator[list[dict[str, Any]]]:
        """Pages of items, following the server's `continue` token so memory stays bounded.
        depth_checked=False skips the nesting check (shapes.check_depth) for callers that never walk the
        items recursively, or check the ones they do (a table costs less than that check)."""
        ns = None if all_namespaces else self._ns(res, namespace)
        query: dict[str, Any] = {"labelSelector": label_selector, "fieldSelector": field_selector, "limit": page_size}
        info = RequestInfo("list", res.display, ns)
        tokens: set[str] = set()
        while True:
            path = _path(res, ns)
            doc = self._json("GET", path, info, query=query, depth_checked=depth_checked)
            items, token = list_envelope(doc, f"the server's answer to GET {path}")
            kind = res.kind
            for item in items:  # list items carry no kind/apiVersion on the wire
                item.setdefault("apiVersion", res.api_version)
                item.setdefault("kind", kind)
            yield items
            if not token:
                return
            if token in tokens:  # the same page again: following it would never end
                raise ShapeError(f"the server's answer to GET {path} repeats an earlier continue token; "
                                 "the list would never end")
            tokens.add(token)
            query = dict(query, **{"continue": token})

    def list(self, res: Resource, namespace: str | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        return [item for page in self.list_pages(res, namespace, **kwargs) for item in page]

    def watch(self, res: Resource, namespace: str | None = None, *, name: str | None = None,
              label_selector: str | None = None, resource_version: str | None = None,
              timeout_seconds: int = 60, all_namespaces: bool = False) -> Iterator[dict[str, Any]]:
        """Watch events ({type, object}) until the server ends the stream (at most timeout_seconds)."""
        ns = None if all_namespaces else self._ns(res, namespace)
        query = {
            "watch": "true",
            "fieldSelector": f"metadata.name={name}" if name else None,
            "labelSelector": label_selector,
            "resourceVersion": resource_version,
            "timeoutSeconds": timeout_seconds,
            "allowWatchBookmarks": "true",
        }
        info = RequestInfo("watch", res.display, ns, name)
        response = self._request("GET", _path(res, ns), info, query=query, stream=True, timeout=timeout_seconds + 30)
        source = f"the server's watch of {_path(res, ns)}"
        for line in response.iter_lines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            except RecursionError:
                raise ShapeError(f"{source} sent an event nested too deeply to read") from None
            yield _checked_event(event, source, info)

    # --- writes ---------------------------------------------------------------------------

    def create(self, res: Resource, obj: dict[str, Any], namespace: str | None = None, *,
               dry_run: bool = False) -> dict[str, Any]:
        ns = self._ns(res, namespace, obj)
        name = name_of(obj) or None
        query = {"fieldManager": FIELD_MANAGER, "dryRun": "All" if dry_run else None}
        return self._json("POST", _path(res, ns), RequestInfo("create", res.display, ns, name), query=query, body=obj)

    def replace(self, res: Resource, obj: dict[str, Any], namespace: str | None = None, *,
                dry_run: bool = False, subresource: str | None = None) -> dict[str, Any]:
        """PUT, carrying metadata.resourceVersion: the server answers 409 if someone wrote in between."""
        ns = self._ns(res, namespace, obj)
        name = name_of(obj)
        if not name:
            raise ShapeError(f"cannot update a {res.display} without metadata.name")
        query = {"fieldManager": FIELD_MANAGER, "dryRun": "All" if dry_run else None}
        return self._json("PUT", _path(res, ns, name, subresource), RequestInfo("update", res.display, ns, name),
                          query=query, body=obj)

    def patch(self, res: Resource, name: str, patch: Any, namespace: str | None = None, *,
              patch_type: str = "merge", dry_run: bool = False) -> dict[str, Any]:
        ns = self._ns(res, namespace)
        content_type = {"merge": "application/merge-patch+json", "json": "application/json-patch+json"}[patch_type]
        query = {"fieldManager": FIELD_MANAGER, "dryRun": "All" if dry_run else None}
        return self._json("PATCH", _path(res, ns, name), RequestInfo("patch", res.display, ns, name),
                          query=query, body=patch, content_type=content_type)

    def delete(self, res: Resource, name: str, namespace: str | None = None, *,
               propagation: str = "Background", dry_run: bool = False) -> dict[str, Any]:
        ns = self._ns(res, namespace)
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation}
        query = {"dryRun": "All" if dry_run else None}
        return self._json("DELETE", _path(res, ns, name), RequestInfo("delete", res.display, ns, name), body=body,
                          query=query)

    # --- pods -------------------------------------------------------------------------------

    def pod_log(self, name: str, namespace: str | None = None, *, container: str | None = None,
                previous: bool = False, tail_lines: int | None = None, limit_bytes: int | None = None,
                stream: bool = False) -> Any:
        """A pod's log: bytes, or with stream=True a Response to copy to disk chunk by chunk."""
        from kubectl_ray.kube.resources import PODS

        ns = self._ns(PODS, namespace)
        query = {"container": container, "previous": previous or None, "tailLines": tail_lines, "limitBytes": limit_bytes}
        info = RequestInfo("get", "pods/log", ns, name)
        response = self._request("GET", _path(PODS, ns, name, "log"), info, query=query, accept="*/*", stream=stream)
        return response if stream else response.read()

    # --- discovery -------------------------------------------------------------------------

    def server_version(self) -> dict[str, Any]:
        return self._json("GET", "/version", RequestInfo("get", "version"))

    def preferred_version(self, group: str) -> str | None:
        """The version of an API group the server prefers, or None when it does not serve the group."""
        try:
            doc = self._json("GET", f"/apis/{group}", RequestInfo("get", f"{group} API"), check_crds=False)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return text(doc, "preferredVersion", "version") or None

    def ray_resources(self) -> set[str]:
        """Resources the server has under ray.io/v1; raises CRDsMissing when none."""
        if self._ray_resources is None:
            path = f"/apis/{RAY_GROUP}/{RAY_VERSION}"
            try:
                doc = self._json("GET", path, RequestInfo("get", "ray.io/v1 API"), check_crds=False)
            except ApiError as exc:
                if exc.status == 404:
                    raise CRDsMissing(f"KubeRay CRDs are not installed in this cluster: the server has no {RAY_GROUP}/{RAY_VERSION} API; {KUBERAY_INSTALL_HINT}") from None
                raise
            resources = doc.get("resources")
            self._ray_resources = {text(r, "name") for r in resources} if isinstance(resources, list) else set()
        return self._ray_resources

    # --- plumbing ---------------------------------------------------------------------------

    def _ns(self, res: Resource, namespace: str | None, obj: dict[str, Any] | None = None) -> str | None:
        if not res.namespaced:
            return None
        if namespace:
            return namespace
        return text(obj, "metadata", "namespace") or self.namespace

    def _request(self, method: str, path: str, info: RequestInfo, *, check_crds: bool = True, **kwargs: Any) -> Any:
        try:
            return self.transport.request(method, path, info=info, **kwargs)
        except ApiError as exc:
            if check_crds and exc.status == 404 and not exc.names_an_object and path.startswith(f"/apis/{RAY_GROUP}/"):
                self._raise_if_crd_missing(info)
            raise

    def _json(self, method: str, path: str, info: RequestInfo, *, check_crds: bool = True, depth_checked: bool = True,
              **kwargs: Any) -> dict[str, Any]:
        """The answer, which must be a JSON object (every API answer is one: an object, a list, a Status)."""
        response = self._request(method, path, info, check_crds=check_crds, **kwargs)
        doc = expect_object(response.json(), response.source, "an object" if info.verb != "list" else "a list object")
        if depth_checked:
            check_depth(doc, response.source)
        return doc

    def _raise_if_crd_missing(self, info: RequestInfo) -> None:
        plural = info.resource.split(".", 1)[0]
        if plural not in self.ray_resources():
            raise CRDsMissing(
                f'KubeRay CRDs are not installed in this cluster: the server doesn\'t have a resource type "{plural}" '
                f"({RAY_GROUP}/{RAY_VERSION}); {KUBERAY_INSTALL_HINT}"
            )


def _checked_event(event: Any, source: str, info: RequestInfo) -> dict[str, Any]:
    """A watch event {type, object}; an ERROR event becomes the ApiError (or WatchExpired) it carries."""
    if type(event) is not dict or type(event.get("type")) is not str or type(event.get("object")) is not dict:
        raise ShapeError(f"{source} sent an event that is not {{type, object}} ({_event_problem(event)})")
    check_depth(event["object"], source)
    if event["type"] == "ERROR":
        status = event["object"]
        code = status.get("code")
        if code == 410:
            raise WatchExpired(text(status, "message") or "resource version too old")
        details = status.get("details")
        raise ApiError(code if type(code) is int and 400 <= code < 600 else 500, text(status, "reason"),
                       text(status, "message"), details=details if isinstance(details, dict) else None, request=info)
    return event


def _event_problem(event: Any) -> str:
    if type(event) is not dict:
        return f"got {describe(event)}"
    if type(event.get("type")) is not str:
        return f"type is {describe(event.get('type'))}"
    return f"object is {describe(event.get('object'))}"


def _path(res: Resource, namespace: str | None, name: str | None = None, subresource: str | None = None) -> str:
    """The resource's path; a name or namespace that is not one path segment is refused, as client-go's
    IsValidPathSegmentName does (a name read from an object, e.g. `../../secrets/x`, never leaves its folder)."""
    for what, value in (("namespace", namespace), ("resource name", name)):
        if value is not None and (value in (".", "..") or "/" in value or "%" in value):
            problem = f"may not be '{value}'" if value in (".", "..") else \
                f"may not contain '{'/' if '/' in value else '%'}'"
            raise KubectlRayError(f'invalid {what} "{value}": [{problem}]')
    return res.path(namespace, name, subresource)

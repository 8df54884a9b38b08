"""KubeClient: typed-enough helpers over one transport. Objects are plain dicts, as on the wire."""

from __future__ import annotations

import json
from typing import Any, Iterator

from kubectl_ray.kube.errors import ApiError, CRDsMissing, RequestInfo, WatchExpired
from kubectl_ray.kube.kubeconfig import ConnectionConfig
from kubectl_ray.kube.resources import RAY_GROUP, RAY_VERSION, Resource
from kubectl_ray.kube.transport import Transport

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
        return self._json("GET", res.path(ns, name), RequestInfo("get", res.display, ns, name))

    def get_or_none(self, res: Resource, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        try:
            return self.get(res, name, namespace)
        except ApiError as exc:
            if exc.status == 404 and exc.names_an_object:
                return None
            raise

    def list_pages(self, res: Resource, namespace: str | None = None, *, all_namespaces: bool = False,
                   label_selector: str | None = None, field_selector: str | None = None,
                   page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[list[dict[str, Any]]]:
        """Pages of items, following the server's `continue` token so memory stays bounded."""
        ns = None if all_namespaces else self._ns(res, namespace)
        query: dict[str, Any] = {"labelSelector": label_selector, "fieldSelector": field_selector, "limit": page_size}
        info = RequestInfo("list", res.display, ns)
        while True:
            doc = self._json("GET", res.path(ns), info, query=query)
            items = doc.get("items") or []
            kind = res.kind
            for item in items:  # list items carry no kind/apiVersion on the wire
                item.setdefault("apiVersion", res.api_version)
                item.setdefault("kind", kind)
            yield items
            token = (doc.get("metadata") or {}).get("continue")
            if not token:
                return
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
        response = self._request("GET", res.path(ns), info, query=query, stream=True, timeout=timeout_seconds + 30)
        for line in response.iter_lines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("type") == "ERROR":
                status = event.get("object") or {}
                if status.get("code") == 410:
                    raise WatchExpired(status.get("message", "resource version too old"))
                raise ApiError(int(status.get("code") or 500), status.get("reason", ""), status.get("message", ""),
                               details=status.get("details"), request=info)
            yield event

    # --- writes ---------------------------------------------------------------------------

    def create(self, res: Resource, obj: dict[str, Any], namespace: str | None = None, *,
               dry_run: bool = False) -> dict[str, Any]:
        ns = self._ns(res, namespace, obj)
        name = (obj.get("metadata") or {}).get("name")
        query = {"fieldManager": FIELD_MANAGER, "dryRun": "All" if dry_run else None}
        return self._json("POST", res.path(ns), RequestInfo("create", res.display, ns, name), query=query, body=obj)

    def replace(self, res: Resource, obj: dict[str, Any], namespace: str | None = None, *,
                dry_run: bool = False, subresource: str | None = None) -> dict[str, Any]:
        """PUT, carrying metadata.resourceVersion: the server answers 409 if someone wrote in between."""
        ns = self._ns(res, namespace, obj)
        name = obj["metadata"]["name"]
        query = {"fieldManager": FIELD_MANAGER, "dryRun": "All" if dry_run else None}
        return self._json("PUT", res.path(ns, name, subresource), RequestInfo("update", res.display, ns, name),
                          query=query, body=obj)

    def patch(self, res: Resource, name: str, patch: Any, namespace: str | None = None, *,
              patch_type: str = "merge", dry_run: bool = False) -> dict[str, Any]:
        ns = self._ns(res, namespace)
        content_type = {"merge": "application/merge-patch+json", "json": "application/json-patch+json"}[patch_type]
        query = {"fieldManager": FIELD_MANAGER, "dryRun": "All" if dry_run else None}
        return self._json("PATCH", res.path(ns, name), RequestInfo("patch", res.display, ns, name),
                          query=query, body=patch, content_type=content_type)

    def delete(self, res: Resource, name: str, namespace: str | None = None, *,
               propagation: str = "Background", dry_run: bool = False) -> dict[str, Any]:
        ns = self._ns(res, namespace)
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation}
        query = {"dryRun": "All" if dry_run else None}
        return self._json("DELETE", res.path(ns, name), RequestInfo("delete", res.display, ns, name), body=body,
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
        response = self._request("GET", PODS.path(ns, name, "log"), info, query=query, accept="*/*", stream=stream)
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
        version = (doc.get("preferredVersion") or {}).get("version") if isinstance(doc, dict) else None
        return version if isinstance(version, str) and version else None

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
            self._ray_resources = {r.get("name", "") for r in doc.get("resources") or []}
        return self._ray_resources

    # --- plumbing ---------------------------------------------------------------------------

    def _ns(self, res: Resource, namespace: str | None, obj: dict[str, Any] | None = None) -> str | None:
        if not res.namespaced:
            return None
        if namespace:
            return namespace
        from_obj = ((obj or {}).get("metadata") or {}).get("namespace")
        return from_obj or self.namespace

    def _request(self, method: str, path: str, info: RequestInfo, *, check_crds: bool = True, **kwargs: Any) -> Any:
        try:
            return self.transport.request(method, path, info=info, **kwargs)
        except ApiError as exc:
            if check_crds and exc.status == 404 and not exc.names_an_object and path.startswith(f"/apis/{RAY_GROUP}/"):
                self._raise_if_crd_missing(info)
            raise

    def _json(self, method: str, path: str, info: RequestInfo, *, check_crds: bool = True, **kwargs: Any) -> Any:
        response = self._request(method, path, info, check_crds=check_crds, **kwargs)
        return response.json()

    def _raise_if_crd_missing(self, info: RequestInfo) -> None:
        plural = info.resource.split(".", 1)[0]
        if plural not in self.ray_resources():
            raise CRDsMissing(
                f'KubeRay CRDs are not installed in this cluster: the server doesn\'t have a resource type "{plural}" '
                f"({RAY_GROUP}/{RAY_VERSION}); {KUBERAY_INSTALL_HINT}"
            )

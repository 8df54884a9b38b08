"""`kubectl ray get cluster|workergroup|node|job|service|token`: kubectl-style tables and output formats.

Lists follow the server's pagination (`limit`/`continue`) and each page becomes rows of strings
before the next one is read, so thousands of clusters neither load at once nor get truncated.
`get workergroup` lists worker pods once per call (not once per group, as upstream did) and counts
them in memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, NamedTuple

import click

from kubectl_ray import completion
from kubectl_ray.cli.common import CONTEXT_SETTINGS, CommandEnv, KubectlCommand, KubectlGroup, examples, \
    kube_command, kube_group, output_option
from kubectl_ray.errors import KubectlRayError, UsageError

if TYPE_CHECKING:
    from datetime import datetime

    from kubectl_ray.kube.resources import Resource
    from kubectl_ray.resources.tables import Row, TableSpec

Page = list[dict[str, Any]]


class ListOptions(NamedTuple):
    """The output flags every `get` form shares."""

    output: str | None = None  # None (table), wide, json, yaml, name
    selector: str | None = None
    all_namespaces: bool = False
    no_headers: bool = False

    @property
    def wide(self) -> bool:
        return self.output == "wide"

    @property
    def is_table(self) -> bool:
        return self.output in (None, "wide")


def list_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """-o, -l, -A and --no-headers, as kubectl get has them."""
    decorators = [
        output_option(help_text="Output format. One of: (json, yaml, wide, name). Default: a table."),
        click.option("-l", "--selector", default=None, metavar="SELECTOR",
                     help="Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin' "
                          "(e.g. -l key1=value1,key2=value2)."),
        click.option("-A", "--all-namespaces", is_flag=True, default=False,
                     help="If present, list the requested object(s) across all namespaces. Namespace in current "
                          "context is ignored even if specified with --namespace."),
        click.option("--no-headers", is_flag=True, default=False,
                     help="When using the default or wide output format, don't print headers."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _options(output: str | None, selector: str | None, all_namespaces: bool, no_headers: bool) -> ListOptions:
    if selector is not None and not selector.strip():
        raise UsageError("-l/--selector must not be empty")
    return ListOptions(output.lower() if output else None, selector, all_namespaces, no_headers)


def _require_name(kind: str, name: str | None) -> None:
    if name is not None and not name.strip():
        raise UsageError(f"{kind} name must not be empty")


def _combine_selectors(*selectors: str | None) -> str | None:
    parts = [s for s in selectors if s]
    return ",".join(parts) if parts else None


def _scope(env: CommandEnv, opts: ListOptions) -> str:
    return "any namespace" if opts.all_namespaces else f"namespace {env.namespace}"


def _no_resources(env: CommandEnv, opts: ListOptions) -> str:
    return "No resources found" if opts.all_namespaces else f"No resources found in {env.namespace} namespace."


# --- printing -------------------------------------------------------------------------------

def _now() -> "datetime":
    from kubectl_ray import printing

    return printing.now()  # looked up at call time so tests can freeze it


def _write(env: CommandEnv, text: str) -> None:
    env.out.write(text)
    env.out.flush()


def print_table(env: CommandEnv, spec: "TableSpec", rows: list["Row"], opts: ListOptions) -> None:
    """The table, or kubectl's `No resources found ...` on stderr (exit 0) when it is empty."""
    from kubectl_ray.printing import format_table, info
    from kubectl_ray.resources.tables import pick

    if not rows:
        info(_no_resources(env, opts))
        return
    headers, indexes = spec.layout(wide=opts.wide, all_namespaces=opts.all_namespaces)
    _write(env, format_table(headers, pick(rows, indexes), no_headers=opts.no_headers))


def print_documents(env: CommandEnv, objs: list[dict[str, Any]], opts: ListOptions, *, single: bool,
                    name_of: Callable[[dict[str, Any]], str] | None = None) -> None:
    """-o name prints one reference per line; json/yaml print the object, or a List like kubectl."""
    from kubectl_ray.printing import as_list, object_ref, to_json, to_yaml

    if opts.output == "name":
        _write(env, "".join((name_of or object_ref)(obj) + "\n" for obj in objs))
        return
    doc = objs[0] if single and len(objs) == 1 else as_list(objs)
    _write(env, to_json(doc) if opts.output == "json" else to_yaml(doc))


def emit(env: CommandEnv, pages: Iterable[Page], spec: "TableSpec", row_of: Callable[[dict[str, Any], "datetime"], "Row"],
         opts: ListOptions, *, single: bool = False, not_found: str | None = None) -> None:
    """Print API objects page by page. For tables each page turns into rows of strings before the
    next is fetched, so only the strings of the whole list are ever held."""
    if opts.is_table:
        at = _now()
        rows = [row_of(obj, at) for page in pages for obj in page]
        if not rows and not_found:
            raise KubectlRayError(not_found)
        print_table(env, spec, rows, opts)
        return
    objs = [obj for page in pages for obj in page]
    if not objs and not_found:
        raise KubectlRayError(not_found)
    print_documents(env, objs, opts, single=single)


def _pages_of(env: CommandEnv, res: "Resource", opts: ListOptions, *, label_selector: str | None = None,
              field_selector: str | None = None) -> Iterator[Page]:
    return env.kube().list_pages(res, None if opts.all_namespaces else env.namespace,
                                 all_namespaces=opts.all_namespaces, label_selector=label_selector,
                                 field_selector=field_selector)


def _named_or_listed(env: CommandEnv, res: "Resource", name: str | None, opts: ListOptions) -> tuple[Iterable[Page], bool]:
    """One object by GET (NAME in a namespace), else a paginated list (by name across namespaces,
    as upstream does, or all matching the selector). Returns the pages and whether NAME was given."""
    if name is not None and opts.selector:
        raise UsageError("name cannot be provided when a selector is specified")
    if name is not None and not opts.all_namespaces:
        obj = env.kube().get_or_none(res, name, env.namespace)
        return ([[obj]] if obj is not None else []), True
    field = f"metadata.name={name}" if name is not None else None
    return _pages_of(env, res, opts, label_selector=opts.selector, field_selector=field), name is not None


# --- the group ------------------------------------------------------------------------------

@click.group("get", cls=KubectlGroup, no_args_is_help=True, invoke_without_command=True, aliases={
    "clusters": "cluster", "raycluster": "cluster", "rayclusters": "cluster",
    "workergroups": "workergroup",
    "nodes": "node",
    "jobs": "job", "rayjob": "job", "rayjobs": "job",
    "services": "service", "rayservice": "service", "rayservices": "service",
    "tokens": "token",
}, epilog=examples(
    "# Ray clusters in the current namespace, then in every namespace",
    "kubectl ray get cluster",
    "kubectl ray get clusters -A",
    "",
    "# Worker groups of one cluster, with min/max and ready replicas",
    "kubectl ray get workergroup -c my-cluster",
), short_help="Show Ray clusters, worker groups, nodes, jobs, services, tokens")
@kube_group
def get() -> None:
    """Display one or many Ray resources as kubectl-style tables (or json, yaml, name)."""


# --- get cluster ----------------------------------------------------------------------------

@get.command("cluster", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS,
               short_help="Show Ray clusters", epilog=examples(
    "# Ray clusters in the current namespace",
    "kubectl ray get cluster",
    "",
    "# One cluster, with the head pod and service IPs",
    "kubectl ray get cluster my-cluster -o wide",
    "",
    "# Every cluster labelled team=ml, in all namespaces",
    "kubectl ray get clusters -A -l team=ml",
    "",
    "# As YAML",
    "kubectl ray get cluster my-cluster -o yaml",
))
@click.argument("name", required=False, shell_complete=completion.ray_clusters())
@list_options
@kube_command
def get_cluster(env: CommandEnv, name: str | None, output: str | None, selector: str | None, all_namespaces: bool,
                no_headers: bool) -> None:
    """Show Ray clusters: desired/available workers, total CPUs/GPUs/TPUs/memory, condition and state.

    Unlike upstream, the NAMESPACE column appears (first, as in kubectl) only with -A.
    """
    from kubectl_ray.kube.resources import RAYCLUSTERS
    from kubectl_ray.resources.tables import CLUSTER_TABLE, cluster_row

    opts = _options(output, selector, all_namespaces, no_headers)
    _require_name("Ray cluster", name)
    pages, named = _named_or_listed(env, RAYCLUSTERS, name, opts)
    emit(env, pages, CLUSTER_TABLE, cluster_row, opts, single=named and not opts.all_namespaces,
         not_found=f"Ray cluster {name} not found in {_scope(env, opts)}" if named else None)


# --- get workergroup ------------------------------------------------------------------------

@get.command("workergroup", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS,
               short_help="Show the worker groups of Ray clusters", epilog=examples(
    "# Worker groups of every Ray cluster in the current namespace",
    "kubectl ray get workergroup",
    "",
    "# Worker groups of one cluster",
    "kubectl ray get workergroup -c my-cluster",
    "",
    "# One group, in whichever cluster of any namespace has it",
    "kubectl ray get workergroup gpu-group -A",
))
@click.argument("group", required=False, shell_complete=completion.worker_groups(cluster_param="ray_cluster"))
@click.option("-c", "--ray-cluster", "ray_cluster", default=None, metavar="RAYCLUSTER",
              help="Only the worker groups of this Ray cluster.")
@list_options
@kube_command
def get_workergroup(env: CommandEnv, group: str | None, ray_cluster: str | None, output: str | None,
                    selector: str | None, all_namespaces: bool, no_headers: bool) -> None:
    """Show worker groups: min/max, ready/desired replicas and the resources the group asks for.

    REPLICAS is ready pods / desired pods (replicas x numOfHosts). Totals count every container of
    the pod template (requests, else limits) times that number of pods; suspended groups count zero.
    -l selects the RayClusters by label.
    """
    from kubectl_ray.kube.resources import RAYCLUSTERS
    from kubectl_ray.resources import tables

    opts = _options(output, selector, all_namespaces, no_headers)
    _require_name("worker group", group)
    _require_name("Ray cluster", ray_cluster)
    field = f"metadata.name={ray_cluster}" if ray_cluster is not None else None
    found_cluster = False
    groups: list[tuple[str, str, dict[str, Any]]] = []  # (namespace, cluster, group spec)
    for page in _pages_of(env, RAYCLUSTERS, opts, label_selector=opts.selector, field_selector=field):
        for cluster in page:
            found_cluster = True
            meta = cluster.get("metadata") or {}
            for spec in tables.worker_groups(cluster, group):
                groups.append((meta.get("namespace", ""), meta.get("name", ""), spec))
    if ray_cluster is not None and not found_cluster:
        raise KubectlRayError(f"Ray cluster {ray_cluster} not found in {_scope(env, opts)}")
    if group is not None and not groups:
        where = f" in Ray cluster {ray_cluster}" if ray_cluster else " in any Ray cluster"
        raise KubectlRayError(f"Ray worker group {group} not found in {_scope(env, opts)}{where}")
    ready = _ready_workers(env, opts, ray_cluster, group) if groups else {}
    counts = [ready.get((ns, cluster, spec.get("groupName", "")), 0) for ns, cluster, spec in groups]
    if opts.is_table:
        rows = [tables.worker_group_row(ns, cluster, spec, n) for (ns, cluster, spec), n in zip(groups, counts)]
        print_table(env, tables.WORKER_GROUP_TABLE, rows, opts)
        return
    objs = [tables.worker_group_object(ns, cluster, spec, n) for (ns, cluster, spec), n in zip(groups, counts)]
    print_documents(env, objs, opts, single=False, name_of=lambda o: f"workergroup/{o['cluster']}/{o['name']}")


def _ready_workers(env: CommandEnv, opts: ListOptions, ray_cluster: str | None,
                   group: str | None) -> dict[tuple[str, str, str], int]:
    """Ready worker pods per (namespace, cluster, group): ONE paginated list for the whole scope."""
    from kubectl_ray.kube.resources import PODS
    from kubectl_ray.resources.tables import CLUSTER_LABEL, GROUP_LABEL, NODE_TYPE_LABEL, count_ready_workers

    selector = _combine_selectors(f"{NODE_TYPE_LABEL}=worker",
                                  f"{CLUSTER_LABEL}={ray_cluster}" if ray_cluster else None,
                                  f"{GROUP_LABEL}={group}" if group else None)
    counts: dict[tuple[str, str, str], int] = {}
    for page in _pages_of(env, PODS, opts, label_selector=selector):
        count_ready_workers(page, counts)
    return counts


# --- get node -------------------------------------------------------------------------------

@get.command("node", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS,
               short_help="Show Ray nodes (head and worker pods)", epilog=examples(
    "# Ray nodes (head and worker pods) in the current namespace",
    "kubectl ray get node",
    "",
    "# Nodes of one cluster, with pod status, IP and Kubernetes node",
    "kubectl ray get nodes -c my-cluster -o wide",
))
@click.argument("node", required=False, shell_complete=completion.ray_nodes(cluster_param="ray_cluster"))
@click.option("-c", "--ray-cluster", "ray_cluster", default=None, metavar="RAYCLUSTER",
              help="Only the nodes of this Ray cluster.")
@list_options
@kube_command
def get_node(env: CommandEnv, node: str | None, ray_cluster: str | None, output: str | None, selector: str | None,
             all_namespaces: bool, no_headers: bool) -> None:
    """Show Ray nodes: the pods labelled ray.io/is-ray-node=yes, with the Ray container's resources.

    -l adds a pod label query to that selection.
    """
    from kubectl_ray.kube.resources import PODS
    from kubectl_ray.resources.tables import CLUSTER_LABEL, IS_RAY_NODE_LABEL, NODE_TABLE, node_row

    opts = _options(output, selector, all_namespaces, no_headers)
    _require_name("Ray node", node)
    _require_name("Ray cluster", ray_cluster)
    label = _combine_selectors(f"{IS_RAY_NODE_LABEL}=yes", f"{CLUSTER_LABEL}={ray_cluster}" if ray_cluster else None,
                               opts.selector)
    pages = _pages_of(env, PODS, opts, label_selector=label,
                      field_selector=f"metadata.name={node}" if node is not None else None)
    where = f" in Ray cluster {ray_cluster}" if ray_cluster else " in any Ray cluster"
    emit(env, pages, NODE_TABLE, node_row, opts, single=node is not None and not opts.all_namespaces,
         not_found=f"Ray node {node} not found in {_scope(env, opts)}{where}" if node is not None else None)


# --- get job (also `kubectl ray job list`) --------------------------------------------------

@click.command("job", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS,
               short_help="Show RayJobs", epilog=examples(
    "# RayJobs in the current namespace (same as: kubectl ray job list)",
    "kubectl ray get job",
    "",
    "# One RayJob with its end time, submission mode and message",
    "kubectl ray get job my-job -o wide",
    "",
    "# Every RayJob in all namespaces, names only",
    "kubectl ray get jobs -A -o name",
))
@click.argument("name", required=False, shell_complete=completion.ray_jobs())
@list_options
@kube_command
def get_job(env: CommandEnv, name: str | None, output: str | None, selector: str | None, all_namespaces: bool,
            no_headers: bool) -> None:
    """Show RayJobs: job ID, job and deployment status, cluster, start time and how long they ran.

    END/DURATION is the time from start to end, or to now while the job runs. This command is
    also `kubectl ray job list`: it does not depend on being under `get`.
    """
    from kubectl_ray.kube.resources import RAYJOBS
    from kubectl_ray.resources.tables import JOB_TABLE, job_row

    opts = _options(output, selector, all_namespaces, no_headers)
    _require_name("Ray job", name)
    pages, named = _named_or_listed(env, RAYJOBS, name, opts)
    emit(env, pages, JOB_TABLE, job_row, opts, single=named and not opts.all_namespaces,
         not_found=f"Ray job {name} not found in {_scope(env, opts)}" if named else None)


get.add_command(get_job)


# --- get service ----------------------------------------------------------------------------

@get.command("service", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS,
               short_help="Show RayServices", epilog=examples(
    "# RayServices in the current namespace",
    "kubectl ray get service",
    "",
    "# With the number of serve endpoints and the Ready condition's reason",
    "kubectl ray get services -o wide",
))
@click.argument("name", required=False, shell_complete=completion.ray_services())
@list_options
@kube_command
def get_service(env: CommandEnv, name: str | None, output: str | None, selector: str | None, all_namespaces: bool,
                no_headers: bool) -> None:
    """Show RayServices: Ready condition (or serviceStatus on old operators), active and pending cluster."""
    from kubectl_ray.kube.resources import RAYSERVICES
    from kubectl_ray.resources.tables import SERVICE_TABLE, service_row

    opts = _options(output, selector, all_namespaces, no_headers)
    _require_name("Ray service", name)
    pages, named = _named_or_listed(env, RAYSERVICES, name, opts)
    emit(env, pages, SERVICE_TABLE, service_row, opts, single=named and not opts.all_namespaces,
         not_found=f"Ray service {name} not found in {_scope(env, opts)}" if named else None)


# --- get token ------------------------------------------------------------------------------

AUTH_TOKEN_KEY = "auth_token"


@get.command("token", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS,
               short_help="Print the auth token of a Ray cluster", epilog=examples(
    "# The auth token of a token-authenticated Ray cluster (printed without a newline)",
    "kubectl ray get token my-cluster",
    "",
    "# Use it against the dashboard",
    "curl -H \"Authorization: Bearer $(kubectl ray get token my-cluster)\" http://localhost:8265/api/version",
))
@click.argument("cluster_name", metavar="CLUSTER", shell_complete=completion.ray_clusters())
@kube_command
def get_token(env: CommandEnv, cluster_name: str) -> None:
    """Print the auth token of a RayCluster with spec.authOptions.mode=token.

    The token is read from the Secret spec.authOptions.secretName names (KubeRay >= 1.6), else from
    the Secret named after the cluster, key auth_token. It goes to stdout only, without a newline.
    """
    from kubectl_ray.kube.errors import ApiError
    from kubectl_ray.kube.resources import RAYCLUSTERS, SECRETS

    _require_name("Ray cluster", cluster_name)
    kube, ns = env.kube(), env.namespace
    try:
        cluster = kube.get(RAYCLUSTERS, cluster_name, ns)
    except ApiError as exc:
        raise KubectlRayError(f"failed to get RayCluster {ns}/{cluster_name}: {exc.detail()}") from None
    auth = (cluster.get("spec") or {}).get("authOptions") or {}
    if auth.get("mode") != "token":
        raise KubectlRayError(f"RayCluster {ns}/{cluster_name} was not configured to use authentication tokens")
    secret_name = auth.get("secretName") or cluster_name
    try:
        secret = kube.get(SECRETS, secret_name, ns)
    except ApiError as exc:
        raise KubectlRayError(f"failed to get secret {ns}/{secret_name}: {exc.detail()}") from None
    token = _decode_token(secret, f"{ns}/{secret_name}")
    out = env.out
    buffer = getattr(out, "buffer", None)
    if buffer is not None:  # raw bytes: a token is printed exactly as stored
        out.flush()
        buffer.write(token)
        buffer.flush()
    else:
        out.write(token.decode("utf-8", "replace"))
        out.flush()


def _decode_token(secret: dict[str, Any], where: str) -> bytes:
    """The secret's auth_token; error messages never contain any of its bytes."""
    import base64
    import binascii

    data = secret.get("data") or {}
    if AUTH_TOKEN_KEY not in data:
        raise KubectlRayError(f"secret {where} does not have an {AUTH_TOKEN_KEY}")
    try:
        return base64.b64decode(str(data[AUTH_TOKEN_KEY]), validate=True)
    except (binascii.Error, ValueError):
        raise KubectlRayError(f"secret {where} has an {AUTH_TOKEN_KEY} that is not valid base64") from None

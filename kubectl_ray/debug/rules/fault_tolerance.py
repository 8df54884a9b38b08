"""FT: GCS fault tolerance (external Redis or embedded RocksDB) plumbing (diagnostics.md §1D)."""

from __future__ import annotations

from kubectl_ray.debug.finding import ERROR, GCS_FT_DOC, INFO, RAYSERVICE_DOC, WARNING, field_ev, log_ev, note
from kubectl_ray.debug.model import (
    FT_ANNOTATION, STORAGE_NS_ANNOTATION, age_seconds, annotations_of, clusters, dig, env_value,
    has_env, last_termination, name_of, pod_ready, ray_container_status, short_age, target_object, waiting_reason,
)
from kubectl_ray.debug.rules.registry import rule
from kubectl_ray.debug.rules._common import cluster_finding
from kubectl_ray.debug.severity import (
    AT_RISK, BY_DESIGN, CONFIG_CANNOT_WORK, HEAD_DOWN, MISSING_DEPENDENCY, NOT_RECONCILED, PODS_NOT_STARTING,
)
from kubectl_ray.debug.snapshot import Snapshot

CLEANUP_FINALIZER = "ray.io/gcs-ft-redis-cleanup-finalizer"
RECONNECT_ENV = "RAY_gcs_rpc_server_reconnect_timeout_s"
HEAD_RECONNECT_DEFAULT = 60
FORCE_DELETE_AFTER = 300


def _options(cluster) -> dict | None:
    return cluster.spec.get("gcsFaultToleranceOptions")


def _head_env_path(cluster, name: str) -> str:
    return cluster.path(f"headGroupSpec.template.spec.containers[0].env[{name}]")


@rule("FT-01", "FT is enabled by gcsFaultToleranceOptions or the legacy annotation, not both", policy={ERROR: NOT_RECONCILED})
def check_annotation_and_options(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        if FT_ANNOTATION in cluster.annotations and _options(cluster) is not None:
            out.append(cluster_finding(cluster, "FT-01", ERROR, f"both the {FT_ANNOTATION} annotation and gcsFaultToleranceOptions are set",
                                       evidence=[field_ev(f"metadata.annotations[{FT_ANNOTATION}]", cluster.annotations[FT_ANNOTATION]),
                                                 field_ev(cluster.path("gcsFaultToleranceOptions"), "set")],
                                       fix="remove the annotation: gcsFaultToleranceOptions alone enables GCS FT", doc=GCS_FT_DOC))
    return out


@rule("FT-02", "RAY_REDIS_ADDRESS is not set without GCS FT", policy={ERROR: CONFIG_CANNOT_WORK})
def check_redis_without_ft(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        if cluster.ft_enabled or not has_env(cluster.head_container, "RAY_REDIS_ADDRESS"):
            continue
        out.append(cluster_finding(cluster, "FT-02", ERROR, "RAY_REDIS_ADDRESS is set but GCS fault tolerance is not enabled",
                                   evidence=[field_ev(_head_env_path(cluster, "RAY_REDIS_ADDRESS"), "set")],
                                   fix="use gcsFaultToleranceOptions.redisAddress instead of the env var", doc=GCS_FT_DOC))
    return out


@rule("FT-03", "no legacy Redis settings next to gcsFaultToleranceOptions", policy={ERROR: NOT_RECONCILED})
def check_legacy_with_options(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        if _options(cluster) is None:
            continue
        legacy = []
        if "redis-password" in cluster.head_params:
            legacy.append((cluster.path("headGroupSpec.rayStartParams.redis-password"), "redisPassword"))
        for env in ("REDIS_PASSWORD", "RAY_REDIS_ADDRESS"):
            if has_env(cluster.head_container, env):
                legacy.append((_head_env_path(cluster, env), "redisPassword" if "PASSWORD" in env else "redisAddress"))
        if STORAGE_NS_ANNOTATION in cluster.annotations:
            legacy.append((f"metadata.annotations[{STORAGE_NS_ANNOTATION}]", "externalStorageNamespace"))
        if legacy:
            out.append(cluster_finding(cluster, "FT-03", ERROR, "legacy Redis settings are set together with gcsFaultToleranceOptions",
                                       evidence=[field_ev(p, "set") for p, _ in legacy],
                                       fix="move them into gcsFaultToleranceOptions: " + ", ".join(sorted({f for _, f in legacy})),
                                       doc=GCS_FT_DOC))
    return out


@rule("FT-04", "the Redis username is set through gcsFaultToleranceOptions", policy={ERROR: NOT_RECONCILED})
def check_redis_username(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        places = []
        if "redis-username" in cluster.head_params:
            places.append(cluster.path("headGroupSpec.rayStartParams.redis-username"))
        if has_env(cluster.head_container, "REDIS_USERNAME"):
            places.append(_head_env_path(cluster, "REDIS_USERNAME"))
        if places:
            out.append(cluster_finding(cluster, "FT-04", ERROR, "the Redis username is set outside gcsFaultToleranceOptions",
                                       evidence=[field_ev(p, "set") for p in places],
                                       fix="use gcsFaultToleranceOptions.redisUsername (needs Ray >= 2.41)", doc=GCS_FT_DOC))
    return out


@rule("FT-05", "the Redis backend has a redisAddress", policy={WARNING: AT_RISK})
def check_redis_address(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        opts = _options(cluster)
        if opts is None or opts.get("backend") not in (None, "", "redis") or opts.get("redisAddress"):
            continue
        out.append(cluster_finding(cluster, "FT-05", WARNING, "GCS FT uses Redis but redisAddress is empty",
                                   evidence=[field_ev(cluster.path("gcsFaultToleranceOptions.redisAddress"), opts.get("redisAddress"))],
                                   fix="set gcsFaultToleranceOptions.redisAddress (e.g. redis:6379): the operator does not "
                                       "check it and injects an empty RAY_REDIS_ADDRESS", doc=GCS_FT_DOC))
    return out


def _secret_refs(cluster) -> dict[str, str]:
    """Secret name -> field that references it, for the Redis password/username."""
    opts = _options(cluster) or {}
    out = {}
    for key in ("redisPassword", "redisUsername"):
        name = dig(opts, key, "valueFrom", "secretKeyRef", "name")
        if name:
            out[name] = cluster.path(f"gcsFaultToleranceOptions.{key}.valueFrom.secretKeyRef")
    return out


@rule("FT-06", "the Secret holding the Redis password exists", policy={ERROR: PODS_NOT_STARTING})
def check_redis_secret(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        refs = _secret_refs(cluster)
        head = cluster.head_pod
        if not refs or head is None:
            continue
        for st in dig(head, "status", "containerStatuses", default=[]):
            message = dig(st, "state", "waiting", "message", default="")
            if waiting_reason(st) != "CreateContainerConfigError":
                continue
            name = next((n for n in refs if f'"{n}"' in message or f" {n} " in f" {message} "), None)
            if name:
                out.append(cluster_finding(cluster, "FT-06", ERROR, f"the Redis credentials Secret {name} (or its key) is missing",
                                           obj=f"Pod/{name_of(head)}", subject="head",
                                           evidence=[field_ev(refs[name], name),
                                                     field_ev(f"status.containerStatuses[{st.get('name')}].state.waiting.message", message)],
                                           fix=f"create Secret {name} with the key the secretKeyRef names", doc=GCS_FT_DOC))
                break
    return out


@rule("FT-07", "with GCS FT on, the head can reach Redis", policy={ERROR: HEAD_DOWN})
def check_redis_reachable(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        head = cluster.head_pod
        if not cluster.ft_enabled or head is None or dig(_options(cluster), "backend") == "rocksdb":
            continue
        st = ray_container_status(head) or {}
        if not (st.get("restartCount") or waiting_reason(st) == "CrashLoopBackOff"):
            continue
        evidence = []
        message = str(last_termination(st).get("message", ""))
        if "redis" in message.lower():
            evidence.append(field_ev(f"status.containerStatuses[{st.get('name')}].lastState.terminated.message", message))
        for tail in snap.logs_for(cluster.namespace, name_of(head), st.get("name", "")):
            lines = [ln for ln in tail.text.splitlines() if "redis" in ln.lower() and
                     any(w in ln.lower() for w in ("error", "fail", "refused", "timeout", "unable", "could not"))]
            if lines:
                evidence.append(log_ev(name_of(head), st.get("name", ""), lines[-1]))
                break
        if not evidence:
            continue
        address = dig(_options(cluster), "redisAddress") or env_value(cluster.head_container, "RAY_REDIS_ADDRESS") or "?"
        out.append(cluster_finding(cluster, "FT-07", ERROR, f"the head crashes and cannot reach Redis at {address}",
                                   obj=f"Pod/{name_of(head)}", subject="head", evidence=evidence,
                                   fix="check the Redis pods and Service (kubectl get endpoints <redis service>); GCS FT "
                                       "needs a standalone Redis, a single-shard Redis Cluster or Redis Sentinel",
                                   doc=GCS_FT_DOC))
    return out


@rule("FT-08", "a RayService does not pin the GCS external storage namespace", policy={WARNING: AT_RISK})
def check_pinned_namespace(snap: Snapshot) -> list:
    if snap.target.kind != "RayService":
        return []
    obj = target_object(snap)
    if obj is None:
        return []
    evidence = []
    pinned = dig(obj, "spec", "rayClusterConfig", "gcsFaultToleranceOptions", "externalStorageNamespace")
    if pinned:
        evidence.append(field_ev("spec.rayClusterConfig.gcsFaultToleranceOptions.externalStorageNamespace", pinned))
    if STORAGE_NS_ANNOTATION in annotations_of(obj):
        evidence.append(field_ev(f"metadata.annotations[{STORAGE_NS_ANNOTATION}]", annotations_of(obj)[STORAGE_NS_ANNOTATION]))
    if not evidence:
        return []
    return [cluster_finding(c, "FT-08", WARNING, "the GCS storage namespace is pinned, so old and new clusters share it",
                            obj=f"RayService/{snap.target.name}", evidence=evidence, doc=RAYSERVICE_DOC,
                            fix="remove the pin: the default (the RayCluster's UID) keeps a zero-downtime upgrade from "
                                "switching traffic to a cluster that reads the old one's state")
            for c in clusters(snap)[:1]]


def _timeout(container) -> int | None:
    value = env_value(container, RECONNECT_ENV)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@rule("FT-09", "workers wait for a recovering head longer than the head itself", policy={WARNING: AT_RISK})
def check_reconnect_timeouts(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        if not cluster.ft_enabled:
            continue
        head = _timeout(cluster.head_container) or HEAD_RECONNECT_DEFAULT
        for g in cluster.groups:
            worker = _timeout(g.ray_container)
            if worker is not None and worker <= head:
                out.append(cluster_finding(cluster, "FT-09", WARNING, f"group {g.name} gives up on the GCS after {worker}s, "
                                           f"not longer than the head's {head}s", subject=f"group:{g.name}",
                                           evidence=[field_ev(f"{g.path}.template.spec.containers[0].env[{RECONNECT_ENV}]", worker)],
                                           fix="unset it (the operator injects 600) or make it longer than the head's", doc=GCS_FT_DOC))
    return out


@rule("FT-10", "a deleted RayCluster is not stuck on the Redis cleanup finalizer", policy={ERROR: NOT_RECONCILED})
def check_cleanup_finalizer(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        if cluster.obj is None or not cluster.deleting:
            continue
        if CLEANUP_FINALIZER not in dig(cluster.obj, "metadata", "finalizers", default=[]):
            continue
        age = age_seconds(snap, dig(cluster.obj, "metadata", "deletionTimestamp"))
        job = snap.get("jobs", cluster.namespace, f"{cluster.name}-redis-cleanup"[:63])
        failed = any(c.get("type") == "Failed" and c.get("status") == "True" for c in dig(job, "status", "conditions", default=[]))
        if not failed and (age is None or age < FORCE_DELETE_AFTER):
            continue
        evidence = [field_ev("metadata.finalizers", CLEANUP_FINALIZER), note(f"deletion requested {short_age(age)} ago")]
        if job is not None:
            evidence.append(field_ev(f"Job/{name_of(job)} status", "Failed" if failed else "not finished"))
        out.append(cluster_finding(cluster, "FT-10", ERROR, "the RayCluster is stuck in deletion waiting for the Redis cleanup job",
                                   evidence=evidence, doc=GCS_FT_DOC,
                                   fix=f"fix Redis access for the cleanup job, or remove the finalizer and clean Redis by hand: "
                                       f"kubectl patch rayclusters.ray.io {cluster.name} --type json "
                                       "--patch='[{\"op\":\"remove\",\"path\":\"/metadata/finalizers\"}]'"))
    return out


@rule("FT-11", "embedded (RocksDB) GCS storage is configured consistently", policy={ERROR: CONFIG_CANNOT_WORK})
def check_rocksdb(snap: Snapshot) -> list:
    out = []
    for cluster in clusters(snap):
        opts = _options(cluster) or {}
        if opts.get("backend") != "rocksdb":
            continue
        problems = [field_ev(cluster.path(f"gcsFaultToleranceOptions.{k}"), "set") for k in
                    ("redisAddress", "redisPassword", "redisUsername") if opts.get(k)]
        for env in ("RAY_gcs_storage", "RAY_gcs_storage_path", "RAY_REDIS_ADDRESS"):
            if has_env(cluster.head_container, env):
                problems.append(field_ev(_head_env_path(cluster, env), "set"))
        for mount in dig(cluster.head_container, "volumeMounts", default=[]):
            if mount.get("mountPath") == "/data/gcs":
                problems.append(field_ev(cluster.path("headGroupSpec.template.spec.containers[0].volumeMounts[/data/gcs]"), "set"))
        storage = dig(opts, "storage", default={})
        if storage.get("claimName") and any(storage.get(k) for k in ("size", "storageClassName", "accessModes")):
            problems.append(field_ev(cluster.path("gcsFaultToleranceOptions.storage"), "claimName together with size/storageClassName/accessModes"))
        if problems:
            out.append(cluster_finding(cluster, "FT-11", ERROR, "RocksDB GCS storage conflicts with other settings",
                                       evidence=problems, doc=GCS_FT_DOC,
                                       fix="with backend: rocksdb drop the Redis fields and env vars and the /data/gcs mount "
                                           "(the operator mounts its PVC <cluster>-gcs-pvc there); use claimName or size/"
                                           "storageClassName/accessModes, not both"))
            continue
        head = cluster.head_pod
        if head is not None and not pod_ready(head):
            message = dig(next((c for c in dig(head, "status", "conditions", default=[]) if c.get("type") == "PodScheduled"), {}),
                          "message", default="")
            if "PersistentVolumeClaim" in message or "persistentvolumeclaim" in message:
                out.append(cluster_finding(cluster, "FT-11", ERROR, f"the head waits for its GCS volume {cluster.name}-gcs-pvc",
                                           obj=f"Pod/{name_of(head)}", subject="head",
                                           evidence=[field_ev("status.conditions[PodScheduled].message", message)],
                                           fix="give the PVC a StorageClass that can provision it (set storage.storageClassName "
                                               "or a default StorageClass) or point storage.claimName at a bound claim",
                                           doc=GCS_FT_DOC))
    return out


@rule("FT-12", "GCS FT is used where it is supported (RayService)", policy={INFO: BY_DESIGN})
def check_ft_workload(snap: Snapshot) -> list:
    if snap.target.kind == "RayService":
        return []
    return [cluster_finding(c, "FT-12", INFO, "GCS fault tolerance outside a RayService",
                            evidence=[field_ev(c.path("gcsFaultToleranceOptions"), "set") if _options(c) is not None
                                      else field_ev(f"metadata.annotations[{FT_ANNOTATION}]", c.annotations.get(FT_ANNOTATION))],
                            fix="GCS FT is designed for RayService; for other workloads compatibility is not guaranteed",
                            doc=GCS_FT_DOC)
            for c in clusters(snap) if c.ft_enabled]



@rule("FT-13", "the Service a Redis address names exists", policy={ERROR: MISSING_DEPENDENCY})
def check_redis_service(snap: Snapshot) -> list:
    from kubectl_ray.debug.model import service_host

    out = []
    for cluster in clusters(snap):
        if not cluster.ft_enabled or dig(_options(cluster), "backend") == "rocksdb":
            continue
        address = dig(_options(cluster), "redisAddress") or env_value(cluster.head_container, "RAY_REDIS_ADDRESS")
        host = service_host(address)
        if not host:
            continue  # an external Redis or an IP: nothing to look up here
        name, _, other = host.partition(".")
        namespace = other or cluster.namespace
        if not snap.is_absent("services", namespace, name):
            continue
        path = (cluster.path("gcsFaultToleranceOptions.redisAddress") if dig(_options(cluster), "redisAddress")
                else _head_env_path(cluster, "RAY_REDIS_ADDRESS"))
        out.append(cluster_finding(cluster, "FT-13", ERROR, f"the Redis address names Service {name}, which does not exist "
                                   f"in namespace {namespace}", subject="head",
                                   evidence=[field_ev(path, address), note(f'Service "{name}" not found in namespace "{namespace}"')],
                                   fix="deploy Redis (and its Service) first, or point the address at the Service that "
                                       "exists; with GCS FT on, the head cannot start without Redis", doc=GCS_FT_DOC))
    return out

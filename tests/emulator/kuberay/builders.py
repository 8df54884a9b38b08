"""The objects KubeRay v1.7.0 builds, as pure functions: Ray pods, Services, submitter Jobs, RayClusters
of RayJobs and RayServices, autoscaler RBAC, auth Secrets, and the status arithmetic.

Followed from ray-operator/controllers/ray/ at tag v1.7.0: common/pod.go (DefaultHeadPodTemplate,
DefaultWorkerPodTemplate, BuildPod, labelPod, setContainerEnvVars, initLivenessAndReadinessProbe,
BuildAutoscalerContainer), common/service.go (BuildServiceForHeadPod, BuildServeService),
common/job.go (submitter), utils/util.go (names, replica and resource arithmetic),
rayjob_controller.go / rayservice_controller.go (constructRayClusterFor...).

The player (player.py) and the static debug fixtures (tests/debug/sim.py) both build with these, so
what `debug` sees in a fixture is what it sees against the running emulator.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from decimal import Decimal
from typing import Any

from kubectl_ray.resources.quantity import Quantity, QuantityError, parse_quantity

KUBERAY_VERSION = "v1.7.0"
MAX_INT32 = 2147483647
DEFAULT_DOMAIN = "cluster.local"
HEAD_GROUP = "headgroup"
RAY_CONTAINER = 0
PORTS = {"client": 10001, "gcs-server": 6379, "dashboard": 8265, "metrics": 8080, "serve": 8000}
DASHBOARD_AGENT_PORT = 52365
WAIT_GCS_READY = "wait-gcs-ready"
SUBMITTER = "ray-job-submitter"
AUTOSCALER = "autoscaler"
GCS_FT_FINALIZER = "ray.io/gcs-ft-redis-cleanup-finalizer"
RAYJOB_FINALIZER = "ray.io/rayjob-finalizer"
RAYSERVICE_FINALIZER = "ray.io/rayservice-finalizer"

Obj = dict[str, Any]


# --- names and simple predicates (utils/util.go) ---------------------------------------------------

def meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def spec(obj: Obj) -> Obj:
    return obj.get("spec") or {}


def name_of(obj: Obj) -> str:
    return meta(obj).get("name", "")


def ns_of(obj: Obj) -> str:
    return meta(obj).get("namespace") or "default"


def head_service_name(cluster: Obj) -> str:
    custom = (spec(cluster).get("headGroupSpec") or {}).get("headService") or {}
    return (custom.get("metadata") or {}).get("name") or f"{name_of(cluster)}-head-svc"


def fqdn(cluster: Obj, domain: str = DEFAULT_DOMAIN) -> str:
    return f"{head_service_name(cluster)}.{ns_of(cluster)}.svc.{domain}"


def head_port(cluster: Obj) -> str:
    return str((spec(cluster).get("headGroupSpec") or {}).get("rayStartParams", {}).get("port") or PORTS["gcs-server"])


def check_label(value: str) -> str:
    """utils.CheckLabel: at most 63 characters (cut from the front), no leading punctuation."""
    if len(value) > 63:
        value = value[len(value) - 63:]
    if value and not value[0].isalnum():
        value = "r" + value[1:]
    return value


def check_name(value: str) -> str:
    """utils.CheckName: at most 50 characters (cut from the front), starts with a letter."""
    if len(value) > 50:
        value = value[len(value) - 50:]
    if value and (value[0].isdigit() or not value[0].isalnum()):
        value = "r" + value[1:]
    return value


def pod_generate_name(prefix: str, node_type: str) -> str:
    """utils.PodName with generateName: `<prefix up to 50>-head-` / `-worker-`."""
    return f"{prefix[:50]}-{node_type}-".lower()


def autoscaling(cluster: Obj) -> bool:
    return bool(spec(cluster).get("enableInTreeAutoscaling"))


def autoscaler_v2(cluster: Obj) -> bool:
    return (spec(cluster).get("autoscalerOptions") or {}).get("version") == "v2"


def ft_enabled(cluster: Obj) -> bool:
    annotation = (meta(cluster).get("annotations") or {}).get("ray.io/ft-enabled", "")
    return annotation.lower() == "true" or spec(cluster).get("gcsFaultToleranceOptions") is not None


def ft_embedded(cluster: Obj) -> bool:
    return ((spec(cluster).get("gcsFaultToleranceOptions") or {}).get("backend") or "") == "rocksdb"


def token_auth(cluster: Obj) -> bool:
    return (spec(cluster).get("authOptions") or {}).get("mode") == "token"


def creator_kind(cluster: Obj) -> str:
    kind = (meta(cluster).get("labels") or {}).get("ray.io/originated-from-crd", "")
    return kind if kind in ("RayJob", "RayService", "RayCluster") else "RayCluster"


def controller_ref(owner: Obj) -> Obj:
    return {"apiVersion": owner.get("apiVersion", "ray.io/v1"), "kind": owner["kind"], "name": name_of(owner),
            "uid": meta(owner).get("uid", ""), "controller": True, "blockOwnerDeletion": True}


def is_gpu(resource: str) -> bool:
    return resource.lower().endswith("gpu")


# --- replicas and resources (utils/util.go) -------------------------------------------------------------

def group_desired_replicas(group: Obj) -> int:
    """GetWorkerGroupDesiredReplicas: replicas clamped to [min, max], times numOfHosts; 0 when suspended."""
    if group.get("suspend"):
        return 0
    low = int(group.get("minReplicas") or 0)
    high = int(group["maxReplicas"]) if group.get("maxReplicas") is not None else MAX_INT32
    replicas = group.get("replicas")
    if replicas is None or int(replicas) < low:
        count = low
    elif int(replicas) > high:
        count = high
    else:
        count = int(replicas)
    return count * int(group.get("numOfHosts") or 1)


def pod_resources(pod_spec: Obj) -> dict[str, Quantity]:
    """CalculatePodResource: per container requests, limits where no request; summed over containers."""
    total: dict[str, Quantity] = {}
    for container in pod_spec.get("containers") or []:
        resources = container.get("resources") or {}
        merged = dict(resources.get("requests") or {})
        for key, value in (resources.get("limits") or {}).items():
            merged.setdefault(key, value)
        for key, value in merged.items():
            try:
                quantity = parse_quantity(value)
            except QuantityError:
                continue
            total[key] = total[key] + quantity if key in total else quantity
    return total


def desired_resources(cluster: Obj) -> dict[str, Quantity]:
    """CalculateDesiredResources: head + each non-suspended group x replicas x hosts."""
    cspec = spec(cluster)
    total = pod_resources(((cspec.get("headGroupSpec") or {}).get("template") or {}).get("spec") or {})
    for group in cspec.get("workerGroupSpecs") or []:
        if group.get("suspend"):
            continue
        count = int(group.get("replicas") or 0) * int(group.get("numOfHosts") or 1)
        for key, value in pod_resources((group.get("template") or {}).get("spec") or {}).items():
            scaled = value * count
            total[key] = total[key] + scaled if key in total else scaled
    return total


def cluster_status_counts(cluster: Obj) -> Obj:
    """desired/min/max worker replicas and desired resources, as calculateStatus writes them."""
    groups = spec(cluster).get("workerGroupSpecs") or []
    active = [g for g in groups if not g.get("suspend")]
    resources = desired_resources(cluster)
    gpus = [v for k, v in resources.items() if is_gpu(k) and not v.is_zero()]
    gpu_total = sum((g.value for g in gpus), Decimal(0))
    return {
        "desiredWorkerReplicas": sum(group_desired_replicas(g) for g in groups),
        "minWorkerReplicas": sum(int(g.get("minReplicas") or 0) * int(g.get("numOfHosts") or 1) for g in active),
        "maxWorkerReplicas": min(MAX_INT32, sum((int(g["maxReplicas"]) if g.get("maxReplicas") is not None
                                                 else MAX_INT32) * int(g.get("numOfHosts") or 1) for g in active)),
        "desiredCPU": str(resources.get("cpu", Quantity(Decimal(0)))),
        "desiredMemory": str(resources.get("memory", Quantity(Decimal(0)))),
        "desiredGPU": str(Quantity(gpu_total)),
        "desiredTPU": str(resources.get("google.com/tpu", Quantity(Decimal(0)))),
    }


def spec_hash(cluster_spec: Obj) -> str:
    """GenerateHashWithoutReplicasAndWorkersToDelete: sha1 (base32hex) of the spec minus replica fields."""
    trimmed = copy.deepcopy(cluster_spec)
    for group in trimmed.get("workerGroupSpecs") or []:
        group.pop("replicas", None)
        (group.get("scaleStrategy") or {}).pop("workersToDelete", None)
    digest = hashlib.sha1(json.dumps(trimmed, sort_keys=True, separators=(",", ":")).encode()).digest()
    return base64.b32hexencode(digest).decode()


# --- ray start ----------------------------------------------------------------------------------

def _value(quantity: Any) -> int | None:
    """Quantity.Value(): rounded up to an integer."""
    try:
        q = parse_quantity(quantity)
    except QuantityError:
        return None
    integral = q.value.to_integral_value(rounding="ROUND_CEILING")
    return int(integral)


def ray_start_params(params: Obj, node_type: str, resources: Obj, *, head_addr: str, headport: str,
                     group_resources: Obj | None, group_labels: Obj | None, autoscaling_on: bool) -> dict[str, str]:
    """setMissingRayStartParams + updateRayStartParams{Resources,Labels} + generateRayStartCommand's additions."""
    out = {k: str(v) for k, v in (params or {}).items()}
    if group_resources:
        extra = {}
        for key, value in group_resources.items():
            number = _value(value)
            if number is None:
                continue
            if key.lower() == "cpu":
                out["num-cpus"] = str(number)
            elif key.lower() == "memory":
                out["memory"] = str(number)
            elif is_gpu(key):
                out["num-gpus"] = str(number)
            else:
                extra[key] = float(parse_quantity(value).value)
        if extra:
            out["resources"] = "'" + json.dumps(extra, separators=(",", ":")) + "'"
    if group_labels:
        out["labels"] = ",".join(f"{k}={group_labels[k]}" for k in sorted(group_labels))
    if node_type == "worker":
        out.setdefault("address", f"{head_addr}:{headport}")
    else:
        out.setdefault("dashboard-host", "0.0.0.0")
        if autoscaling_on:
            out["no-monitor"] = "true"
    out.setdefault("metrics-export-port", str(PORTS["metrics"]))
    out["block"] = "true"
    out.setdefault("dashboard-agent-listen-port", str(DASHBOARD_AGENT_PORT))
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    if "num-cpus" not in out:
        cpu = _value(limits.get("cpu")) if limits.get("cpu") else None
        if not cpu and requests.get("cpu"):
            cpu = _value(requests["cpu"])
        if cpu:
            out["num-cpus"] = str(cpu)
    if "memory" not in out and limits.get("memory") and _value(limits["memory"]):
        out["memory"] = str(_value(limits["memory"]))
    for key in sorted(limits):
        number = _value(limits[key])
        if "num-gpus" not in out and is_gpu(key) and number:
            out["num-gpus"] = str(number)
        if key in ("google.com/tpu", "aws.amazon.com/neuroncore") and number and "resources" not in out:
            ray_name = "TPU" if key == "google.com/tpu" else "neuron_cores"
            out["resources"] = "'" + json.dumps({ray_name: float(parse_quantity(limits[key]).value)},
                                                separators=(",", ":")) + "'"
    return out


def ray_start_command(node_type: str, params: dict[str, str]) -> str:
    flags = ""
    for key in sorted(params):
        value = params[key]
        if value.lower() in ("true", "false") and key not in ("log-color", "include-dashboard", "include-log-monitor"):
            if value.lower() == "true":
                flags += f" --{key} "
        else:
            flags += f" --{key}={value} "
    return f"ray start --head {flags}" if node_type == "head" else f"ray start {flags}"


def container_command(*options: str) -> list[str]:
    return ["/bin/bash", "-" + "c" + "".join(options), "--"]


# --- pods ----------------------------------------------------------------------------------------

def _env(name: str, value: str | None = None, field_path: str | None = None) -> Obj:
    if field_path is not None:
        return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": field_path}}}
    return {"name": name, "value": value}


def _has_env(container: Obj, name: str) -> bool:
    return any(e.get("name") == name for e in container.get("env") or [])


def _labels(node_type: str, cluster_name: str, group: str, template_labels: Obj, group_labels: Obj | None) -> Obj:
    labels = {"ray.io/is-ray-node": "yes", "ray.io/cluster": cluster_name, "ray.io/node-type": node_type,
              "ray.io/group": group, "ray.io/identifier": check_label(f"{cluster_name}-{node_type}"),
              "app.kubernetes.io/name": "kuberay", "app.kubernetes.io/created-by": "kuberay-operator"}
    for key, value in {**(template_labels or {}), **(group_labels or {})}.items():
        if key not in ("ray.io/node-type", "ray.io/group", "ray.io/cluster"):
            labels[key] = value
    return labels


def _probes(container: Obj, node_type: str, creator: str, params: dict[str, str], ray_version: str) -> None:
    agent = int(params.get("dashboard-agent-listen-port", DASHBOARD_AGENT_PORT))
    dashboard = int(params.get("dashboard-port", PORTS["dashboard"]))
    http = _version_at_least(ray_version, (2, 53, 0))
    raylet = f"wget --tries 1 -T 2 -q -O- http://localhost:{agent}/api/local_raylet_healthz | grep success"
    gcs = f"wget --tries 1 -T 10 -q -O- http://localhost:{dashboard}/api/gcs_healthz | grep success"
    commands = [raylet, gcs] if node_type == "head" else [raylet]
    check = {"httpGet": {"path": "/api/healthz", "port": agent}} if http else \
        {"exec": {"command": ["bash", "-c", " && ".join(commands)]}}
    timeout = 5 if node_type == "head" else 2
    if "livenessProbe" not in container:
        container["livenessProbe"] = {"initialDelaySeconds": 30, "timeoutSeconds": timeout, "periodSeconds": 5,
                                      "successThreshold": 1, "failureThreshold": 120, **copy.deepcopy(check)}
    if "readinessProbe" not in container:
        probe = {"initialDelaySeconds": 10, "timeoutSeconds": timeout, "periodSeconds": 5, "successThreshold": 1,
                 "failureThreshold": 10, **copy.deepcopy(check)}
        if creator == "RayService" and node_type == "worker":
            serve = next((p.get("containerPort") for p in container.get("ports") or [] if p.get("name") == "serve"),
                         PORTS["serve"])
            probe.pop("httpGet", None)
            probe["failureThreshold"] = 1
            probe["exec"] = {"command": ["bash", "-c", " && ".join(
                commands + [f"wget --tries 1 -T 10 -q -O- http://localhost:{serve}/-/healthz | grep success"])]}
        container["readinessProbe"] = probe


def _version_at_least(text: str, wanted: tuple[int, ...]) -> bool:
    parts = []
    for piece in (text or "").lstrip("v").split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            return False
        parts.append(int(digits))
    return tuple(parts + [0] * (3 - len(parts))) >= wanted


def _empty_dir(pod_spec: Obj, container: Obj, name: str, path: str, memory: bool) -> None:
    if any(m.get("mountPath") == path for m in container.get("volumeMounts") or []):
        return
    if not any(v.get("name") == name for v in pod_spec.get("volumes") or []):
        source: Obj = {}
        if memory:
            source["medium"] = "Memory"
            resources = container.get("resources") or {}
            limit = (resources.get("limits") or {}).get("memory") or (resources.get("requests") or {}).get("memory")
            if limit is not None:
                source["sizeLimit"] = limit
        pod_spec.setdefault("volumes", []).append({"name": name, "emptyDir": source})
    container.setdefault("volumeMounts", []).append({"name": name, "mountPath": path})


def _token_env(container: Obj, cluster: Obj) -> None:
    options = spec(cluster).get("authOptions") or {}
    if not _has_env(container, "RAY_AUTH_MODE"):
        container.setdefault("env", []).append(_env("RAY_AUTH_MODE", "token"))
    if options.get("enableK8sTokenAuth"):
        return
    secret = options.get("secretName") or check_name(name_of(cluster))
    if not _has_env(container, "RAY_AUTH_TOKEN"):
        container.setdefault("env", []).append({"name": "RAY_AUTH_TOKEN", "valueFrom": {
            "secretKeyRef": {"name": secret, "key": "auth_token"}}})


def autoscaler_container(cluster: Obj, image: str) -> Obj:
    start = "ray kuberay-autoscaler --cluster-name $(RAY_CLUSTER_NAME) --cluster-namespace $(RAY_CLUSTER_NAMESPACE)"
    container = {
        "name": AUTOSCALER, "image": image, "imagePullPolicy": "IfNotPresent",
        "env": [_env("RAY_CLUSTER_NAME", field_path="metadata.labels['ray.io/cluster']"),
                _env("RAY_CLUSTER_NAMESPACE", field_path="metadata.namespace"),
                _env("RAY_HEAD_POD_NAME", field_path="metadata.name"),
                _env("KUBERAY_CRD_VER", "v1"), _env("KUBERAY_GEN_AUTOSCALER_START_CMD", start)],
        "command": container_command(), "args": [start],
        "resources": {"limits": {"cpu": "500m", "memory": "512Mi"}, "requests": {"cpu": "500m", "memory": "512Mi"}}}
    if token_auth(cluster):
        _token_env(container, cluster)
    options = spec(cluster).get("autoscalerOptions") or {}
    for key in ("resources", "image", "imagePullPolicy", "securityContext"):
        if options.get(key) is not None:
            container[key] = copy.deepcopy(options[key])
    for key in ("env", "envFrom", "volumeMounts"):
        if options.get(key):
            container.setdefault(key, []).extend(copy.deepcopy(options[key]))
    for key in ("command", "args"):
        if options.get(key):
            container[key] = list(options[key])
    return container


def _gcs_ft(template: Obj, cluster: Obj, node_type: str) -> None:
    annotations = template.setdefault("metadata", {}).setdefault("annotations", {})
    if node_type == "head":
        annotations["ray.io/ft-enabled"] = "true" if ft_enabled(cluster) else "false"
    if not ft_enabled(cluster):
        return
    container = template["spec"]["containers"][RAY_CONTAINER]
    env = container.setdefault("env", [])
    if node_type == "worker":
        if not _has_env(container, "RAY_gcs_rpc_server_reconnect_timeout_s"):
            env.append(_env("RAY_gcs_rpc_server_reconnect_timeout_s", "600"))
        return
    options = spec(cluster).get("gcsFaultToleranceOptions")
    if ft_embedded(cluster):
        if not _has_env(container, "RAY_gcs_storage"):
            env.append(_env("RAY_gcs_storage", "rocksdb"))
        if not _has_env(container, "RAY_gcs_storage_path"):
            env.append(_env("RAY_gcs_storage_path", "/data/gcs"))
        storage = (options or {}).get("storage") or {}
        container.setdefault("volumeMounts", []).append({"name": "gcs-storage", "mountPath": "/data/gcs",
                                                         **({"subPath": storage["subPath"]} if storage.get("subPath") else {})})
        claim = storage.get("claimName") or f"{name_of(cluster)}-gcs-pvc"
        template["spec"].setdefault("volumes", []).append({"name": "gcs-storage",
                                                           "persistentVolumeClaim": {"claimName": claim}})
        return
    storage_ns = (meta(cluster).get("annotations") or {}).get("ray.io/external-storage-namespace") or meta(cluster).get("uid", "")
    if options and options.get("externalStorageNamespace"):
        storage_ns = options["externalStorageNamespace"]
    annotations["ray.io/external-storage-namespace"] = storage_ns
    if not _has_env(container, "RAY_external_storage_namespace"):
        env.append(_env("RAY_external_storage_namespace", storage_ns))
    if options is not None:
        env.append(_env("RAY_REDIS_ADDRESS", options.get("redisAddress", "")))
        for key, env_name in (("redisUsername", "REDIS_USERNAME"), ("redisPassword", "REDIS_PASSWORD")):
            if options.get(key) is not None:
                entry = {"name": env_name, **{k: v for k, v in options[key].items() if k in ("value", "valueFrom")}}
                env.append(entry)


def _template_for(cluster: Obj, node_type: str, group: Obj) -> Obj:
    template = copy.deepcopy(group.get("template") or {})
    template["metadata"] = template.get("metadata") or {}
    template["spec"] = template.get("spec") or {}
    template["spec"]["containers"] = template["spec"].get("containers") or [{}]
    if (meta(cluster).get("annotations") or {}).get("ray.io/overwrite-container-cmd", "").lower() == "true":
        template["metadata"].setdefault("annotations", {})["ray.io/overwrite-container-cmd"] = "true"
    group_name = HEAD_GROUP if node_type == "head" else group.get("groupName", "")
    template["metadata"]["labels"] = _labels(node_type, name_of(cluster), group_name,
                                             (template.get("metadata") or {}).get("labels") or {}, group.get("labels"))
    return template


def ray_pod(cluster: Obj, node_type: str, group: Obj, *, kuberay_version: str = KUBERAY_VERSION,
            default_env: list[Obj] | None = None, gates: frozenset[str] | set[str] = frozenset(),
            probes: bool = True, init_container: bool = True, domain: str = DEFAULT_DOMAIN) -> Obj:
    """A head (group = headGroupSpec) or worker pod of cluster as the operator creates it (no name, no status)."""
    cspec = spec(cluster)
    template = _template_for(cluster, node_type, group)
    pod_spec = template["spec"]
    ray = pod_spec["containers"][RAY_CONTAINER]
    creator = creator_kind(cluster)
    address, port = fqdn(cluster, domain), head_port(cluster)
    params = ray_start_params(group.get("rayStartParams") or {}, node_type, ray.get("resources") or {},
                              head_addr=address, headport=port, group_resources=group.get("resources"),
                              group_labels=group.get("labels"), autoscaling_on=autoscaling(cluster))
    if node_type == "worker" and init_container:
        pod_spec.setdefault("initContainers", []).append(wait_gcs_container(ray, address, port))
    if node_type == "head" and autoscaling(cluster):
        pod_spec["serviceAccountName"] = check_name(pod_spec.get("serviceAccountName") or name_of(cluster))
        pod_spec["containers"].append(autoscaler_container(cluster, ray.get("image", "")))
        ray.setdefault("env", []).append(_env("RAY_enable_autoscaler_v2", "true" if autoscaler_v2(cluster) else "false"))
        if autoscaler_v2(cluster):
            pod_spec["restartPolicy"] = "Never"
    if node_type == "worker" and autoscaling(cluster) and autoscaler_v2(cluster):
        pod_spec["restartPolicy"] = "Never"
    if node_type == "head" and ft_enabled(cluster) and not ft_embedded(cluster):
        options = cspec.get("gcsFaultToleranceOptions") or {}
        if options.get("redisPassword") is not None:
            params["redis-password"] = "$REDIS_PASSWORD"
        if options.get("redisUsername") is not None:
            params["redis-username"] = "$REDIS_USERNAME"
    _gcs_ft(template, cluster, node_type)
    if not any(p.get("name") == "metrics" for p in ray.get("ports") or []):
        ray.setdefault("ports", []).append({"name": "metrics", "containerPort": PORTS["metrics"]})
    if token_auth(cluster):
        _token_env(ray, cluster)
        for init in pod_spec.get("initContainers") or []:
            if init.get("name") == WAIT_GCS_READY:
                _token_env(init, cluster)
    if creator == "RayService":
        template["metadata"]["labels"]["ray.io/serve"] = "false" if node_type == "head" else "true"
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": template["metadata"], "spec": pod_spec}
    pod["metadata"]["namespace"] = ns_of(cluster)
    pod["metadata"].pop("name", None)
    pod["metadata"]["generateName"] = pod_generate_name(
        name_of(cluster) if node_type == "head" else f"{name_of(cluster)}-{group.get('groupName', '')}", node_type)
    pod["metadata"]["ownerReferences"] = [controller_ref({**cluster, "kind": "RayCluster"})]
    if "plasma-directory" not in params:
        _empty_dir(pod_spec, ray, "shared-mem", "/dev/shm", memory=True)
    if node_type == "head" and autoscaling(cluster):
        _empty_dir(pod_spec, ray, "ray-logs", "/tmp/ray", memory=False)
        _empty_dir(pod_spec, pod_spec["containers"][-1], "ray-logs", "/tmp/ray", memory=False)
    start = ray_start_command(node_type, params)
    _command(pod, ray, start)
    for init in pod_spec.get("initContainers") or []:
        init.setdefault("env", []).extend([_env("FQ_RAY_IP", address), _env("RAY_IP", address.split(".")[0])])
    _ray_env(ray, node_type, address, port, start, creator, default_env or [], kuberay_version)
    if probes:
        _probes(ray, node_type, creator, params, str(cspec.get("rayVersion") or ""))
    if node_type == "head":
        annotations = pod["metadata"].setdefault("annotations", {})
        annotations["ray.io/upgrade-strategy-recreate-hash"] = spec_hash(cspec)
        annotations["ray.io/kuberay-version"] = kuberay_version
    return pod


def _command(pod: Obj, ray: Obj, start: str) -> None:
    current = "".join(f" {c} " for c in ray.get("command") or []) + "".join(f" {a} " for a in ray.get("args") or [])
    overwrite = ((pod["metadata"].get("annotations") or {}).get("ray.io/overwrite-container-cmd", "")).lower() == "true"
    if overwrite or "ray start" in current:
        return
    generated = "ulimit -n ${RAY_START_ULIMIT_OPEN_FILES:-65536}; " + start
    ray["command"] = container_command()
    ray["args"] = [f"{current} && {generated}" if current else generated]


def _ray_env(ray: Obj, node_type: str, address: str, port: str, start: str, creator: str, default_env: list[Obj],
             kuberay_version: str) -> None:
    env = ray.setdefault("env", [])
    for entry in default_env:
        if not _has_env(ray, entry["name"]):
            env.append(copy.deepcopy(entry))
    ip = "127.0.0.1" if node_type == "head" else address
    if node_type == "worker":
        env += [_env("FQ_RAY_IP", address), _env("RAY_IP", address.split(".")[0])]
    env += [_env("RAY_CLUSTER_NAME", field_path="metadata.labels['ray.io/cluster']"),
            _env("RAY_CLUSTER_NAMESPACE", field_path="metadata.namespace"),
            _env("RAY_CLOUD_INSTANCE_ID", field_path="metadata.name"),
            _env("RAY_NODE_TYPE_NAME", field_path="metadata.labels['ray.io/group']"),
            _env("KUBERAY_GEN_RAY_START_CMD", start)]
    if not _has_env(ray, "RAY_PORT"):
        env.append(_env("RAY_PORT", port))
    if creator == "RayService":
        for name, value in (("RAY_timeout_ms_task_wait_for_death_info", "0"),
                            ("RAY_gcs_server_request_timeout_seconds", "5"), ("RAY_SERVE_KV_TIMEOUT_S", "5")):
            if not _has_env(ray, name):
                env.append(_env(name, value))
    if not _has_env(ray, "RAY_ADDRESS"):
        env.append(_env("RAY_ADDRESS", f"{ip}:{port}"))
    if not _has_env(ray, "RAY_USAGE_STATS_KUBERAY_IN_USE"):
        env.append(_env("RAY_USAGE_STATS_KUBERAY_IN_USE", "1"))
    if node_type == "head":
        env.append(_env("RAY_USAGE_STATS_EXTRA_TAGS", f"kuberay_version={kuberay_version};kuberay_crd={creator}"))
    if not _has_env(ray, "RAY_DASHBOARD_ENABLE_K8S_DISK_USAGE"):
        env.append(_env("RAY_DASHBOARD_ENABLE_K8S_DISK_USAGE", "1"))


def wait_gcs_container(ray: Obj, address: str, port: str) -> Obj:
    script = f"""
					SECONDS=0
					while true; do
						if (( SECONDS <= 120 )); then
							if ray health-check --address {address}:{port} > /dev/null 2>&1; then
								echo "GCS is ready."
								break
							fi
							echo "$SECONDS seconds elapsed: Waiting for GCS to be ready."
						else
							if ray health-check --address {address}:{port}; then
								echo "GCS is ready. Any error messages above can be safely ignored."
								break
							fi
							echo "$SECONDS seconds elapsed: Still waiting for GCS to be ready. For troubleshooting, refer to the FAQ at https://docs.ray.io/en/master/cluster/kubernetes/troubleshooting.html."
						fi
						sleep 5
					done
				"""
    container: Obj = {"name": WAIT_GCS_READY, "image": ray.get("image", ""), "command": container_command(),
                      "args": [script],
                      "resources": {"limits": {"cpu": "200m", "memory": "256Mi"},
                                    "requests": {"cpu": "200m", "memory": "256Mi"}}}
    for key in ("imagePullPolicy", "securityContext", "env", "volumeMounts"):
        if ray.get(key) is not None:
            container[key] = copy.deepcopy(ray[key])
    return container


# --- services -------------------------------------------------------------------------------------

def service_ports(cluster: Obj) -> dict[str, int]:
    """getServicePorts: the head container's named ports (unnamed: `<port>-port`), else the defaults; + metrics."""
    ray = ((spec(cluster).get("headGroupSpec") or {}).get("template") or {}).get("spec", {}).get("containers", [{}])[0]
    ports = {(p.get("name") or f"{p.get('containerPort')}-port"): int(p.get("containerPort") or 0)
             for p in ray.get("ports") or []}
    if not ports:
        ports = dict(PORTS)
    ports.setdefault("metrics", PORTS["metrics"])
    return ports


def head_service(cluster: Obj, *, cluster_ip_service: bool = False) -> Obj:
    """BuildServiceForHeadPod."""
    cname = name_of(cluster)
    head_spec = spec(cluster).get("headGroupSpec") or {}
    template_labels = ((head_spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    labels = {"ray.io/cluster": cname, "ray.io/node-type": "head", "ray.io/identifier": check_label(f"{cname}-head"),
              "app.kubernetes.io/name": template_labels.get("app.kubernetes.io/name", "kuberay"),
              "app.kubernetes.io/created-by": "kuberay-operator"}
    ports = [{"name": n, "port": p, "appProtocol": "tcp"} for n, p in sorted(service_ports(cluster).items())]
    service_type = head_spec.get("serviceType") or ""
    annotations = dict(spec(cluster).get("headServiceAnnotations") or {})
    custom = head_spec.get("headService")
    if custom is not None:
        svc = copy.deepcopy(custom)
        svc.setdefault("metadata", {})
        svc.setdefault("spec", {})["selector"] = dict(labels)
        svc["metadata"]["annotations"] = {**(svc["metadata"].get("annotations") or {}), **annotations}
        svc["spec"]["ports"] = list(svc["spec"].get("ports") or []) + ports
        svc["metadata"]["labels"] = {**(svc["metadata"].get("labels") or {}), **labels}
        svc["metadata"].setdefault("name", head_service_name(cluster))
        svc["metadata"]["namespace"] = ns_of(cluster)
        if not svc["spec"].get("type"):
            svc["spec"]["type"] = service_type or "ClusterIP"
    else:
        svc = {"metadata": {"name": head_service_name(cluster), "namespace": ns_of(cluster), "labels": dict(labels),
                            "annotations": annotations},
               "spec": {"selector": dict(labels), "ports": ports, "type": service_type or "ClusterIP"}}
        if not cluster_ip_service and service_type in ("", "ClusterIP"):
            svc["spec"]["clusterIP"] = "None"
            svc["spec"]["publishNotReadyAddresses"] = True
    svc["apiVersion"], svc["kind"] = "v1", "Service"
    if not svc["metadata"].get("annotations"):
        svc["metadata"].pop("annotations", None)
    return svc


def owner_head_service(owner: Obj, cluster: Obj) -> Obj:
    """BuildHeadServiceForRayJob / ...ForRayService: `<owner>-head-svc` pointing at the owner's current cluster."""
    svc = head_service(cluster)
    oname = name_of(owner)
    svc["metadata"] = {"name": f"{oname}-head-svc", "namespace": ns_of(owner),
                       "labels": {"ray.io/originated-from-cr-name": oname, "ray.io/originated-from-crd": owner["kind"],
                                  "ray.io/node-type": "head", "ray.io/identifier": check_label(f"{oname}-head")},
                       "ownerReferences": [controller_ref(owner)]}
    return svc


def serve_service(service: Obj, cluster: Obj) -> Obj | None:
    """BuildServeServiceForRayService: `<rayservice>-serve-svc` selecting serving pods (None: no serve port)."""
    oname = name_of(service)
    ports = [{"name": n, "port": p} for n, p in service_ports(cluster).items() if n == "serve" or n.startswith("serve-")]
    custom = spec(service).get("serveService")
    if not ports and custom is None:
        return None
    selector = {"ray.io/cluster": name_of(cluster), "ray.io/serve": "true"}
    labels = {"ray.io/originated-from-cr-name": oname, "ray.io/originated-from-crd": "RayService",
              "ray.io/serve": f"{oname}-serve"}
    if custom is not None:
        svc = copy.deepcopy(custom)
        svc.setdefault("metadata", {})
        svc.setdefault("spec", {})["selector"] = selector
        user_ports = {p.get("name"): p for p in svc["spec"].get("ports") or []}
        if ports:
            svc["spec"]["ports"] = [user_ports.get(p["name"], p) for p in ports]
        svc["metadata"]["labels"] = {**(svc["metadata"].get("labels") or {}), **labels}
        svc["metadata"].setdefault("name", f"{oname}-serve-svc")
    else:
        svc = {"metadata": {"name": f"{oname}-serve-svc", "labels": labels},
               "spec": {"selector": selector, "ports": ports,
                        "type": (spec(cluster).get("headGroupSpec") or {}).get("serviceType") or "ClusterIP"}}
    svc["metadata"]["namespace"] = ns_of(service)
    svc["metadata"]["ownerReferences"] = [controller_ref(service)]
    svc["apiVersion"], svc["kind"] = "v1", "Service"
    return svc


def headless_service(cluster: Obj) -> Obj:
    """BuildHeadlessServiceForRayCluster (multi-host worker groups)."""
    cname = name_of(cluster)
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": check_name(f"{cname}-headless"), "namespace": ns_of(cluster),
                         "labels": {"ray.io/headless-worker-svc": cname}},
            "spec": {"clusterIP": "None", "selector": {"ray.io/cluster": cname, "ray.io/node-type": "worker"},
                     "publishNotReadyAddresses": True}}


# --- clusters of RayJobs and RayServices ----------------------------------------------------------------

def rayjob_cluster(job: Obj, name: str, *, gates: frozenset[str] | set[str] = frozenset()) -> Obj:
    """constructRayClusterForRayJob."""
    labels = dict(meta(job).get("labels") or {})
    labels.update({"ray.io/originated-from-cr-name": name_of(job), "ray.io/originated-from-crd": "RayJob",
                   "ray.io/job-submission-mode": spec(job).get("submissionMode") or "K8sJobMode"})
    annotations = dict(meta(job).get("annotations") or {})
    cluster_spec = copy.deepcopy(spec(job).get("rayClusterSpec") or {})
    cluster = {"apiVersion": "ray.io/v1", "kind": "RayCluster",
               "metadata": {"name": name, "namespace": ns_of(job), "labels": labels,
                            "ownerReferences": [controller_ref(job)]},
               "spec": cluster_spec}
    if spec(job).get("submissionMode") == "SidecarMode":
        annotations["ray.io/disable-provisioned-head-restart"] = "true"
        head = cluster_spec["headGroupSpec"]["template"]["spec"]
        head["containers"].append(sidecar_submitter(job, cluster))
        head["restartPolicy"] = "Never"
    if annotations:
        cluster["metadata"]["annotations"] = annotations
    return cluster


def rayservice_cluster(service: Obj, name: str) -> Obj:
    """constructRayClusterForRayService."""
    labels = dict(meta(service).get("labels") or {})
    labels.update({"ray.io/originated-from-cr-name": name_of(service), "ray.io/originated-from-crd": "RayService"})
    cluster_spec = copy.deepcopy(spec(service).get("rayClusterConfig") or {})
    hashing = copy.deepcopy(cluster_spec)
    hashing.pop("suspend", None)
    annotations = dict(meta(service).get("annotations") or {})
    annotations.update({"ray.io/hash-without-replicas-and-workers-to-delete": spec_hash(hashing),
                        "ray.io/num-worker-groups": str(len(cluster_spec.get("workerGroupSpecs") or [])),
                        "ray.io/kuberay-version": KUBERAY_VERSION})
    return {"apiVersion": "ray.io/v1", "kind": "RayCluster",
            "metadata": {"name": name, "namespace": ns_of(service), "labels": labels, "annotations": annotations,
                         "ownerReferences": [controller_ref(service)]},
            "spec": cluster_spec}


# --- RayJob submission ----------------------------------------------------------------------------

def job_submit_command(job: Obj, mode: str) -> list[str]:
    """BuildJobSubmitCommand (K8sJobMode and SidecarMode)."""
    jspec, status = spec(job), job.get("status") or {}
    if mode == "SidecarMode":
        head = jspec["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
        port = next((p.get("containerPort") for p in head.get("ports") or [] if p.get("name") == "dashboard"),
                    PORTS["dashboard"])
        address, health = f"http://127.0.0.1:{port}", f"http://localhost:{port}/api/gcs_healthz"
    else:
        address = status.get("dashboardURL") or ""
        address = address if address.startswith("http://") else "http://" + address
        health = address + "/api/gcs_healthz"
    job_id = status.get("jobId") or ""
    check = ("python -c \"import urllib.request; r=urllib.request.urlopen('" + health +
             "', timeout=10); exit(0 if b'success' in r.read() else 1)\"")
    cmd = ["until", check, ">/dev/null", "2>&1", ";", "do", "echo",
           json.dumps(f"Waiting for Ray Dashboard GCS to become healthy at {address} ..."), ";", "sleep", "2", ";",
           "done", ";"]
    status_check = mode == "K8sJobMode"
    if status_check:
        cmd += ["if", "!", "ray", "job", "status", "--address", address, job_id, ">/dev/null", "2>&1", ";", "then"]
    cmd += ["ray", "job", "submit", "--address", address]
    if status_check:
        cmd.append("--no-wait")
    if jspec.get("runtimeEnvYAML"):
        import yaml

        cmd += ["--runtime-env-json", json.dumps(json.dumps(yaml.safe_load(jspec["runtimeEnvYAML"]),
                                                            separators=(",", ":")))]
    if jspec.get("metadata"):
        cmd += ["--metadata-json", json.dumps(json.dumps(jspec["metadata"], separators=(",", ":")))]
    if job_id:
        cmd += ["--submission-id", job_id]
    for key, flag in (("entrypointNumCpus", "--entrypoint-num-cpus"), ("entrypointNumGpus", "--entrypoint-num-gpus")):
        if float(jspec.get(key) or 0) > 0:
            cmd += [flag, f"{float(jspec[key]):f}"]
    if jspec.get("entrypointResources"):
        cmd += ["--entrypoint-resources", json.dumps(jspec["entrypointResources"])]
    cmd += ["--", str(jspec.get("entrypoint") or "").strip(), ";"]
    if status_check:
        cmd += ["fi", ";", "ray", "job", "logs", "--address", address, "--follow", job_id]
    return cmd


def _submitter_env(container: Obj, job: Obj, cluster: Obj) -> None:
    status = job.get("status") or {}
    container.setdefault("env", []).extend([_env("PYTHONUNBUFFERED", "1"),
                                            _env("RAY_DASHBOARD_ADDRESS", status.get("dashboardURL", "")),
                                            _env("RAY_JOB_SUBMISSION_ID", status.get("jobId", ""))])
    if token_auth(cluster):
        _token_env(container, cluster)


def default_submitter_container(cluster_spec: Obj) -> Obj:
    image = ((cluster_spec.get("headGroupSpec") or {}).get("template") or {}).get("spec", {}).get(
        "containers", [{}])[0].get("image", "")
    return {"name": SUBMITTER, "image": image,
            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m", "memory": "200Mi"}}}


def sidecar_submitter(job: Obj, cluster: Obj) -> Obj:
    container = default_submitter_container(spec(cluster))
    container["command"] = container_command("e")
    container["args"] = [" ".join(job_submit_command(job, "SidecarMode"))]
    _submitter_env(container, job, cluster)
    return container


def submitter_job(job: Obj, cluster: Obj) -> Obj:
    """createNewK8sJob: a batch/v1 Job named like the RayJob."""
    jspec = spec(job)
    template = copy.deepcopy(jspec.get("submitterPodTemplate")) if jspec.get("submitterPodTemplate") else \
        {"spec": {"containers": [default_submitter_container(spec(cluster))], "restartPolicy": "Never"}}
    container = template["spec"]["containers"][0]
    if not container.get("command"):
        container["command"] = container_command("e")
        container["args"] = [" ".join(job_submit_command(job, "K8sJobMode"))]
    _submitter_env(container, job, cluster)
    labels = template.setdefault("metadata", {}).setdefault("labels", {})
    labels.update({"ray.io/originated-from-cr-name": name_of(job), "ray.io/originated-from-crd": "RayJob",
                   "app.kubernetes.io/created-by": "kuberay-operator"})
    backoff = ((jspec.get("submitterConfig") or {}).get("backoffLimit"))
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name_of(job), "namespace": ns_of(job),
                         "labels": {"ray.io/originated-from-cr-name": name_of(job),
                                    "ray.io/originated-from-crd": "RayJob",
                                    "app.kubernetes.io/created-by": "kuberay-operator"},
                         "ownerReferences": [controller_ref(job)]},
            "spec": {"backoffLimit": 2 if backoff is None else backoff, "template": template}}


def entrypoint_of(job: Obj) -> str:
    return str(spec(job).get("entrypoint") or "").strip()


# --- autoscaler RBAC and auth (raycluster_controller.go) ------------------------------------------------

def autoscaler_rbac(cluster: Obj) -> list[Obj]:
    """ServiceAccount, Role and RoleBinding named after the cluster (reconcileAutoscaler*)."""
    cname, ns = name_of(cluster), ns_of(cluster)
    sa_name = check_name(((spec(cluster).get("headGroupSpec") or {}).get("template") or {}).get("spec", {}).get(
        "serviceAccountName") or cname)
    owner = [controller_ref({**cluster, "kind": "RayCluster"})]
    labels = {"ray.io/cluster": cname}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": sa_name, "namespace": ns, "labels": labels, "ownerReferences": owner}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": cname, "namespace": ns, "labels": labels, "ownerReferences": owner},
         "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "patch"]},
                   {"apiGroups": [""], "resources": ["pods/resize"], "verbs": ["patch"]},
                   {"apiGroups": ["ray.io"], "resources": ["rayclusters"], "verbs": ["get", "patch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": cname, "namespace": ns, "labels": labels, "ownerReferences": owner},
         "subjects": [{"kind": "ServiceAccount", "name": sa_name, "namespace": ns}],
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": cname}},
    ]


def auth_secret(cluster: Obj, token: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": check_name(name_of(cluster)), "namespace": ns_of(cluster),
                         "labels": {"ray.io/cluster": name_of(cluster)},
                         "ownerReferences": [{**controller_ref({**cluster, "kind": "RayCluster"}),
                                              "blockOwnerDeletion": True}]},
            "stringData": {"auth_token": token}}


def redis_cleanup_job(cluster: Obj, head_pod: Obj) -> Obj:
    """buildRedisCleanupJob (trimmed to what is visible: name, labels, the head's image and env)."""
    cname = name_of(cluster)
    ray = copy.deepcopy(head_pod["spec"]["containers"][0])
    container = {"name": "redis-cleanup", "image": ray.get("image", ""), "command": container_command(),
                 "args": ["python -c \"from ray._private.gcs_utils import cleanup_redis_storage; ...\""],
                 "env": ray.get("env") or [],
                 "resources": {"limits": {"cpu": "200m", "memory": "256Mi"},
                               "requests": {"cpu": "200m", "memory": "256Mi"}}}
    labels = {"ray.io/cluster": cname, "ray.io/node-type": "redis-cleanup"}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": check_label(f"{cname}-redis-cleanup"), "namespace": ns_of(cluster), "labels": labels,
                         "annotations": {"ray.io/external-storage-namespace":
                                         (meta(head_pod).get("annotations") or {}).get("ray.io/external-storage-namespace", "")}},
            "spec": {"backoffLimit": 0, "activeDeadlineSeconds": 300,
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [container], "restartPolicy": "Never"}}}}


# --- what kubelet reports for a running, ready pod (the end state of the player's kubelet) ---------------

def container_id(pod: Obj, container: Obj) -> str:
    return "containerd://" + hashlib.sha256(f"{meta(pod).get('uid', '')}/{container['name']}".encode()).hexdigest()


def running_container_status(container: Obj, started: str, pod: Obj | None = None) -> Obj:
    return {"name": container["name"], "image": container.get("image", ""), "imageID": "", "ready": True,
            "started": True, "restartCount": 0, "state": {"running": {"startedAt": started}},
            **({"containerID": container_id(pod, container)} if pod is not None else {})}


def completed_container_status(container: Obj, started: str, finished: str, pod: Obj | None = None) -> Obj:
    return {"name": container["name"], "image": container.get("image", ""), "imageID": "", "ready": True,
            "started": False, "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": finished,
                                     **({"containerID": container_id(pod, container)} if pod is not None else {})}}}


def running_pod_status(pod: Obj, *, ip: str, host_ip: str, started: str, ready_at: str, finished_init: str) -> Obj:
    """status of a pod whose init containers completed and whose containers run and are ready."""
    from tests.emulator.api import qos_class

    pod_spec = spec(pod)
    status: Obj = {
        "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
        "startTime": started, "qosClass": qos_class(pod_spec),
        "conditions": [{"type": t, "status": "True", "lastProbeTime": None,
                        "lastTransitionTime": ready_at if t in ("Ready", "ContainersReady") else started}
                       for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")],
        "containerStatuses": [running_container_status(c, finished_init, pod) for c in pod_spec.get("containers") or []],
    }
    if pod_spec.get("initContainers"):
        status["initContainerStatuses"] = [completed_container_status(c, started, finished_init, pod)
                                           for c in pod_spec["initContainers"]]
    return status

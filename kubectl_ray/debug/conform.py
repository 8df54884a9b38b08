"""Objects as the API server's schemas promise them, before any rule reads them.

A real API server only stores what its schema allows: a container's `name` is a string, `replicas` an
integer, `labels` a map of strings. A hostile or broken server (or a crafted bundle) can send anything,
and about ninety rules each reading a few fields cannot all type-check every read. So the snapshot
conforms every object once, where it enters (Snapshot.add, Snapshot.from_dict): a field whose JSON type
is not the one Kubernetes/KubeRay give that field name is dropped, and so is a `null`, so that it reads
as absent, as with `dig` and the typed getters of the commands. Only names with one meaning everywhere
are listed; a name that is an object in one place and a string in another (`status`, `state`,
`limits`, `value`, `resources`) is left to `dig`'s typed defaults.
"""

from __future__ import annotations

from typing import Any

STRING_FIELDS = frozenset((
    "apiVersion", "kind", "name", "namespace", "uid", "image", "imagePullPolicy", "reason", "message", "note", "type",
    "key", "operator", "effect", "phase", "nodeName", "schedulerName", "priorityClassName", "runtimeClassName",
    "serviceAccountName", "restartPolicy", "creationTimestamp", "deletionTimestamp", "lastTimestamp",
    "firstTimestamp", "eventTime", "startTime", "lastTransitionTime", "manager", "time", "serviceName",
    "rayClusterName", "groupName", "jobId", "submissionId", "jobStatus", "jobDeploymentStatus", "rayVersion",
    "claimName", "secretName", "containerID", "imageID", "hostIP", "podIP", "clusterIP", "entrypoint",
    "serveConfigV2", "dashboardURL", "upscalingMode", "component", "host", "finishedAt", "startedAt",
    "serviceAccount", "storageClassName", "topologyKey", "mountPath", "subPath", "fieldPath",
    "nominatedNodeName", "qosClass", "hostname", "subdomain", "headServiceName",
))
INT_FIELDS = frozenset((
    "replicas", "minReplicas", "maxReplicas", "restartCount", "exitCode", "count", "generation", "observedGeneration",
    "availableReplicas", "readyReplicas", "updatedReplicas", "unavailableReplicas", "readyWorkerReplicas",
    "availableWorkerReplicas", "desiredWorkerReplicas", "minWorkerReplicas", "maxWorkerReplicas", "numOfHosts",
    "succeeded", "failed", "active", "backoffLimit", "containerPort", "idleTimeoutSeconds", "priority",
    "ttlSecondsAfterFinished", "activeDeadlineSeconds", "terminationGracePeriodSeconds", "failedNodeReplicas",
))
OBJECT_FIELDS = frozenset((
    "metadata", "spec", "template", "headGroupSpec", "requests", "securityContext", "valueFrom",
    "secretKeyRef", "configMapKeyRef", "fieldRef", "gcsFaultToleranceOptions", "redisPassword", "redisUsername",
    "involvedObject", "regarding", "head", "activeServiceStatus", "pendingServiceStatus", "rayClusterSpec", "rayClusterConfig",
    "submitterPodTemplate", "submitterConfig", "autoscalerOptions", "selector", "matchLabels", "schema",
    "openAPIV3Schema", "persistentVolumeClaim", "configMap", "secret", "projected", "emptyDir", "hostPath",
    "running", "waiting", "terminated", "lastState", "affinity", "nodeAffinity", "podAffinity", "podAntiAffinity",
    "rayClusterStatus", "rayJobInfo", "deletionStrategy", "names", "capacity",
    "allocatable", "nodeInfo", "fieldsV1", "strategy", "hard", "used", "podSelector",
    "namespaceSelector", "upgradeStrategy", "serveService", "headService", "source", "default", "defaultRequest", "max",
    "min", "maxLimitRequestRatio",
))
LIST_FIELDS = frozenset((
    "workersToDelete", "args", "command", "fields", "finalizers", "addresses", "values", "ports", "policyTypes",
))
# maps whose values Kubernetes keeps as strings, and maps whose values are objects
STRING_MAPS = frozenset(("labels", "annotations", "nodeSelector"))  # not rayStartParams: RES-06 reports numbers there
OBJECT_MAPS = frozenset(("applicationStatuses", "serveDeploymentStatuses", "properties"))


def conform(value: Any) -> Any:
    """`value` with wrong-typed fields dropped, in place for dicts and lists (returns it for convenience)."""
    if type(value) is dict:
        _conform_dict(value)
    elif type(value) is list:
        for item in value:
            if type(item) is dict or type(item) is list:
                conform(item)
    return value


def _conform_dict(obj: dict[str, Any]) -> None:
    wrong: list[str] = []
    for key, val in obj.items():
        kind = type(val)
        if val is None:  # `null` is absent (the API server drops it too): `.get(key, default)` then holds
            wrong.append(key)
        elif key in STRING_FIELDS:
            if kind is not str:
                wrong.append(key)
        elif key in INT_FIELDS:
            if kind is not int:  # bool is not int here: `type` is exact
                wrong.append(key)
        elif key in OBJECT_FIELDS:
            if kind is not dict:
                wrong.append(key)
            else:
                _conform_dict(val)
        elif key in LIST_FIELDS:
            if kind is not list:
                wrong.append(key)
            else:
                conform(val)
        elif key in STRING_MAPS:
            if kind is not dict:
                wrong.append(key)
            else:
                _keep_values(val, str)
        elif key in OBJECT_MAPS:
            if kind is not dict:
                wrong.append(key)
            else:
                _keep_values(val, dict)
                for item in val.values():
                    _conform_dict(item)
        elif kind is dict:
            _conform_dict(val)
        elif kind is list:
            conform(val)
    for key in wrong:
        del obj[key]


def _keep_values(mapping: dict[str, Any], kind: type) -> None:
    for key in [k for k, v in mapping.items() if type(v) is not kind]:
        del mapping[key]

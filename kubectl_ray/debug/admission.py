"""The API server's refusals to create a pod, recognised wherever KubeRay or Kubernetes put them.

KubeRay reports a pod it could not create in a Warning event (`FailedToCreateHeadPod`,
`FailedToCreateWorkerPod`), in the `ReplicaFailure` condition (v1.2+, message prefixed with the
reason on its own line), or in `status.reason` (before v1.2); a batch Job reports it as a
`FailedCreate` event. The message is the API server's own and says who refused:

    pods "x-head-abcde" is forbidden: exceeded quota: compute, requested: ..., limited: ...
    Pod "x-worker-abcde" is invalid: spec.containers[0].resources.requests: Invalid value: "2": must be
        less than or equal to cpu limit of 250m                                        (a LimitRange)
    pods "x" is forbidden: violates PodSecurity "restricted:latest": ...
    pods "x" is forbidden: unable to validate against any security context constraint: [...]
    admission webhook "validate.example.com" denied the request: ...
    pods "x" is forbidden: error looking up service account ns/sa: serviceaccount "sa" not found

Pure: classify(message) -> Refusal | None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# (kind, pattern, who refused) - first match wins, most specific first
_KINDS: list[tuple[str, re.Pattern[str], str]] = [
    ("quota", re.compile(r"exceeded quota|failed quota|must specify (limits|requests)\.", re.I), "a ResourceQuota"),
    ("limitrange", re.compile(r"must be (less|greater) than or equal to \S+ (limit|request)|"
                              r"(maximum|minimum) \S+ usage per (Container|Pod)|"
                              r"(limit|request) to (limit|request) ratio", re.I), "a LimitRange"),
    ("podsecurity", re.compile(r"violates PodSecurity", re.I), "Pod Security Admission"),
    ("scc", re.compile(r"unable to validate against any security context constraint", re.I),
     "OpenShift security context constraints"),
    ("serviceaccount", re.compile(r"error looking up service account|serviceaccounts? \"[^\"]+\" not found", re.I),
     "the ServiceAccount admission check"),
    ("priorityclass", re.compile(r"no PriorityClass with name", re.I), "the Priority admission check"),
    ("webhook", re.compile(r"admission webhook|denied the request|ValidatingAdmissionPolicy", re.I),
     "an admission webhook or policy"),
    ("invalid", re.compile(r"\bis invalid:", re.I), "API validation"),
    ("forbidden", re.compile(r"\bis forbidden:", re.I), "an admission check"),
]
_POD = re.compile(r"""(?:pods?|Pod)\s+\\?"([a-z0-9][a-z0-9.-]*)\\?\"""")
_SERVICE_ACCOUNT = re.compile(r'serviceaccounts? "([^"]+)" not found|service account [^/\s]+/([^:\s]+)')


@dataclass(frozen=True)
class Refusal:
    kind: str  # quota | limitrange | podsecurity | scc | serviceaccount | priorityclass | webhook | invalid | forbidden
    who: str  # "a ResourceQuota", for titles
    message: str  # the whole message, as found
    pod: str = ""  # the pod name the message names ("" when it names none, e.g. generateName-only)

    @property
    def service_account(self) -> str:
        match = _SERVICE_ACCOUNT.search(self.message)
        return (match.group(1) or match.group(2)) if match else ""

    def role(self, cluster: str) -> str:
        """head / worker / "" from the pod name the message carries."""
        name = self.pod or ""
        if "-head-" in name or name.endswith("-head"):
            return "head"
        if "-worker-" in name or name.endswith("-worker"):
            return "worker"
        return ""

    def group(self, cluster: str, groups: list[str]) -> str:
        """The worker group a worker pod name belongs to.

        KubeRay names worker pods <cluster>-<group>-worker-<id> (v1.2+) or <cluster>-worker-<group>-<id>.
        """
        name = self.pod or ""
        for g in sorted(groups, key=len, reverse=True):
            if f"-{g}-worker" in name or f"-worker-{g}-" in name:
                return g
        return ""


def classify(message: str | None) -> Refusal | None:
    text = str(message or "")
    if not text:
        return None
    for kind, pattern, who in _KINDS:
        if pattern.search(text):
            pod = _POD.search(text)
            return Refusal(kind, who, text, pod.group(1) if pod else "")
    return None

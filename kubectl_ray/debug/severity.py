"""The severity policy: what ERROR, WARNING and INFO mean, and the clauses a rule's severity rests on.

    ERROR    the workload cannot make progress now: something must change before it does.
    WARNING  it works now, but is at risk, degraded, stalled, or not doing what its spec says.
    INFO     by design: behaviour that surprises people but is how KubeRay and Ray work.

Every rule declares, for each severity it can report, the clause below that justifies it
(`@rule("GCS-02", ..., policy={ERROR: HEAD_DOWN})`; a rule with two cases of one severity declares
both and names the one each finding rests on); the engine copies the clause onto each finding
(`"policy"` in `-o json`) and tests/debug/test_severity_policy.py checks that every rule declares its
clauses, that each clause belongs to the severity it is declared for, and that every finding the
rules produce on the test cases and the incident corpus carries a declared clause.

The exit code follows: 1 when a finding is an ERROR (cli/debug.py), so `kubectl ray debug` fails
exactly when the workload cannot make progress.
"""

from __future__ import annotations

from kubectl_ray.debug.finding import ERROR, INFO, WARNING

# ERROR: the workload cannot make progress now.
NOT_RECONCILED = "not-reconciled"  # the operator is missing, down, not watching, or rejects the spec
CONFIG_CANNOT_WORK = "config-cannot-work"  # the spec as written makes Ray or a KubeRay component fail
MISSING_DEPENDENCY = "missing-dependency"  # something the spec names does not exist (a cluster, Service, queue)
PODS_NOT_CREATED = "pods-not-created"  # the API server refuses the pods (quota, LimitRange, PodSecurity, webhook)
PODS_NOT_SCHEDULED = "pods-not-scheduled"  # no node (or queue) takes the pods as they are
PODS_NOT_STARTING = "pods-not-starting"  # images, container creation, crashes, OOM kills
HEAD_DOWN = "head-down"  # the head / GCS does not serve, so nothing runs
WORKERS_CUT_OFF = "workers-cut-off"  # workers cannot reach the head
WORKLOAD_FAILED = "workload-failed"  # the job or Serve application failed, or its state was lost

# WARNING: works now, but at risk.
AT_RISK = "at-risk"  # a restart, load or upgrade will break it
DEGRADED = "degraded"  # part of it fails or restarts while the rest works
STALLED = "stalled"  # no progress for a while, but it may still come
IGNORED_CONFIG = "ignored-config"  # a setting is dropped, ignored or deprecated: the spec is not what runs

# INFO: by design.
BY_DESIGN = "by-design"

CLAUSES: dict[str, tuple[str, ...]] = {
    ERROR: (NOT_RECONCILED, CONFIG_CANNOT_WORK, MISSING_DEPENDENCY, PODS_NOT_CREATED, PODS_NOT_SCHEDULED,
            PODS_NOT_STARTING, HEAD_DOWN, WORKERS_CUT_OFF, WORKLOAD_FAILED),
    WARNING: (AT_RISK, DEGRADED, STALLED, IGNORED_CONFIG),
    INFO: (BY_DESIGN,),
}


def severity_of(clause: str) -> str | None:
    return next((sev for sev, clauses in CLAUSES.items() if clause in clauses), None)


def check_policy(rule_id: str, policy: dict[str, str | tuple[str, ...]]) -> list[str]:
    """What is wrong with a rule's declared policy (empty: nothing)."""
    problems = []
    if not policy:
        problems.append(f"{rule_id} declares no severity policy")
    for severity, declared in policy.items():
        for clause in (declared,) if isinstance(declared, str) else declared:
            if severity_of(clause) != severity:
                problems.append(f"{rule_id}: clause {clause!r} is not a {severity} clause")
    return problems

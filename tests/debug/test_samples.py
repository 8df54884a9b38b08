"""False-positive guard: every KubeRay sample, running healthy, gives no error finding and crashes no rule."""

from __future__ import annotations

import pytest

from kubectl_ray.debug.engine import diagnose
from tests.conftest import shared_path
from tests.debug.sim import RAY_KINDS, Sim, load_docs, sample_files
from tests.debug.test_severity_policy import undeclared

# Samples that use alpha features: a healthy running cluster means the operator has their gate on
# (each sample's header comment says so).
GATES = {
    "ray-cluster.mtls.yaml": ["RayClusterMTLS"],
    "ray-cluster.historyserver.yaml": ["RayClusterHistoryServer"],
    "ray-cluster.embedded-gcs-ft.yaml": ["GCSFaultToleranceEmbeddedStorage"],
    "ray-cluster.network-policy-deny-all.yaml": ["RayClusterNetworkPolicy"],
}


def _documents() -> list[tuple[str, int]]:
    shared_path("samples")
    out = []
    for name in sample_files():
        for i, doc in enumerate(load_docs(name)):
            if doc.get("kind") in RAY_KINDS:
                out.append((name, i))
    return out


def test_the_guard_covers_every_ray_sample() -> None:
    docs = _documents()
    kinds = {load_docs(name)[i]["kind"] for name, i in docs}
    assert kinds == {"RayCluster", "RayJob", "RayService", "RayCronJob"}
    assert len({name for name, _ in docs}) >= 80


@pytest.mark.parametrize("name,index", _documents(), ids=lambda v: str(v))
def test_healthy_sample_has_no_error_finding(name: str, index: int) -> None:
    sim = Sim(gates=GATES.get(name, []))
    target, objs = sim.healthy(load_docs(name)[index])
    d = diagnose(sim.snapshot(target, objs))
    assert d.found
    assert not d.crashed, d.crashed
    errors = [(f.id, f.title, [e.render() for e in f.evidence]) for f in d.all_findings() if f.severity == "error"]
    assert not errors, errors
    assert not d.not_checked, d.not_checked
    assert not undeclared(d.all_findings())


def test_healthy_samples_stay_quiet_overall() -> None:
    """Warnings on healthy samples are few, and only from the rules that flag the samples' own choices."""
    seen: dict[str, int] = {}
    for name, index in _documents():
        sim = Sim(gates=GATES.get(name, []))
        target, objs = sim.healthy(load_docs(name)[index])
        for f in diagnose(sim.snapshot(target, objs)).all_findings():
            if f.severity == "warning":
                seen[f.id] = seen.get(f.id, 0) + 1
    # ray-cluster-label-selector and ray-job.resources declare GPUs on pods without GPU limits (GPU-01);
    # ray-job.sample, the two RayCronJob samples and the two high-throughput LLM services set no memory
    # limit on some Ray container (RES-02): both are true of the samples, and both are only warnings.
    assert seen == {"GPU-01": 2, "RES-02": 5}, seen

"""Property: any options that pass validation build a RayCluster the v1.7.0 CRD accepts, and the
builder never raises on them."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubectl_ray.errors import UsageError
from kubectl_ray.resources.cluster import (
    ClusterOptions, GcsFaultToleranceOptions, HeadOptions, WorkerGroupOptions, build_raycluster, validate_cluster_options,
)
from tests.crd_schema import validate_cr

quantities = st.one_of(st.none(), st.sampled_from(["", "0", "1", "500m", "2", "1.5", "4Gi", "4096Mi", "1e3", "16"]))
counts = st.integers(min_value=0, max_value=20)
names = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True)
selectors = st.dictionaries(st.sampled_from(["pool", "example.com/zone", "kubernetes.io/arch"]),
                            st.sampled_from(["a", "b-1", "x.y"]), max_size=2)
tolerations = st.lists(st.fixed_dictionaries({"key": st.sampled_from(["nvidia.com/gpu", "spot"]),
                                              "operator": st.just("Exists"),
                                              "effect": st.sampled_from(["NoSchedule", "NoExecute"])}), max_size=2)
extended = st.dictionaries(st.sampled_from(["amd.com/gpu", "huawei.com/Ascend910B"]), st.sampled_from(["1", "2", "8"]),
                           max_size=2)
ray_resources = st.dictionaries(st.sampled_from(["NPU", "custom_a", "accelerator_type:A100"]),
                                st.one_of(st.integers(0, 8), st.floats(0, 8, allow_nan=False)), max_size=2)


@st.composite
def groups(draw: st.DrawFn, index: int) -> WorkerGroupOptions:
    low = draw(st.one_of(st.none(), counts))
    high = draw(st.one_of(st.none(), st.integers(min_value=low or 0, max_value=40)))
    replicas = draw(st.integers(min_value=low or 0, max_value=high if high is not None else 40))
    return WorkerGroupOptions(
        name=f"group-{index}", replicas=replicas, min_replicas=low, max_replicas=high,
        num_of_hosts=draw(st.integers(1, 4)), cpu=draw(quantities), memory=draw(quantities), gpu=draw(quantities),
        ephemeral_storage=draw(quantities), node_selectors=draw(selectors), tolerations=draw(tolerations),
        runtime_class_name=draw(st.one_of(st.none(), st.just("nvidia"))), resources=draw(extended),
        ray_resources=draw(ray_resources), env=draw(st.dictionaries(st.sampled_from(["A", "B_2"]), st.text(max_size=5), max_size=2)),
    )


@st.composite
def clusters(draw: st.DrawFn) -> ClusterOptions:
    count = draw(st.integers(0, 3))
    autoscaler = draw(st.one_of(st.none(), st.sampled_from(["v1", "v2"])))
    return ClusterOptions(
        name=draw(names), namespace="default", ray_version=draw(st.sampled_from(["2.52.0", "2.46.0"])),
        image=draw(st.one_of(st.none(), st.just("example.com/ray:custom"))),
        head=HeadOptions(cpu=draw(quantities), memory=draw(quantities), gpu=draw(quantities),
                         node_selectors=draw(selectors), tolerations=draw(tolerations), resources=draw(extended),
                         service_type=draw(st.one_of(st.none(), st.sampled_from(["ClusterIP", "NodePort"])))),
        worker_groups=[draw(groups(i)) for i in range(count)],
        autoscaler=autoscaler,
        autoscaler_idle_timeout_seconds=draw(st.one_of(st.none(), counts)) if autoscaler else None,
        autoscaler_upscaling_mode=draw(st.one_of(st.none(), st.sampled_from(["Default", "Conservative"]))) if autoscaler else None,
        gcs_fault_tolerance=draw(st.one_of(st.none(), st.just(GcsFaultToleranceOptions("redis:6379", ("s", "k"), "ns")))),
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters())
def test_valid_options_build_crd_valid_clusters(options: ClusterOptions) -> None:
    try:
        validate_cluster_options(options)
    except UsageError:
        return  # e.g. a fractional extended resource: rejected before building, which is the point
    assert validate_cr(build_raycluster(options)) == []

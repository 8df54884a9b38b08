"""Flags and values the `job` subcommands share: the generated cluster's flags, the dashboard flags."""

from __future__ import annotations

import os
from typing import Any, Callable

import click

from kubectl_ray.cli.grammar import INT32
from kubectl_ray.errors import UsageError


def cluster_flags(func: Callable[..., Any]) -> Callable[..., Any]:
    """The generated RayJob's cluster: upstream's flags plus create cluster's extras that fit a job."""
    decorators = [
        click.option("--ray-version", default=None, metavar="VERSION",
                     help="Ray version of the generated cluster (spec.rayVersion). [default: 2.52.0]"),
        click.option("--image", default=None, metavar="IMAGE",
                     help="Container image of the generated cluster. [default: rayproject/ray:<ray-version>]"),
        click.option("--head-cpu", default="2", show_default=True, help="CPU request of the head."),
        click.option("--head-memory", default="4Gi", show_default=True, help="Memory request and limit of the head."),
        click.option("--head-gpu", default="0", show_default=True, help="nvidia.com/gpu of the head."),
        click.option("--head-ephemeral-storage", default=None, help="Ephemeral storage of the head."),
        click.option("--head-node-selectors", multiple=True, metavar="KEY=VALUE,...", help="Node selectors of the head pod."),
        click.option("--head-runtime-class-name", default=None, metavar="NAME",
                     help="runtimeClassName of the head pod (e.g. nvidia)."),
        click.option("--head-tolerations", multiple=True, metavar="KEY=VALUE:EFFECT,...",
                     help="Tolerations of the head pod, in kubectl taint syntax."),
        click.option("--head-resources", multiple=True, metavar="NAME=QTY,...",
                     help="Extended resources of the head (request = limit), e.g. amd.com/gpu=1."),
        click.option("--head-ray-resources", default=None, metavar="JSON",
                     help="Ray custom resources of the head, e.g. '{\"NPU\": 1}'."),
        click.option("--worker-replicas", type=INT32, default=1, show_default=True, help="Workers in the default group."),
        click.option("--worker-cpu", default="2", show_default=True, help="CPU request of each worker."),
        click.option("--worker-memory", default="4Gi", show_default=True, help="Memory request and limit of each worker."),
        click.option("--worker-gpu", default="0", show_default=True, help="nvidia.com/gpu of each worker."),
        click.option("--worker-ephemeral-storage", default=None, help="Ephemeral storage of each worker."),
        click.option("--worker-node-selectors", multiple=True, metavar="KEY=VALUE,...", help="Node selectors of worker pods."),
        click.option("--worker-runtime-class-name", default=None, metavar="NAME", help="runtimeClassName of worker pods."),
        click.option("--worker-tolerations", multiple=True, metavar="KEY=VALUE:EFFECT,...",
                     help="Tolerations of worker pods, in kubectl taint syntax."),
        click.option("--worker-resources", multiple=True, metavar="NAME=QTY,...",
                     help="Extended resources of each worker (request = limit), e.g. huawei.com/Ascend910B=1."),
        click.option("--worker-ray-resources", default=None, metavar="JSON",
                     help="Ray custom resources of each worker, e.g. '{\"NPU\": 1}'."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


CLUSTER_FLAG_PARAMS = (
    "ray_version", "image", "head_cpu", "head_memory", "head_gpu", "head_ephemeral_storage", "head_node_selectors",
    "head_runtime_class_name", "head_tolerations", "head_resources", "head_ray_resources", "worker_replicas",
    "worker_cpu", "worker_memory", "worker_gpu", "worker_ephemeral_storage", "worker_node_selectors",
    "worker_runtime_class_name", "worker_tolerations", "worker_resources", "worker_ray_resources",
)


def dashboard_flags(func: Callable[..., Any]) -> Callable[..., Any]:
    decorators = [
        click.option("--address", default=None, metavar="URL",
                     help="Ray dashboard URL to use instead of a port-forward (e.g. behind an ingress)."),
        click.option("--headers", default=None, metavar="JSON",
                     help="HTTP headers for every dashboard request, as a JSON object (RAY_JOB_HEADERS also works)."),
        click.option("--verify", default=None, metavar="BOOL|CA_PATH",
                     help="Verify the dashboard's TLS certificate: true (default), false, or a CA file or directory."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def parse_headers(value: str | None) -> dict[str, str]:
    from kubectl_ray.parsing import parse_json_flag

    flag = "--headers"
    if value is None and "RAY_JOB_HEADERS" in os.environ:
        value, flag = os.environ["RAY_JOB_HEADERS"], "RAY_JOB_HEADERS"
    headers = parse_json_flag(flag, value) or {}
    for key, val in headers.items():
        if not isinstance(val, str) or not key.strip() or any(c in key + val for c in "\r\n"):
            raise UsageError(f"invalid {flag}: header {key!r} must have a string value on one line")
    return headers

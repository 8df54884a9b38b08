"""Version facts: operator version from an image, KubeRay version comparison, plugin compatibility."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SEMVER = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+.]([0-9A-Za-z.-]+))?$")

# The newest operator release whose behaviour this plugin was written against.
NEWEST_KNOWN_KUBERAY = (1, 7, 0)
# What the objects this plugin writes need (see the create/job builders).
MIN_KUBERAY_FULL = (1, 4, 0)  # autoscalerOptions.version, optional rayStartParams, name-length rules
MIN_KUBERAY_JOB_SUBMIT = (1, 3, 0)  # RayJob submissionMode: InteractiveMode


def parse_version(text: str | None) -> tuple[int, int, int] | None:
    """`v1.7.0`, `1.4`, `v1.6.0-rc.1` -> (1, 7, 0); `nightly`, a SHA or a digest -> None."""
    if not text:
        return None
    match = _SEMVER.match(text.strip().split("@", 1)[0])
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def image_tag(image: str) -> str:
    """The tag of an image reference as the upstream plugin reports it.

    `quay.io/kuberay/operator:v1.7.0` -> `v1.7.0`; `op:v1.2.2@sha256:ab` -> `v1.2.2@sha256:ab`;
    `op@sha256:ab` -> `sha256:ab`; no tag -> `latest`.
    """
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    if digest:
        return f"{tag}@{digest}" if tag else digest
    return tag or "latest"


def format_version(version: tuple[int, int, int]) -> str:
    return "v" + ".".join(str(p) for p in version)


@dataclass(frozen=True)
class Compatibility:
    level: str  # ok | limited | unsupported | unknown
    message: str


def plugin_compatibility(operator_version: str | None) -> Compatibility:
    """How well this plugin works with a given KubeRay operator version."""
    version = parse_version(operator_version)
    if version is None:
        return Compatibility("unknown", f"cannot tell the KubeRay version from {operator_version or 'nothing'!r}; "
                                        f"this plugin is tested with KubeRay {format_version(MIN_KUBERAY_FULL)} to "
                                        f"{format_version(NEWEST_KNOWN_KUBERAY)}")
    shown = format_version(version)
    if version < MIN_KUBERAY_JOB_SUBMIT:
        return Compatibility("unsupported", f"KubeRay {shown} is older than {format_version(MIN_KUBERAY_JOB_SUBMIT)}: "
                                            "'job submit' needs InteractiveMode RayJobs and generated RayClusters "
                                            f"need KubeRay {format_version(MIN_KUBERAY_FULL)}; upgrade the operator")
    if version < MIN_KUBERAY_FULL:
        return Compatibility("limited", f"KubeRay {shown} is older than {format_version(MIN_KUBERAY_FULL)}: "
                                        "'create cluster --autoscaler' (autoscalerOptions.version) is not supported; "
                                        "everything else works")
    if version[:2] > NEWEST_KNOWN_KUBERAY[:2]:
        return Compatibility("ok", f"KubeRay {shown} is newer than the newest release this plugin knows "
                                   f"({format_version(NEWEST_KNOWN_KUBERAY)}); it should work")
    return Compatibility("ok", f"KubeRay {shown} is supported")

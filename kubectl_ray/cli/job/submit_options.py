"""`kubectl ray job submit`, Complete + Validate: flags (or -f) -> SubmitOptions, before anything is written."""

from __future__ import annotations

import math
import os
import secrets
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from kubectl_ray.cli.common import reject_empty_quantities
from kubectl_ray.cli.dryrun import parse_dry_run
from kubectl_ray.cli.job.flags import CLUSTER_FLAG_PARAMS, parse_headers
from kubectl_ray.env import CommandEnv
from kubectl_ray.errors import UsageError
from kubectl_ray.shapes import MIB, ShapeError, TooLarge, check_depth, read_stream_capped

if TYPE_CHECKING:
    from kubectl_ray.ray.packaging import PackagePlan

SUBMISSION_ID_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ123456789"  # upstream's
SUBMISSION_ID_PREFIX = "raysubmit_"
DEFAULT_CLUSTER_TIMEOUT = "10m"
# A RayJob manifest (-f) and a runtime env (--runtime-env) end up in one RayJob object, which the API
# server stores only up to 1.5 MiB (etcd's default request size): a bigger file could never be submitted.
MAX_YAML_FILE_BYTES = 4 * MIB
MAX_YAML_FILE_VALUES = 100_000  # after YAML aliases are expanded (an alias bomb is a few lines long)
SUBMIT_USAGE = "kubectl ray job submit [OPTIONS] (-f RAYJOB_YAML | --name NAME) -- ENTRYPOINT..."


def new_submission_id() -> str:
    """`raysubmit_` + 16 characters of upstream's alphabet, from the OS's CSPRNG."""
    return SUBMISSION_ID_PREFIX + "".join(secrets.choice(SUBMISSION_ID_ALPHABET) for _ in range(16))


@dataclass
class SubmitOptions:
    namespace: str
    name: str
    entrypoint: str
    submission_id: str
    rayjob: dict[str, Any]
    generated_id: bool
    address: str | None
    headers: dict[str, str]
    verify: bool | str
    plan: "PackagePlan"
    payload: dict[str, Any]  # POST /api/jobs/ body, runtime_env filled in after the upload plan
    cluster_timeout: float
    no_wait: bool
    keep: bool
    dry_run: str  # none | client | server
    verbose: bool
    notes: list[str] = field(default_factory=list)


def complete_submit(env: CommandEnv, flags: dict[str, Any], words: list[str] | None) -> SubmitOptions:
    """Complete + Validate: every check that needs no cluster, before anything is written."""
    from kubectl_ray.parsing import parse_duration
    from kubectl_ray.ray.dashboard import parse_address, parse_verify
    from kubectl_ray.ray.packaging import plan_packages

    if words is None:
        raise UsageError(f"no entrypoint: put the command after --; usage: {SUBMIT_USAGE}")
    if not words or not "".join(words).strip():
        raise UsageError(f"empty entrypoint after --; usage: {SUBMIT_USAGE}")
    entrypoint = shlex.join(words)
    submission_id = flags["submission_id"]
    generated_id = submission_id is None
    if submission_id is not None and not submission_id.strip():
        raise UsageError("--submission-id must not be empty")
    submission_id = submission_id or new_submission_id()
    namespace = env.namespace
    cluster_timeout = parse_duration("--cluster-timeout", flags["cluster_timeout"])
    if cluster_timeout <= 0:
        raise UsageError("--cluster-timeout must be greater than 0")
    headers = parse_headers(flags["headers"])
    if flags["address"] is not None:
        parse_address(flags["address"])
    verify = parse_verify(flags["verify"])
    notes: list[str] = []
    if flags["filename"]:
        rayjob, file_env_yaml, file_notes = _rayjob_from_file(env, flags, namespace, submission_id, entrypoint)
        notes.extend(file_notes)
    else:
        reject_empty_quantities(click.get_current_context(), flags)
        rayjob, file_env_yaml = _generated_rayjob(flags, namespace, submission_id, entrypoint), None
    runtime_env = _runtime_env(flags, file_env_yaml, notes)
    payload = _payload(flags, entrypoint, submission_id)
    plan = plan_packages(runtime_env, warn=lambda m: notes.append(f"Warning: {m}"))
    if plan.runtime_env:
        payload["runtime_env"] = plan.runtime_env
    return SubmitOptions(
        namespace=namespace, name=rayjob["metadata"]["name"], entrypoint=entrypoint, submission_id=submission_id,
        rayjob=rayjob, generated_id=generated_id, address=flags["address"], headers=headers, verify=verify,
        plan=plan, payload=payload, cluster_timeout=cluster_timeout, no_wait=flags["no_wait"], keep=flags["keep"],
        dry_run=parse_dry_run(flags["dry_run"]), verbose=flags["verbose"], notes=notes,
    )


def _generated_rayjob(flags: dict[str, Any], namespace: str, submission_id: str, entrypoint: str) -> dict[str, Any]:
    from kubectl_ray.resources.rayjob import RayJobOptions, build_rayjob, validate_rayjob_options

    if not flags["name"]:
        raise UsageError("Must set either yaml file (--filename) or set Ray job name (--name)")
    options = RayJobOptions(name=flags["name"], namespace=namespace, entrypoint=entrypoint,
                            submission_id=submission_id, cluster=_cluster_options(flags),
                            ttl_seconds_after_finished=flags["ttl"])
    validate_rayjob_options(options)
    return build_rayjob(options)


def _cluster_options(flags: dict[str, Any]) -> Any:
    from kubectl_ray.parsing import parse_key_values, parse_labels, parse_tolerations
    from kubectl_ray.resources.cluster import (
        DEFAULT_RAY_VERSION, ClusterOptions, HeadOptions, WorkerGroupOptions, parse_ray_resources,
    )

    head = HeadOptions(
        cpu=flags["head_cpu"], memory=flags["head_memory"], gpu=flags["head_gpu"],
        ephemeral_storage=flags["head_ephemeral_storage"],
        node_selectors=parse_labels("--head-node-selectors", flags["head_node_selectors"]),
        runtime_class_name=flags["head_runtime_class_name"],
        tolerations=parse_tolerations("--head-tolerations", flags["head_tolerations"]),
        resources=parse_key_values("--head-resources", flags["head_resources"]),
        ray_resources=parse_ray_resources("--head-ray-resources", flags["head_ray_resources"]),
    )
    worker = WorkerGroupOptions(
        replicas=flags["worker_replicas"], cpu=flags["worker_cpu"], memory=flags["worker_memory"],
        gpu=flags["worker_gpu"], ephemeral_storage=flags["worker_ephemeral_storage"],
        node_selectors=parse_labels("--worker-node-selectors", flags["worker_node_selectors"]),
        runtime_class_name=flags["worker_runtime_class_name"],
        tolerations=parse_tolerations("--worker-tolerations", flags["worker_tolerations"]),
        resources=parse_key_values("--worker-resources", flags["worker_resources"]),
        ray_resources=parse_ray_resources("--worker-ray-resources", flags["worker_ray_resources"]),
    )
    return ClusterOptions(ray_version=flags["ray_version"] or DEFAULT_RAY_VERSION, image=flags["image"],
                          head=head, worker_groups=[worker])


def _rayjob_from_file(env: CommandEnv, flags: dict[str, Any], namespace: str, submission_id: str,
                      entrypoint: str) -> tuple[dict[str, Any], str | None, list[str]]:
    from kubectl_ray.resources.rayjob import prepare_rayjob_file

    ctx = click.get_current_context()
    given = [p for p in CLUSTER_FLAG_PARAMS if ctx.get_parameter_source(p) == click.core.ParameterSource.COMMANDLINE]
    if given:
        names = ", ".join("--" + p.replace("_", "-") for p in given)
        raise UsageError(f"{names} cannot be used with -f: the RayJob file describes the cluster")
    path = flags["filename"]
    doc = _load_yaml_file(path, "-f", "Ray Job file")
    prepared = prepare_rayjob_file(doc, source=path, namespace=namespace, submission_id=submission_id,
                                   entrypoint=entrypoint, name=flags["name"], ttl_seconds_after_finished=flags["ttl"])
    return prepared.rayjob, prepared.runtime_env_yaml, prepared.notes


def _load_yaml_file(path: str, flag: str, what: str) -> Any:
    import yaml

    if not os.path.exists(path):
        raise UsageError(f"{flag} {path}: {what} does not exist")
    if not os.path.isfile(path):
        raise UsageError(f"{flag} {path}: not a regular file")
    try:
        with open(path, encoding="utf-8") as fh:
            text = read_stream_capped(fh, MAX_YAML_FILE_BYTES)
        docs = [d for d in yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if d is not None]
        for doc in docs:
            check_depth(doc, f"{flag} {path}", max_values=MAX_YAML_FILE_VALUES)
    except TooLarge:
        raise UsageError(f"{flag} {path}: larger than {MAX_YAML_FILE_BYTES // MIB} MiB; the API server could not "
                         "store what it holds") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{flag} {path}: cannot read it: {exc}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{flag} {path}: not valid YAML: {_yaml_problem(exc)}") from None
    except RecursionError:
        raise UsageError(f"{flag} {path}: nested too deeply") from None
    except ShapeError as exc:
        raise UsageError(exc.message) from None
    if len(docs) > 1:
        raise UsageError(f"{flag} {path}: holds {len(docs)} YAML documents; expected one")
    return docs[0] if docs else None


def _yaml_problem(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else str(problem)


def _runtime_env(flags: dict[str, Any], file_env_yaml: str | None, notes: list[str]) -> dict[str, Any]:
    """Ray's parse_runtime_env_args: one of --runtime-env / --runtime-env-json, then --working-dir on top."""
    import yaml

    from kubectl_ray.parsing import parse_json_flag

    if flags["runtime_env_file"] and flags["runtime_env_json"] is not None:
        raise UsageError("only one of --runtime-env and --runtime-env-json can be given")
    runtime_env: Any = {}
    if flags["runtime_env_file"]:
        runtime_env = _load_yaml_file(flags["runtime_env_file"], "--runtime-env", "Runtime Env file") or {}
        if not isinstance(runtime_env, dict):
            raise UsageError(f"--runtime-env {flags['runtime_env_file']}: expected a YAML mapping (runtime env fields)")
    elif flags["runtime_env_json"] is not None:
        runtime_env = parse_json_flag("--runtime-env-json", flags["runtime_env_json"])
    elif file_env_yaml:
        try:
            runtime_env = yaml.load(file_env_yaml, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
            check_depth(runtime_env, "spec.runtimeEnvYAML of the -f file", max_values=MAX_YAML_FILE_VALUES)
        except yaml.YAMLError as exc:
            raise UsageError(f"spec.runtimeEnvYAML of the -f file is not valid YAML: {_yaml_problem(exc)}") from None
        except ShapeError as exc:
            raise UsageError(exc.message) from None
        if not isinstance(runtime_env, dict):
            raise UsageError("spec.runtimeEnvYAML of the -f file must be a YAML mapping")
    runtime_env = dict(runtime_env)
    if flags["working_dir"] is not None:
        if not flags["working_dir"].strip():
            raise UsageError("--working-dir must not be empty")
        if "working_dir" in runtime_env and runtime_env["working_dir"] != flags["working_dir"]:
            notes.append("Overriding the runtime env's working_dir with --working-dir")
        runtime_env["working_dir"] = flags["working_dir"]
    return runtime_env


def _payload(flags: dict[str, Any], entrypoint: str, submission_id: str) -> dict[str, Any]:
    """The POST /api/jobs/ body; optional fields only when given (older Rays reject unknown ones)."""
    from kubectl_ray.parsing import parse_json_flag

    payload: dict[str, Any] = {"entrypoint": entrypoint, "submission_id": submission_id}
    metadata = parse_json_flag("--metadata-json", flags["metadata_json"])
    if metadata is not None:
        bad = [k for k, v in metadata.items() if not isinstance(v, str)]
        if bad:
            raise UsageError(f"invalid --metadata-json: values must be strings (Ray rejects others): {', '.join(bad)}")
        payload["metadata"] = metadata
    for flag, key in (("--entrypoint-num-cpus", "entrypoint_num_cpus"), ("--entrypoint-num-gpus", "entrypoint_num_gpus")):
        value = flags[key]
        if value is not None:
            if not math.isfinite(value) or value < 0:
                raise UsageError(f"invalid {flag} {value:g}: must be a number >= 0")
            payload[key] = int(value) if value == int(value) else value
    if flags["entrypoint_memory"] is not None:
        if flags["entrypoint_memory"] < 0:
            raise UsageError(f"invalid --entrypoint-memory {flags['entrypoint_memory']}: must be >= 0")
        payload["entrypoint_memory"] = flags["entrypoint_memory"]
    resources = parse_json_flag("--entrypoint-resources", flags["entrypoint_resources"])
    if resources is not None:
        for key, value in resources.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise UsageError(f"invalid --entrypoint-resources: {key!r} must be a number >= 0, not {value!r}")
        payload["entrypoint_resources"] = resources
    return payload

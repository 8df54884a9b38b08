"""`kubectl ray job submit|logs|stop|list`: Ray jobs on KubeRay without a local Ray install.

`submit` creates an InteractiveMode RayJob (generated from flags or read with -f), waits for
KubeRay to bring its RayCluster up, reaches the Ray dashboard (--address, or a port-forward on a
free local port), uploads working_dir / py_modules packages the way Ray does, submits through the
Jobs REST API and follows the logs. Whatever fails or is interrupted before the Ray job exists,
the RayJob this command created is deleted again (unless --keep), and it says so.

Heavy modules (the Ray client, yaml, http.client/ssl) are imported inside the commands.
"""

from __future__ import annotations

import copy
import math
import os
import secrets
import shlex
import signal
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

import click

from kubectl_ray import completion
from kubectl_ray.cli.common import CONTEXT_SETTINGS, CommandEnv, KubectlCommand, KubectlGroup, examples, kube_command
from kubectl_ray.errors import Interrupted, KubectlRayError, UsageError
from kubectl_ray.printing import info

if TYPE_CHECKING:
    from kubectl_ray.kube.client import KubeClient
    from kubectl_ray.ray.dashboard import DashboardClient
    from kubectl_ray.ray.packaging import PackagePlan

SUBMISSION_ID_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ123456789"  # upstream's
SUBMISSION_ID_PREFIX = "raysubmit_"
ENTRYPOINT_KEY = "kubectl_ray.job.entrypoint"
DEFAULT_CLUSTER_TIMEOUT = "10m"
CLUSTER_NAME_TIMEOUT = 60.0  # seconds KubeRay gets to name the cluster (capped by --cluster-timeout)
STOP_WAIT_TIMEOUT = 60.0
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
SUBMIT_USAGE = "kubectl ray job submit [OPTIONS] (-f RAYJOB_YAML | --name NAME) -- ENTRYPOINT..."


def new_submission_id() -> str:
    """`raysubmit_` + 16 characters of upstream's alphabet, from the OS's CSPRNG."""
    return SUBMISSION_ID_PREFIX + "".join(secrets.choice(SUBMISSION_ID_ALPHABET) for _ in range(16))


# --- the group --------------------------------------------------------------------------------------

@click.group("job", cls=KubectlGroup, no_args_is_help=True, context_settings=CONTEXT_SETTINGS)
def job() -> None:
    """Submit Ray jobs to new RayJob clusters and follow, stop or list them.

    No local Ray install is needed: the plugin talks to the Ray dashboard's Jobs REST API itself.
    """


class SubmitCommand(KubectlCommand):
    """Everything after the first `--` is the entrypoint, kept word for word (click never sees it)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            cut = args.index("--")
            ctx.meta[ENTRYPOINT_KEY] = list(args[cut + 1:])
            args = args[:cut]
        else:
            ctx.meta[ENTRYPOINT_KEY] = None
        return super().parse_args(ctx, args)


def _cluster_flags(func: Callable[..., Any]) -> Callable[..., Any]:
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
        click.option("--worker-replicas", type=int, default=1, show_default=True, help="Workers in the default group."),
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


def _dashboard_flags(func: Callable[..., Any]) -> Callable[..., Any]:
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


# --- submit: options -------------------------------------------------------------------------------

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
    dry_run: bool
    verbose: bool
    notes: list[str] = field(default_factory=list)


@job.command("submit", cls=SubmitCommand, context_settings=CONTEXT_SETTINGS,
             short_help="Create a RayJob cluster and run a Ray job on it",
             epilog=examples(
    "# Run a script from the current directory on a new cluster, following its logs",
    "kubectl ray job submit --name my-job --working-dir . -- python my_script.py --epochs 3",
    "",
    "# Quotes and ';' reach Ray exactly as typed",
    "kubectl ray job submit --name hello -- python -c 'import ray; ray.init(); print(\"hi\")'",
    "",
    "# Your own RayJob manifest (submissionMode: InteractiveMode), a runtime env file, no log streaming",
    "kubectl ray job submit -f rayjob.yaml --runtime-env runtime-env.yaml --no-wait -- python train.py",
    "",
    "# A GPU cluster that deletes itself 60 s after the job ends",
    "kubectl ray job submit --name gpu-job --worker-gpu 1 --worker-runtime-class-name nvidia \\",
    "    --worker-tolerations nvidia.com/gpu:NoSchedule --ttl-seconds-after-finished 60 -- python gpu.py",
    "",
    "# Through an ingress instead of a port-forward; print the RayJob without creating it",
    "kubectl ray job submit --name my-job --address https://ray.example.com --dry-run -- python x.py",
))
@click.argument("stray", nargs=-1, required=False, metavar="-- ENTRYPOINT...")
@click.option("-f", "--filename", default=None, metavar="RAYJOB_YAML",
              help="RayJob manifest to create (must be submissionMode: InteractiveMode).")
@click.option("--name", default=None, help="Name of the generated RayJob (required without -f; overrides the file's).")
@click.option("--submission-id", default=None, help="Ray submission id. [default: raysubmit_ + 16 random characters]")
@click.option("--working-dir", default=None, metavar="DIR",
              help="Local directory (zipped and uploaded unless already on the cluster) or remote URI for the job.")
@click.option("--runtime-env", "runtime_env_file", default=None, metavar="FILE", help="Runtime environment YAML file.")
@click.option("--runtime-env-json", default=None, metavar="JSON", help="Runtime environment as a JSON object.")
@click.option("--metadata-json", default=None, metavar="JSON", help="Job metadata as a JSON object of strings.")
@click.option("--entrypoint-num-cpus", type=float, default=None, help="CPUs reserved for the entrypoint command.")
@click.option("--entrypoint-num-gpus", type=float, default=None, help="GPUs reserved for the entrypoint command.")
@click.option("--entrypoint-memory", type=int, default=None, help="Memory (bytes) reserved for the entrypoint command.")
@click.option("--entrypoint-resources", default=None, metavar="JSON",
              help="Custom resources reserved for the entrypoint command, as a JSON object.")
@_dashboard_flags
@click.option("--no-wait", is_flag=True, help="Return once the job is submitted; do not stream its logs.")
@click.option("--cluster-timeout", default=DEFAULT_CLUSTER_TIMEOUT, show_default=True, metavar="DURATION",
              help="How long to wait for the RayCluster to be ready (e.g. 90s, 15m).")
@click.option("--keep", is_flag=True, help="Keep the RayJob when the command fails or is interrupted before the job runs.")
@click.option("--ttl-seconds-after-finished", "ttl", type=int, default=None,
              help="Delete the cluster this many seconds after the job ends (sets shutdownAfterJobFinishes).")
@_cluster_flags
@click.option("--dry-run", is_flag=True, help="Print the RayJob (YAML) and create nothing.")
@click.option("-v", "--verbose", is_flag=True, help="Also print the port-forward command and the dashboard URL.")
@click.option("--log-style", type=click.Choice(["auto", "record", "pretty"]), default=None, hidden=True,
              help="Accepted for compatibility with upstream's Ray CLI flags; output is plain text.")
@click.option("--log-color", type=click.Choice(["auto", "false", "true"]), default=None, hidden=True,
              help="Accepted for compatibility with upstream's Ray CLI flags; output is never coloured.")
@kube_command
def submit(env: CommandEnv, stray: tuple[str, ...], **flags: Any) -> None:
    """Create a RayJob, wait for its RayCluster, submit ENTRYPOINT to Ray and stream the logs.

    The words after `--` are the entrypoint, passed to Ray exactly (shell-quoted). The RayJob is
    generated from the flags (--name, image and resource flags) or read with -f; it always runs
    in InteractiveMode with spec.jobId set to the submission id. The job's logs go to stdout,
    progress to stderr. Exit status: 0 when the job SUCCEEDED or was STOPPED, 1 when it FAILED or
    anything went wrong, 130 on Ctrl-C.

    Ctrl-C while waiting for the cluster deletes the RayJob (unless --keep); Ctrl-C while the
    logs stream only stops streaming: the job keeps running.
    """
    ctx = click.get_current_context()
    words = ctx.meta.get(ENTRYPOINT_KEY)
    if stray:
        raise UsageError(f"unexpected argument(s) before --: {' '.join(stray)}; usage: {SUBMIT_USAGE}")
    opts = complete_submit(env, flags, words)
    for note in opts.notes:
        info(note)
    if opts.dry_run:
        from kubectl_ray.printing import to_yaml

        click.echo(to_yaml(opts.rayjob), nl=False)
        return
    run_submit(env, opts)


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
    headers = _parse_headers(flags["headers"])
    if flags["address"] is not None:
        parse_address(flags["address"])
    verify = parse_verify(flags["verify"])
    notes: list[str] = []
    if flags["filename"]:
        rayjob, file_env_yaml, file_notes = _rayjob_from_file(env, flags, namespace, submission_id, entrypoint)
        notes.extend(file_notes)
    else:
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
        dry_run=flags["dry_run"], verbose=flags["verbose"], notes=notes,
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
            docs = [d for d in yaml.safe_load_all(fh) if d is not None]
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{flag} {path}: cannot read it: {exc}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{flag} {path}: not valid YAML: {_yaml_problem(exc)}") from None
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
            runtime_env = yaml.safe_load(file_env_yaml) or {}
        except yaml.YAMLError as exc:
            raise UsageError(f"spec.runtimeEnvYAML of the -f file is not valid YAML: {_yaml_problem(exc)}") from None
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


def _parse_headers(value: str | None) -> dict[str, str]:
    from kubectl_ray.parsing import parse_json_flag

    flag = "--headers"
    if value is None and "RAY_JOB_HEADERS" in os.environ:
        value, flag = os.environ["RAY_JOB_HEADERS"], "RAY_JOB_HEADERS"
    headers = parse_json_flag(flag, value) or {}
    for key, val in headers.items():
        if not isinstance(val, str) or not key.strip() or any(c in key + val for c in "\r\n"):
            raise UsageError(f"invalid {flag}: header {key!r} must have a string value on one line")
    return headers


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


# --- submit: run ---------------------------------------------------------------------------------

CLEANUP_ATTEMPTS = 4  # 0.5 + 1 + 2 s of backoff: rides out a restarting API server


class _Cleanup:
    """Deletes the RayJob this command created when something fails before the Ray job exists."""

    def __init__(self, kube: "KubeClient", opts: SubmitOptions) -> None:
        self.kube = kube
        self.opts = opts
        self.armed = False

    def run(self) -> str:
        """Delete (unless --keep) and return the sentence saying what happened."""
        from kubectl_ray.kube.resources import RAYJOBS

        name, ns = self.opts.name, self.opts.namespace
        if not self.armed:
            return ""
        self.armed = False
        if self.opts.keep:
            return f'kept RayJob "{name}" (--keep); delete it with: kubectl ray delete rayjob/{name} -n {ns}'
        with _ignoring_sigint():
            problem = self._delete_with_retries(RAYJOBS, name, ns)
        if problem is not None:
            return (f'could not delete RayJob "{name}" created by this command ({problem}); delete it with: '
                    f"kubectl ray delete rayjob/{name} -n {ns}")
        return f'deleted RayJob "{name}" created by this command'

    def _delete_with_retries(self, res: Any, name: str, ns: str) -> str | None:
        """DELETE, retried when the API is unreachable or failing (a lost answer makes the retry's 404
        mean success). Returns None once deleted, else the last error."""
        from kubectl_ray.kube.errors import ApiError, ConnectionFailed

        problem = ""
        for attempt in range(CLEANUP_ATTEMPTS):
            if attempt:
                time.sleep(0.5 * 2 ** (attempt - 1))
            try:
                self.kube.delete(res, name, ns)
                return None
            except ApiError as exc:
                if exc.status == 404:
                    return None
                problem = exc.render()
                if exc.status != 429 and exc.status < 500:
                    break
            except ConnectionFailed as exc:
                problem = exc.render().removeprefix("error: ")
            except KubectlRayError as exc:
                return exc.render().removeprefix("error: ")
        return f"{problem} (after {attempt + 1} attempts)" if attempt else problem


@contextmanager
def _ignoring_sigint() -> Iterator[None]:
    """A second Ctrl-C must not interrupt the cleanup itself (main thread only)."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_submit(env: CommandEnv, opts: SubmitOptions) -> None:
    from kubectl_ray.kube.resources import RAYJOBS

    kube = env.kube()
    if opts.generated_id:
        info(f"Generated submission ID for Ray job: {opts.submission_id}")
    cleanup = _Cleanup(kube, opts)
    try:
        kube.create(RAYJOBS, opts.rayjob, opts.namespace)
        cleanup.armed = True
        info(f"rayjob.ray.io/{opts.name} created")
        cluster = _wait_for_cluster(kube, opts)
        _submit_and_follow(env, opts, cluster, cleanup)
    except KeyboardInterrupt:
        done = cleanup.run()
        raise Interrupted("interrupted" + (f"; {done}" if done else "")) from None
    except KubectlRayError as exc:
        done = cleanup.run()
        if not done:
            raise
        text = exc.render()
        text = text[len("error: "):] if text.startswith("error: ") else text
        raise KubectlRayError(f"{text}; {done}", exit_code=exc.exit_code) from None
    except Exception:  # a bug: still do not leave the RayJob behind, then let the CLI report it
        done = cleanup.run()
        if done:
            info(done)
        raise


def _wait_for_cluster(kube: "KubeClient", opts: SubmitOptions) -> dict[str, Any]:
    from kubectl_ray.kube.resources import RAYCLUSTERS, RAYJOBS
    from kubectl_ray.parsing import format_duration

    start = time.monotonic()
    name_timeout = min(CLUSTER_NAME_TIMEOUT, opts.cluster_timeout)
    cluster_name = None
    last = ""
    for rayjob in observe(kube, RAYJOBS, opts.namespace, opts.name, start + name_timeout):
        if rayjob is None:
            raise KubectlRayError(f'RayJob "{opts.name}" was deleted while waiting for its RayCluster')
        status = rayjob.get("status") or {}
        if status.get("jobDeploymentStatus") in ("ValidationFailed", "Failed"):
            raise KubectlRayError(f'RayJob "{opts.name}" {status.get("jobDeploymentStatus")}: '
                                  f'{status.get("message") or status.get("reason") or "no message"}')
        cluster_name = status.get("rayClusterName")
        if cluster_name:
            break
        summary = f'Waiting for KubeRay to create the RayCluster of RayJob "{opts.name}"'
        if summary != last:
            info(summary)
            last = summary
    if not cluster_name:
        raise KubectlRayError(f'RayJob "{opts.name}" got no RayCluster within {format_duration(name_timeout)} '
                              f"(status.rayClusterName is empty): is the KubeRay operator running? "
                              f"Try: kubectl ray debug rayjob/{opts.name}")
    deadline = start + opts.cluster_timeout
    state = "not created yet"
    for cluster in observe(kube, RAYCLUSTERS, opts.namespace, cluster_name, deadline):
        ready, state = cluster_readiness(cluster)
        line = f'RayCluster "{cluster_name}" is ready' if ready else f'Waiting for RayCluster "{cluster_name}": {state}'
        if line != last:
            info(line)
            last = line
        if ready:
            assert cluster is not None
            return cluster
    raise KubectlRayError(f'timed out after {format_duration(opts.cluster_timeout)} waiting for RayCluster '
                          f'"{cluster_name}" of RayJob "{opts.name}" to be ready (last state: {state})')


def cluster_readiness(cluster: dict[str, Any] | None) -> tuple[bool, str]:
    """(ready, one-line state): ready on RayClusterProvisioned or HeadPodReady True, or state ready."""
    if cluster is None:
        return False, "not created yet"
    status = cluster.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or [] if isinstance(c, dict)}
    ready = status.get("state") == "ready" or any(
        (conditions.get(t) or {}).get("status") == "True" for t in ("RayClusterProvisioned", "HeadPodReady"))
    parts = [f"state {status['state']}" if status.get("state") else "no state yet"]
    for ctype in ("HeadPodReady", "RayClusterProvisioned", "ReplicaFailure"):
        cond = conditions.get(ctype)
        if cond and cond.get("status") != ("True" if ctype != "ReplicaFailure" else "False"):
            detail = cond.get("reason") or ""
            if cond.get("message"):
                detail = f"{detail}: {cond['message']}" if detail else cond["message"]
            parts.append(f"{ctype}={cond.get('status')}" + (f" ({detail})" if detail else ""))
    if status.get("reason") and status.get("state") != "ready":
        parts.append(str(status["reason"]))
    return ready, ", ".join(parts)


def observe(kube: "KubeClient", res: Any, namespace: str, name: str, deadline: float,
            poll: float = 2.0) -> Iterator[dict[str, Any] | None]:
    """The object (None while it does not exist) now and after every change, until the deadline.

    A GET, then watches from its resourceVersion; when the server ends a watch (or the version is
    too old) it GETs again. If watching is not allowed, it polls every `poll` seconds.
    """
    from kubectl_ray.kube.errors import ApiError, ConnectionFailed, WatchExpired

    obj = kube.get_or_none(res, name, namespace)
    yield obj
    can_watch = True
    while time.monotonic() < deadline:
        remaining = deadline - time.monotonic()
        if can_watch:
            version = (obj or {}).get("metadata", {}).get("resourceVersion")
            try:
                for event in kube.watch(res, namespace, name=name, resource_version=version,
                                        timeout_seconds=max(1, min(60, math.ceil(remaining)))):
                    kind = event.get("type")
                    if kind == "BOOKMARK":
                        continue
                    obj = None if kind == "DELETED" else event.get("object")
                    yield obj
                    if time.monotonic() >= deadline:
                        return
            except WatchExpired:
                pass
            except ConnectionFailed:  # a dropped watch is not the end of the wait: GET again below
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            except ApiError as exc:
                if exc.status not in (403, 405):
                    raise
                can_watch = False
        else:
            time.sleep(min(poll, max(0.0, remaining)))
        if time.monotonic() < deadline:
            obj = kube.get_or_none(res, name, namespace)
            yield obj


def _submit_and_follow(env: CommandEnv, opts: SubmitOptions, cluster: dict[str, Any], cleanup: _Cleanup) -> None:
    from kubectl_ray.ray.connect import open_dashboard, wait_for_dashboard
    from kubectl_ray.ray.dashboard import DashboardUnreachable, JobNotFound
    from kubectl_ray.ray.packaging import upload_missing

    with open_dashboard(env, cluster=cluster, address=opts.address, headers=opts.headers, verify=opts.verify,
                        verbose=opts.verbose, note=info) as client:
        if opts.address:
            info(f"Using address {client.address} (no port-forwarding)")
        version = wait_for_dashboard(client, note=info)
        if opts.verbose:
            info(f"Ray {version.get('ray_version', '?')} dashboard at {client.address}")
        upload_missing(client, opts.plan, info=info)
        try:
            client.submit_job(opts.payload)
        except DashboardUnreachable:
            try:  # the answer may have been lost after Ray accepted the job
                client.get_job(opts.submission_id)
            except (DashboardUnreachable, JobNotFound):
                raise KubectlRayError(f"submitting Ray job {opts.submission_id} failed: the connection to the Ray "
                                      f"dashboard at {client.address} broke") from None
        cleanup.armed = False  # from here on the RayJob is a running job's: never delete it
        info(f'Submitted Ray job {opts.submission_id} to RayCluster "{cluster["metadata"]["name"]}" '
             f'(RayJob "{opts.name}")')
        if opts.no_wait:
            click.echo(opts.submission_id)
            info(f"Follow its logs: kubectl ray job logs {opts.name} -f -n {opts.namespace}")
            info(f"Stop it:         kubectl ray job stop {opts.name} -n {opts.namespace}")
            return
        follow_to_end(client, opts.submission_id, opts.name, opts.namespace)


def follow_to_end(client: "DashboardClient", submission_id: str, name: str, namespace: str) -> None:
    """Stream the logs to stdout until the job ends; exit status from the job's final status."""
    from kubectl_ray.ray.logtail import LogFollower

    follower = LogFollower(client, submission_id, _write_stdout, note=info)
    try:
        final = follower.follow()
    except KeyboardInterrupt:
        _newline_if_needed(follower)
        info(f"Stopped following the logs of Ray job {submission_id}; the job keeps running.")
        info(f"Follow it again: kubectl ray job logs {name} -f -n {namespace}")
        info(f"Stop it:         kubectl ray job stop {name} -n {namespace}")
        raise Interrupted("interrupted") from None
    _newline_if_needed(follower)
    report_final_status(final)


def report_final_status(final: dict[str, Any]) -> None:
    job_id = final.get("submission_id") or final.get("job_id") or "?"
    status = str(final.get("status"))
    if status == "FAILED":
        error_type = final.get("error_type")
        message = first_line_of_ray_message(str(final.get("message") or ""))
        raise KubectlRayError(f"job {job_id} failed: " + (f"{error_type}: " if error_type else "") + message)
    info(f"Job {job_id} finished with status {status}.")


def first_line_of_ray_message(message: str) -> str:
    """Ray appends the job's last logs to a failure message; those were just streamed, keep the reason."""
    head = message.strip().splitlines()[0] if message.strip() else "no message"
    marker = ", last available logs"
    return head.split(marker, 1)[0] if marker in head else head


def _write_stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _newline_if_needed(follower: Any) -> None:
    """Keep stderr lines off the end of a log line that had no newline."""
    if follower.printed and not getattr(follower, "_tail", "\n").endswith("\n"):
        _write_stdout("\n")


# --- logs / stop ------------------------------------------------------------------------------------

@dataclass
class AttachedJob:
    name: str
    namespace: str
    job_id: str
    cluster: dict[str, Any] | None


def resolve_job(env: CommandEnv, name_arg: str, *, need_cluster: bool) -> AttachedJob:
    """RayJob NAME -> its Ray job id and RayCluster (read from status, as KubeRay sets them)."""
    from kubectl_ray.kube.resources import RAYCLUSTERS
    from kubectl_ray.kube.targets import read_target, require_cluster
    from kubectl_ray.parsing import parse_resource_ref

    ref = parse_resource_ref(name_arg, default_type="rayjob", allowed=("rayjob",))
    kube = env.kube()
    target = read_target(kube, ref, env.namespace)
    rayjob = target.obj
    job_id = (rayjob.get("status") or {}).get("jobId") or (rayjob.get("spec") or {}).get("jobId")
    if not job_id:
        raise KubectlRayError(f'RayJob "{ref.name}" has no Ray job id yet (spec.jobId and status.jobId are empty)')
    cluster = None
    if target.cluster_name or need_cluster:
        cluster_name = require_cluster(target)
        cluster = kube.get_or_none(RAYCLUSTERS, cluster_name, target.namespace)
        if cluster is None and need_cluster:
            raise KubectlRayError(f'RayCluster "{cluster_name}" of RayJob "{ref.name}" no longer exists (deleted after '
                                  "the job finished?); its Ray job and logs went with it")
    return AttachedJob(ref.name, target.namespace, str(job_id), cluster)


@contextmanager
def attached_dashboard(env: CommandEnv, job_ref: AttachedJob, address: str | None, headers: str | None,
                       verify: str | None) -> Iterator["DashboardClient"]:
    from kubectl_ray.ray.connect import open_dashboard, wait_for_dashboard
    from kubectl_ray.ray.dashboard import parse_verify

    with open_dashboard(env, cluster=job_ref.cluster, address=address, headers=_parse_headers(headers),
                        verify=parse_verify(verify), note=info) as client:
        wait_for_dashboard(client, note=info)
        yield client


def _not_on_cluster(job_ref: AttachedJob) -> KubectlRayError:
    return KubectlRayError(f'Ray job {job_ref.job_id} of RayJob "{job_ref.name}" is not on its cluster: it was never '
                           "submitted (an interrupted submit?) or the cluster was recreated")


@job.command("logs", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS,
             short_help="Print or follow the logs of a RayJob's Ray job", epilog=examples(
    "# The log so far",
    "kubectl ray job logs my-job",
    "",
    "# Follow until the job ends (exit 1 if it failed), e.g. after Ctrl-C in job submit",
    "kubectl ray job logs my-job -f",
))
@click.argument("name", metavar="NAME", shell_complete=completion.ray_jobs())
@click.option("-f", "--follow", is_flag=True, help="Stream the logs until the job ends; exit 1 if it FAILED.")
@_dashboard_flags
@kube_command
def logs(env: CommandEnv, name: str, follow: bool, address: str | None, headers: str | None,
         verify: str | None) -> None:
    """Print the driver log of the Ray job behind RayJob NAME (its spec.jobId / status.jobId)."""
    from kubectl_ray.ray.dashboard import JobNotFound
    from kubectl_ray.ray.logtail import LogFollower

    job_ref = resolve_job(env, name, need_cluster=address is None)
    with attached_dashboard(env, job_ref, address, headers, verify) as client:
        try:
            if follow:
                follow_to_end(client, job_ref.job_id, job_ref.name, job_ref.namespace)
            else:
                follower = LogFollower(client, job_ref.job_id, _write_stdout, note=info)
                follower.print_once()
        except JobNotFound:
            raise _not_on_cluster(job_ref) from None


@job.command("stop", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS,
             short_help="Stop the Ray job of a RayJob", epilog=examples(
    "# Ask Ray to stop the job and wait until it has",
    "kubectl ray job stop my-job",
    "",
    "# Only send the request",
    "kubectl ray job stop my-job --no-wait",
))
@click.argument("name", metavar="NAME", shell_complete=completion.ray_jobs())
@click.option("--no-wait", is_flag=True, help="Return once Ray accepted the request.")
@_dashboard_flags
@kube_command
def stop(env: CommandEnv, name: str, no_wait: bool, address: str | None, headers: str | None,
         verify: str | None) -> None:
    """Stop the Ray job behind RayJob NAME (the RayJob and its cluster stay; KubeRay sees STOPPED)."""
    from kubectl_ray.ray.dashboard import JobNotFound

    job_ref = resolve_job(env, name, need_cluster=address is None)
    with attached_dashboard(env, job_ref, address, headers, verify) as client:
        try:
            stopped = client.stop_job(job_ref.job_id)
            if not stopped:
                status = client.get_job(job_ref.job_id).get("status")
                click.echo(f"Ray job {job_ref.job_id} (RayJob {job_ref.name}) had already finished: {status}")
                return
            if no_wait:
                click.echo(f"Ray job {job_ref.job_id} (RayJob {job_ref.name}): stop requested")
                return
            status = _wait_until_terminal(client, job_ref.job_id)
        except JobNotFound:
            raise _not_on_cluster(job_ref) from None
    if status not in TERMINAL:
        raise KubectlRayError(f"Ray job {job_ref.job_id} is still {status} {STOP_WAIT_TIMEOUT:g}s after the stop request")
    click.echo(f"Ray job {job_ref.job_id} (RayJob {job_ref.name}) stopped: {status}")


def _wait_until_terminal(client: "DashboardClient", job_id: str) -> str:
    deadline = time.monotonic() + STOP_WAIT_TIMEOUT
    while True:
        status = str(client.get_job(job_id).get("status"))
        if status in TERMINAL or time.monotonic() >= deadline:
            return status
        time.sleep(0.5)


def _list_command() -> click.Command:
    """`job list` is `get job` itself (one implementation), under the name `list`."""
    from kubectl_ray.cli.get import get_job

    command = copy.copy(get_job)
    command.name = "list"
    command.short_help = "List RayJobs (same as: kubectl ray get job)"
    return command


job.add_command(_list_command())

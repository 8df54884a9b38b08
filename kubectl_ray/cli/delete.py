"""`kubectl ray delete (NAME | TYPE/NAME)...`: RayClusters, RayJobs and RayServices, after confirmation.

Every argument is parsed before anything is deleted; resources are deleted in argument order
(duplicates dropped); a failure is reported and the others are still deleted; the exit code is 1
if any failed. The confirmation is read through click so tests can feed it, and is never guessed:
without a terminal and without -y the command refuses.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from kubectl_ray import names
from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlCommand, examples, kube_command
from kubectl_ray.cli.dryrun import CLIENT, NONE, SERVER, dry_run_option, dry_run_suffix, parse_dry_run
from kubectl_ray.env import CommandEnv
from kubectl_ray.errors import KubectlRayError, UsageError

if TYPE_CHECKING:
    from kubectl_ray.kube.client import KubeClient
    from kubectl_ray.kube.resources import Resource
    from kubectl_ray.parsing import ResourceRef

DEFAULT_TIMEOUT = "5m"
WATCH_SLICE_SECONDS = 30  # one watch request at most this long, then GET again


@click.command("delete", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS, epilog=examples(
    "# Delete a Ray cluster (asks first)",
    "kubectl ray delete my-cluster",
    "",
    "# Delete a RayJob and a RayService without asking, and wait until they are gone",
    "kubectl ray delete rayjob/my-job rayservice/my-service -y --wait",
    "",
    "# Types are case-insensitive; plural and ray.io forms work too",
    "kubectl ray delete RayCluster/a rayclusters/b -y",
    "",
    "# Only ask the API server whether the delete would succeed",
    "kubectl ray delete rayjob/my-job --dry-run=server",
))
@click.argument("targets", nargs=-1, metavar="(NAME | TYPE/NAME)...", shell_complete=names.ray_targets())
@click.option("-y", "--yes", is_flag=True, default=False, help="Answer 'yes' to the confirmation and run non-interactively.")
@click.option("--wait", is_flag=True, default=False, help="Wait until every deleted resource is gone.")
@click.option("--timeout", default=DEFAULT_TIMEOUT, show_default=True, metavar="DURATION",
              help="How long --wait waits in total (e.g. 30s, 5m); 0 checks once.")
@dry_run_option("client: check that each resource exists and print what would be deleted; server: send the "
                "deletes with dryRun=All (nothing is deleted); none: delete. A dry run asks no confirmation.")
@kube_command
def delete(env: CommandEnv, targets: tuple[str, ...], yes: bool, wait: bool, timeout: str, dry_run: str) -> None:
    """Delete RayClusters (NAME or raycluster/NAME), RayJobs (rayjob/NAME) and RayServices
    (rayservice/NAME) in the namespace.

    Prints `raycluster.ray.io "NAME" deleted` per resource, like kubectl; a resource that cannot be
    deleted is reported and the others are still deleted (exit 1 if any failed).
    """
    from kubectl_ray.parsing import parse_duration

    mode = parse_dry_run(dry_run)
    refs = parse_targets(targets)
    timeout_seconds = parse_duration("--timeout", timeout)
    namespace = env.namespace
    if mode == NONE and not yes and not confirm(refs, namespace):
        click.echo("Canceled deletion.")
        return
    failures = _delete_all(env, refs, mode, wait and mode == NONE, timeout_seconds)
    if failures:
        # Each failure already has its error line (kubectl style); a summary only when there were several.
        if len(refs) > 1:
            click.echo(f"{failures} of {len(refs)} resources could not be deleted", err=True)
        click.get_current_context().exit(1)


def parse_targets(targets: tuple[str, ...]) -> list["ResourceRef"]:
    """Every argument parsed up front (nothing is deleted if one is wrong); order kept, duplicates dropped."""
    from kubectl_ray.parsing import parse_resource_ref

    if not targets:
        raise UsageError("accepts a minimum of 1 arg, received 0: name what to delete, as NAME or TYPE/NAME")
    return list(dict.fromkeys(parse_resource_ref(arg) for arg in targets))


def stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def confirm(refs: list["ResourceRef"], namespace: str) -> bool:
    """Ask on stderr; y/yes go on, n/no cancel; anything else asks again; end of input deletes nothing."""
    if not stdin_is_terminal():
        raise KubectlRayError("refusing to delete without confirmation: standard input is not a terminal; "
                              "pass -y/--yes to delete without asking")
    listing = "\n".join(f"- {ref}" for ref in refs)
    click.echo(f"Are you sure you want to delete the following resources in namespace {namespace}?\n{listing}", err=True)
    try:
        answer = click.prompt("(y/yes/n/no)", type=click.Choice(["y", "yes", "n", "no"], case_sensitive=False),
                              show_choices=False, err=True, prompt_suffix=" ")
    except click.Abort as exc:
        if isinstance(exc.__context__, EOFError):
            click.echo("", err=True)
            raise KubectlRayError("no answer to the confirmation (end of input): nothing was deleted; "
                                  "pass -y/--yes to delete without asking") from None
        raise
    return answer.lower() in ("y", "yes")


def _delete_all(env: CommandEnv, refs: list["ResourceRef"], mode: str, wait: bool, timeout_seconds: float) -> int:
    """Delete in order, report each failure on stderr and go on; then optionally wait. Returns failures."""
    import time

    from kubectl_ray.kube.resources import RAY_RESOURCES

    kube, namespace = env.kube(), env.namespace
    failures = 0
    deleted: list[tuple["Resource", str]] = []
    for ref in refs:
        res = RAY_RESOURCES[ref.type]
        try:
            _delete_one(kube, ref, namespace, mode)
        except KubectlRayError as exc:
            _error_line(exc.render())
            failures += 1
            continue
        click.echo(f'{res.singular_display} "{ref.name}" deleted{dry_run_suffix(mode)}')
        deleted.append((res, ref.name))
    if wait and deleted:
        deadline = time.monotonic() + timeout_seconds
        for res, name in deleted:
            try:
                gone = wait_until_gone(kube, res, name, namespace, deadline)
            except KubectlRayError as exc:
                _error_line(exc.render())
                failures += 1
                continue
            if not gone:
                from kubectl_ray.parsing import format_duration

                _error_line(f'error: timed out after {format_duration(timeout_seconds)} waiting for '
                            f'{res.singular_display} "{name}" to be deleted')
                failures += 1
    return failures


def _delete_one(kube: "KubeClient", ref: "ResourceRef", namespace: str, mode: str) -> None:
    """DELETE (with dryRun=All for server); client only checks that it exists. NotFound names other Ray
    kinds of that name, like every command."""
    from kubectl_ray.kube.errors import ApiError
    from kubectl_ray.kube.resources import RAY_RESOURCES
    from kubectl_ray.kube.targets import get_object, not_found

    if mode == CLIENT:
        get_object(kube, ref, namespace)
        return
    try:
        kube.delete(RAY_RESOURCES[ref.type], ref.name, namespace, dry_run=mode == SERVER)
    except ApiError as exc:
        if exc.status == 404 and exc.names_an_object:
            raise not_found(kube, ref, namespace) from None
        raise


def wait_until_gone(kube: "KubeClient", res: "Resource", name: str, namespace: str, deadline: float) -> bool:
    """Watch the object until a DELETED event or 404 (finalizers can keep it for a while); False at the deadline."""
    import math
    import time

    from kubectl_ray.kube.errors import WatchExpired
    from kubectl_ray.shapes import text

    while True:
        obj = kube.get_or_none(res, name, namespace)
        if obj is None:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        version = text(obj, "metadata", "resourceVersion") or None
        seconds = max(1, math.ceil(min(remaining, WATCH_SLICE_SECONDS)))
        try:
            for event in kube.watch(res, namespace, name=name, resource_version=version, timeout_seconds=seconds):
                if event["type"] == "DELETED":
                    return True
                if time.monotonic() >= deadline:  # a server that never ends the watch cannot keep us here
                    return False
        except WatchExpired:
            continue  # our resourceVersion is too old: read the object again


def _error_line(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()

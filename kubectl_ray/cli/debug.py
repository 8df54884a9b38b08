"""`kubectl ray debug`: diagnose a Ray cluster, job or service, or scan every one, and say how to fix it."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Any, Iterator

import click

from kubectl_ray import names
from kubectl_ray.cli.common import CONTEXT_SETTINGS, KubectlCommand, examples, kube_command
from kubectl_ray.env import CommandEnv
from kubectl_ray.errors import ExitCode, KubectlRayError, UsageError


@click.command("debug", cls=KubectlCommand, context_settings=CONTEXT_SETTINGS, epilog=examples(
    "# Try it without a cluster: the broken cluster shipped with the plugin",
    "kubectl ray debug --from-bundle examples/broken-cluster.tar.gz",
    "",
    "# Diagnose one RayCluster (or rayjob/NAME, rayservice/NAME)",
    "kubectl ray debug raycluster/my-cluster -n ray",
    "",
    "# One line per Ray resource in the namespace, or in every namespace",
    "kubectl ray debug",
    "kubectl ray debug -A",
    "",
    "# Add log tails, and ask the Ray dashboard (GCS health, running version, dead nodes)",
    "kubectl ray debug my-cluster --logs --deep",
    "",
    "# Machine-readable findings for CI, and a redacted support bundle to share",
    "kubectl ray debug rayjob/nightly -o json",
    "kubectl ray debug my-cluster --bundle my-cluster.tar.gz",
))
@click.argument("target", required=False, metavar="[NAME | TYPE/NAME]", shell_complete=names.ray_targets())
@click.option("-A", "--all-namespaces", is_flag=True, help="Scan Ray resources in every namespace.")
@click.option("-o", "--output", type=click.Choice(["json"], case_sensitive=False),
              help="Output format: json (schema kubectl-ray.debug/v1).")
@click.option("--logs", is_flag=True,
              help="Also read log tails: the head's Ray container, the autoscaler and stuck wait-gcs-ready containers.")
@click.option("--tail", type=click.IntRange(1, 10000), default=50, show_default=True, help="Log lines to read with --logs.")
@click.option("--deep", is_flag=True, help="Also ask the Ray dashboard (through a port-forward, or --address).")
@click.option("--address", metavar="URL", help="Ray dashboard URL for --deep (implies --deep; no port-forward).")
@click.option("--bundle", "bundle_path", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write a redacted support bundle (tar.gz) of what was collected.")
@click.option("--from-bundle", "from_bundle", metavar="FILE", type=click.Path(dir_okay=False),
              help="Analyse a support bundle offline (no cluster or kubeconfig needed).")
@click.option("--overwrite", is_flag=True, help="Let --bundle replace an existing file.")
@click.option("--no-color", is_flag=True, help="No colour (also NO_COLOR=1; colour is only used on a terminal).")
@click.option("--list-rules", is_flag=True, help="List every check with its ID and exit (no cluster needed).")
@kube_command
def debug(env: CommandEnv, target: str | None, all_namespaces: bool, output: str | None, logs: bool, tail: int,
          deep: bool, address: str | None, bundle_path: str | None, from_bundle: str | None, overwrite: bool,
          no_color: bool, list_rules: bool) -> int:
    """Diagnose a RayCluster, RayJob or RayService and say how to fix it.

    Reads the resource, its pods, events, Services, the KubeRay operator and CRDs once, then runs ~120
    checks from KubeRay's failure catalogue (GCS, workers, autoscaler, versions, resources, GPUs,
    scheduling, images, networking, jobs, services). Root causes come first; what they explain is
    folded into them. Without NAME, every Ray resource in the namespace gets a one-line verdict.

    Exit codes: 0 no errors found, 1 errors found, 3 the diagnosis could not run (API server
    unreachable, resource not found). Checks that RBAC prevents are listed as "not checked".
    """
    if list_rules:
        return _list_rules()
    options = _validate(target, all_namespaces, output, logs, deep, address, bundle_path, from_bundle, overwrite)
    options["tail"] = tail
    try:
        return _run(env, options, output=output, address=address, bundle_path=bundle_path, from_bundle=from_bundle,
                    no_color=no_color)
    except KubectlRayError as exc:
        raise _redacted(exc) from None  # API and bundle errors can quote what they read
    except (click.ClickException, KeyboardInterrupt, BrokenPipeError):
        raise
    except Exception as exc:  # noqa: BLE001 - a bug must not look like "errors found" (exit 1)
        from kubectl_ray.debug.redact import redact_text

        raise _NotRun(f"error: the diagnosis stopped: unexpected {type(exc).__name__}: {redact_text(str(exc))} "
                      "(run with --debug for a traceback; please report it)") from exc


def _run(env: CommandEnv, options: dict[str, Any], *, output: str | None, address: str | None,
         bundle_path: str | None, from_bundle: str | None, no_color: bool) -> int:
    color = not no_color and not os.environ.get("NO_COLOR") and output is None and _isatty(sys.stdout)
    snap, single = _snapshot(env, options)
    if options["deep"]:
        from kubectl_ray.debug.deep import collect_deep

        from kubectl_ray.debug.redact import redact_text

        collect_deep(env, snap, address=address, note=lambda m: click.echo(redact_text(m), err=True))
    from kubectl_ray.debug import report
    from kubectl_ray.debug.engine import diagnose, diagnose_all

    diagnoses = [diagnose(snap)] if single else diagnose_all(snap)
    if bundle_path:
        from kubectl_ray.debug.bundle import write_bundle

        size = write_bundle(bundle_path, snap, report.to_document(snap, diagnoses, single=single))
        click.echo(f"Wrote support bundle {bundle_path} ({size // 1024 + 1} KiB, secrets redacted)", err=True)
    code = report.exit_code(diagnoses, single=single)
    source = from_bundle if from_bundle else None
    with _stdout_errors():
        if output:
            report.write_json(sys.stdout, snap, diagnoses, single=single, bundle=source)
        elif single:
            if not diagnoses[0].found and not diagnoses[0].findings:
                raise _target_not_found(env, diagnoses[0].target, options["ref"], from_bundle)
            report.write_human(sys.stdout, snap, diagnoses[0], color=color, bundle=source)
        else:
            _scan_output(snap, diagnoses, options)
    return int(code)


@contextmanager
def _stdout_errors() -> Iterator[None]:
    """A report that cannot be written (a full disk, `> /dev/full`) is one error line naming where it went."""
    from kubectl_ray.stdio import StdoutFailed, detach_stdout, stdout_path, write_error_reason

    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except StdoutFailed as exc:  # what the guard of standard output (kubectl_ray.stdio) raises
        detach_stdout()
        raise _NotRun(f"error: cannot write the report to {exc.path}: {exc.reason}") from None
    except OSError as exc:
        where = stdout_path()
        detach_stdout()
        raise _NotRun(f"error: cannot write the report to {where}: {write_error_reason(exc)}") from None


def _redacted(exc: KubectlRayError) -> KubectlRayError:
    from kubectl_ray.debug.redact import redact_text

    line = exc.render()
    clean = redact_text(line)
    return exc if clean == line else _NotRun(clean, exit_code=exc.exit_code)


def _validate(target: str | None, all_namespaces: bool, output: str | None, logs: bool, deep: bool,
              address: str | None, bundle_path: str | None, from_bundle: str | None,
              overwrite: bool = False) -> dict[str, Any]:
    from kubectl_ray.parsing import parse_resource_ref

    ref = parse_resource_ref(target) if target else None
    deep = deep or address is not None
    if bundle_path is not None and not bundle_path.strip():
        raise UsageError("--bundle needs a file name, such as debug.tar.gz")
    if from_bundle is not None and not from_bundle.strip():
        raise UsageError("--from-bundle needs the file name of a support bundle")
    if ref is not None and all_namespaces:
        raise UsageError("a resource name cannot be combined with -A/--all-namespaces")
    if from_bundle:
        for flag, used in (("--logs", logs), ("--deep/--address", deep), ("--bundle", bundle_path is not None),
                           ("-A", all_namespaces)):
            if used:
                raise UsageError(f"{flag} needs a cluster and cannot be used with --from-bundle")
        if not os.path.isfile(from_bundle):
            raise UsageError(f"--from-bundle {from_bundle}: no such file")
    if deep and ref is None:
        raise UsageError("--deep and --address need one RayCluster, RayJob or RayService (NAME or TYPE/NAME)")
    if address is not None:
        from kubectl_ray.ray.dashboard import parse_address

        parse_address(address)
    if bundle_path and os.path.isdir(bundle_path):
        raise UsageError(f"--bundle {bundle_path} is a directory; give a file name such as debug.tar.gz")
    if bundle_path and os.path.lexists(bundle_path) and not overwrite:
        raise UsageError(f"--bundle {bundle_path} already exists; refusing to overwrite it (pass --overwrite)")
    if bundle_path and not os.path.isdir(os.path.dirname(os.path.abspath(bundle_path))):
        raise UsageError(f"--bundle {bundle_path}: the directory {os.path.dirname(os.path.abspath(bundle_path))} does not exist")
    return {"ref": ref, "all_namespaces": all_namespaces, "output": output, "logs": logs, "deep": deep,
            "from_bundle": from_bundle}


def _snapshot(env: CommandEnv, options: dict[str, Any]):  # -> tuple[Snapshot, bool]
    from kubectl_ray.debug.collector import KINDS, CollectOptions, Collector, DiagnosisNotRun

    ref = options["ref"]
    if options["from_bundle"]:
        from kubectl_ray.debug.bundle import read_bundle

        snap = read_bundle(options["from_bundle"])
        if ref is None:
            return snap, len(snap.targets) == 1 and not snap.meta.get("scan")
        matches = [t for t in snap.targets if t.kind == KINDS[ref.type] and t.name == ref.name]
        if not matches:
            available = ", ".join(str(t) for t in snap.targets) or "none"
            raise DiagnosisNotRun(f"{ref} is not in bundle {options['from_bundle']} (it holds: {available})")
        snap.targets = matches[:1]
        return snap, True
    from kubectl_ray.errors import Interrupted

    try:
        kube = env.kube()
        collector = Collector(kube, CollectOptions(logs=options["logs"], tail_lines=options["tail"]))
        if ref is not None:
            return collector.collect_target(KINDS[ref.type], ref.name, env.namespace), True
        snap = collector.collect_scan(None if options["all_namespaces"] else env.namespace)
        snap.meta["scan"] = True
        return snap, False
    except Interrupted:
        raise
    except KubectlRayError as exc:  # no kubeconfig, unreachable, forbidden...: it could not look (3)
        raise _not_run(exc) from None


class _NotRun(KubectlRayError):
    exit_code = ExitCode.NOT_RUN
    prefix = ""


def _not_run(exc: KubectlRayError) -> KubectlRayError:
    return exc if exc.exit_code == ExitCode.NOT_RUN else _NotRun(exc.render())


def _target_not_found(env: CommandEnv, target: Any, ref: Any, bundle: str | None) -> KubectlRayError:
    """kubectl's NotFound line (with the other Ray kind of that name, if one exists); exit 3."""
    if bundle:
        return _NotRun(f'error: {target.kind} "{target.name}" not found in namespace "{target.namespace}" '
                       f"in bundle {bundle}")
    from kubectl_ray.kube.targets import not_found

    return _NotRun(not_found(env.kube(), ref, target.namespace).render())


def _scan_output(snap: Any, diagnoses: list[Any], options: dict[str, Any]) -> None:
    from kubectl_ray.debug import report

    if snap.meta.get("crdsMissing") and not any(d.target.name for d in diagnoses):
        report.write_human(sys.stdout, snap, diagnoses[0])
        return
    if not diagnoses:
        ns = snap.meta.get("namespace")
        click.echo("No Ray resources found" + ("" if options["all_namespaces"] else f" in {ns} namespace") + ".", err=True)
        return
    report.write_table(sys.stdout, snap, diagnoses, all_namespaces=options["all_namespaces"])
    skipped = sorted({nc.reason for d in report.redacted(snap, diagnoses) for nc in d.not_checked})
    if skipped:
        click.echo(f"Warning: some checks could not run: {'; '.join(skipped[:3])}", err=True)
    if any(d.count("error") or d.count("warning") for d in diagnoses):
        click.echo("Run `kubectl ray debug KIND/NAME` for the evidence and the fixes.", err=True)


def _list_rules() -> int:
    from kubectl_ray.debug.rules import all_rules
    from kubectl_ray.printing import format_table

    rows = [(r.id, ", ".join(r.aliases), "--deep" if r.deep else "", r.title)
            for r in sorted(all_rules(), key=lambda r: (_family(r.id), r.id))]
    sys.stdout.write(format_table(["ID", "ALIASES", "NEEDS", "CHECKS THAT"], rows))
    return int(ExitCode.OK)


def _family(rule_id: str) -> int:
    order = ("OP", "GCS", "WKR", "FT", "AS", "VER", "RES", "GPU", "SCH", "IMG", "CRASH", "NET", "JOB", "SVC", "STAT", "DEEP")
    prefix = rule_id.split("-", 1)[0]
    return order.index(prefix) if prefix in order else len(order)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False

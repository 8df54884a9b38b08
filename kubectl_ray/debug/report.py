"""Print a diagnosis: for people (grouped by severity, root causes first) or as JSON (`-o json`).

Everything printed here is redacted first (redact.py): rules work on the values as collected, and
`redacted()` turns their findings into what may be shown - the one place the report's text passes.

Exit codes (stable): 0 no error-severity finding; 1 at least one error finding (a missing CRD, OP-01,
counts: it is a finding); 3 the diagnosis could not run (API server unreachable, target unreadable or
not found, bundle unreadable). Checks that could not run ("not checked", e.g. RBAC) are listed but do
not change the exit code by themselves.

JSON schema `kubectl-ray.debug/v1` (stable: fields are only ever added, never renamed or removed; the
same contract as a JSON Schema document is JSON_SCHEMA at the end of this module):

    {
      "apiVersion": "kubectl-ray.debug/v1",
      "kind": "Diagnosis",
      "pluginVersion": "0.1.0",
      "source": {"type": "cluster" | "bundle", "collectedAt": "RFC 3339", "apiCalls": 12,
                 "namespace": "default", "allNamespaces": false, "bundle": "path (bundle only)"},
      "operator": {"version": "v1.7.0", "namespace": "kuberay-system", "name": "kuberay-operator",
                   "source": "deployment" | "head-pod-env"} | null,
      "summary": {"targets": 1, "error": 1, "warning": 0, "info": 2, "notChecked": 0},
      "exitCode": 1,
      "targets": [{
          "kind": "RayCluster" | "RayJob" | "RayService", "namespace": "default", "name": "demo",
          "found": true, "verdict": "error" | "warning" | "ok" | "not-found",
          "summary": {"error": 1, "warning": 0, "info": 2},
          "findings": [{                       # root causes first; severity, then evaluation order
              "id": "CRASH-01", "aliases": [], "severity": "error" | "warning" | "info",
              "title": "one line", "object": "Pod/demo-head-x2x4b", "namespace": "default",
              "evidence": [{"kind": "field" | "event" | "log" | "dashboard" | "note",
                            "where": "field path, event reason, pod/container or endpoint", "value": "..."}],
              "fix": "advice", "doc": "https://... | null",
              "scope": "namespace/raycluster", "subject": "head | group:<name> | cluster | operator | autoscaler",
              "consequences": [ <finding>, ... ],  # findings this one explains, folded into it
              "policy": "head-down"            # the severity-policy clause it rests on (debug/severity.py)
          }],
          "notChecked": [{"id": "SCH-03", "title": "...", "reason": "forbidden: list nodes at the cluster scope"}],
          "ruleErrors": [{"id": "...", "error": "..."}]  # a rule that crashed (a bug); normally empty
      }],
      "forbidden": [{"verb": "list", "resource": "nodes", "namespace": null, "message": "..."}],
      "collectionErrors": ["list events: Error from server (InternalError): ..."]
    }
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import replace
from typing import IO, Any

from kubectl_ray.debug.engine import Diagnosis
from kubectl_ray.debug.finding import ERROR, INFO, WARNING, Evidence, Finding
from kubectl_ray.debug.redact import Redactor
from kubectl_ray.debug.snapshot import Snapshot
from kubectl_ray.errors import ExitCode
from kubectl_ray.printing import format_table

SCHEMA = "kubectl-ray.debug/v1"
WIDTH = 100
INDENT = " " * 4
LABEL = 10  # width of "evidence: "
COLORS = {ERROR: "red", WARNING: "yellow", INFO: "cyan"}
HEADINGS = {ERROR: "ERRORS", WARNING: "WARNINGS", INFO: "INFO"}


def exit_code(diagnoses: list[Diagnosis], *, single: bool) -> int:
    if single and diagnoses and not diagnoses[0].found and not diagnoses[0].has_errors:
        return ExitCode.NOT_RUN
    return ExitCode.ERROR if any(d.has_errors for d in diagnoses) else ExitCode.OK


def verdict(d: Diagnosis) -> str:
    if not d.found and not d.findings:
        return "not-found"
    if d.has_errors:
        return ERROR
    return WARNING if d.count(WARNING) else "ok"


def operator_info(snap: Snapshot, namespace: str) -> dict[str, Any] | None:
    from kubectl_ray.debug.model import operator_for_namespace

    op = operator_for_namespace(snap, namespace)
    if op is None:
        return None
    return {"version": op.version_text, "namespace": op.namespace, "name": op.name, "source": op.source}


# --- redaction ------------------------------------------------------------------------------------

def redacted(snap: Snapshot, diagnoses: list[Diagnosis], r: Redactor | None = None) -> list[Diagnosis]:
    """The diagnoses as they may be shown: every text of every finding, reason and rule error redacted."""
    r = r or Redactor.knowing(snap)
    return [replace(d, findings=[_redact_finding(f, r) for f in d.findings],
                    not_checked=[replace(nc, reason=r.text(nc.reason), title=r.text(nc.title)) for nc in d.not_checked],
                    crashed=[(rule_id, r.text(error)) for rule_id, error in d.crashed]) for d in diagnoses]


def _redact_finding(f: Finding, r: Redactor) -> Finding:
    return replace(f, title=r.text(f.title), object=r.text(f.object), fix=r.text(f.fix),
                   evidence=[_redact_evidence(e, r) for e in f.evidence],
                   consequences=[_redact_finding(c, r) for c in f.consequences])


def _redact_evidence(e: Evidence, r: Redactor) -> Evidence:
    value = r.field(e.where, e.value) if e.kind == "field" else r.text(e.value)
    return Evidence(e.kind, r.text(e.where), value)


# --- JSON ------------------------------------------------------------------------------------------

def to_document(snap: Snapshot, diagnoses: list[Diagnosis], *, single: bool, bundle: str | None = None) -> dict[str, Any]:
    """The `-o json` document, redacted."""
    from kubectl_ray import __version__

    r = Redactor.knowing(snap)
    diagnoses = redacted(snap, diagnoses, r)
    meta = snap.meta
    source: dict[str, Any] = {"type": "bundle" if bundle else meta.get("source", "cluster"),
                              "collectedAt": meta.get("collectedAt"), "apiCalls": meta.get("apiCalls"),
                              "namespace": meta.get("namespace", ""), "allNamespaces": bool(meta.get("allNamespaces"))}
    if bundle:
        source["bundle"] = bundle
    targets = []
    for d in diagnoses:
        targets.append({"kind": d.target.kind, "namespace": d.target.namespace, "name": d.target.name, "found": d.found,
                        "verdict": verdict(d), "summary": {s: d.count(s) for s in (ERROR, WARNING, INFO)}, **d.to_dict()})
    ns = diagnoses[0].target.namespace if diagnoses else meta.get("namespace", "")
    return r.value({
        "apiVersion": SCHEMA, "kind": "Diagnosis", "pluginVersion": __version__, "source": source,
        "operator": operator_info(snap, ns),
        "summary": {"targets": len(diagnoses), **{s: sum(d.count(s) for d in diagnoses) for s in (ERROR, WARNING, INFO)},
                    "notChecked": sum(len(d.not_checked) for d in diagnoses)},
        "exitCode": int(exit_code(diagnoses, single=single)),
        "targets": targets,
        "forbidden": [f.to_dict() for f in snap.forbidden],
        "collectionErrors": list(snap.errors),
    })


def write_json(out: IO[str], snap: Snapshot, diagnoses: list[Diagnosis], *, single: bool, bundle: str | None = None) -> None:
    out.write(json.dumps(to_document(snap, diagnoses, single=single, bundle=bundle), indent=2, sort_keys=False) + "\n")


# --- human -----------------------------------------------------------------------------------------

class Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, fg: str | None = None, bold: bool = False) -> str:
        if not self.color:
            return text
        import click

        return click.style(text, fg=fg, bold=bold)


def write_human(out: IO[str], snap: Snapshot, d: Diagnosis, *, color: bool = False, bundle: str | None = None) -> None:
    style = Style(color)
    r = Redactor.knowing(snap)
    d = redacted(snap, [d], r)[0]
    lines: list[str] = []
    t = d.target
    counts = ", ".join(f"{d.count(s)} {_plural(s, d.count(s))}" for s in (ERROR, WARNING, INFO))
    lines.append(style(f"{t.kind} {t.namespace}/{t.name}", bold=True) + f": {counts}")
    lines.append(r.text(_context_line(snap, t.namespace, bundle)))
    for severity in (ERROR, WARNING, INFO):
        group = [f for f in d.findings if f.severity == severity]
        if not group:
            continue
        lines.append("")
        lines.append(style(HEADINGS[severity], fg=COLORS[severity], bold=True))
        for f in group:
            lines += _finding_lines(f, style, brief=severity == INFO, namespace=t.namespace)
    if d.not_checked:
        lines.append("")
        lines.append(style("NOT CHECKED", bold=True))
        for nc in d.not_checked:
            lines.append(f"[{nc.id}] {nc.title}: not checked ({nc.reason})")
    if d.crashed:
        lines.append("")
        lines.append(style("RULE ERRORS (please report)", fg="red", bold=True))
        lines += [f"[{rule_id}] {error}" for rule_id, error in d.crashed]
    lines.append("")
    lines.append(_verdict_line(d, style))
    out.write("\n".join(lines) + "\n")


def _context_line(snap: Snapshot, namespace: str, bundle: str | None) -> str:
    from kubectl_ray import __version__

    op = operator_info(snap, namespace)
    parts = [f"KubeRay operator {op['version']} ({op['namespace']}/{op['name']})" if op and op["source"] == "deployment"
             else f"KubeRay operator {op['version']} (from a head pod)" if op else "KubeRay operator: not found"]
    parts.append(f"kubectl-ray {__version__}")
    when = snap.meta.get("collectedAt", "?")
    parts.append(f"bundle {bundle} collected {when}" if bundle else f"collected {when}")
    if snap.meta.get("apiCalls") is not None and not bundle:
        parts.append(f"{snap.meta['apiCalls']} API calls")
    return " · ".join(parts)


def _finding_lines(f: Finding, style: Style, *, brief: bool, namespace: str = "") -> list[str]:
    head = f"{style('[' + f.id + ']', fg=COLORS.get(f.severity), bold=True)} {f.title}"
    if brief:
        return [f"{head}  ({f.object})", *(_wrap("fix:", f.fix) if f.fix else [])]
    where = f" (namespace {f.namespace})" if f.namespace and f.namespace != namespace else ""
    out = [head, f"{INDENT}{'object:':<{LABEL}}{f.object}{where}"]
    for i, ev in enumerate(f.evidence):
        out.append(f"{INDENT}{('evidence:' if i == 0 else ''):<{LABEL}}{ev.render()}")
    if f.fix:
        out += _wrap("fix:", f.fix)
    if f.doc:
        out.append(f"{INDENT}{'docs:':<{LABEL}}{f.doc}")
    if f.consequences:
        flat = _flatten(f.consequences)
        for i, c in enumerate(flat):
            out.append(f"{INDENT}{('explains:' if i == 0 else ''):<{LABEL}}{c.id} {c.title}")
    return out


def _flatten(findings: list[Finding]) -> list[Finding]:
    out: list[Finding] = []
    for f in findings:
        out.append(f)
        out += _flatten(f.consequences)
    return out


def _wrap(label: str, text: str) -> list[str]:
    body = textwrap.wrap(text, WIDTH - len(INDENT) - LABEL) or [""]
    return [f"{INDENT}{(label if i == 0 else ''):<{LABEL}}{line}" for i, line in enumerate(body)]


def _verdict_line(d: Diagnosis, style: Style) -> str:
    if not d.found and not d.findings:
        return style(f"{d.target.kind} \"{d.target.name}\" not found", fg="red", bold=True)
    errors, warnings = d.count(ERROR), d.count(WARNING)
    incomplete = f" ({len(d.not_checked)} check(s) could not run)" if d.not_checked else ""
    if errors:
        return style(f"Verdict: {errors} {_plural(ERROR, errors)}; start with {d.findings[0].id}.", fg="red", bold=True) + incomplete
    if warnings:
        return style(f"Verdict: no errors, {warnings} {_plural(WARNING, warnings)}.", fg="yellow", bold=True) + incomplete
    return style("Verdict: no problems found.", fg="green", bold=True) + incomplete


def _plural(severity: str, n: int) -> str:
    return severity if severity == INFO or n == 1 else severity + "s"


# --- scan table ------------------------------------------------------------------------------------

def write_table(out: IO[str], snap: Snapshot, diagnoses: list[Diagnosis], *, all_namespaces: bool) -> None:
    """One line per Ray resource, kubectl-style (no colour, like kubectl's own tables)."""
    diagnoses = redacted(snap, diagnoses)
    headers = (["NAMESPACE"] if all_namespaces else []) + ["KIND/NAME", "VERDICT", "TOP FINDING"]
    rows = []
    for d in diagnoses:
        e, w = d.count(ERROR), d.count(WARNING)
        v = f"{e} {_plural(ERROR, e)}" if e else f"{w} {_plural(WARNING, w)}" if w else "ok"
        top = next((f for f in d.findings if f.severity in (ERROR, WARNING)), None)
        cells = ([d.target.namespace] if all_namespaces else []) + [
            f"{d.target.kind.lower()}/{d.target.name}" if d.target.name else d.target.kind.lower(),
            v, f"{top.id} {top.title}" if top else ""]
        rows.append(cells)
    out.write(format_table(headers, rows))


# --- the JSON schema, machine-readable (tests validate every -o json output against it) ---------------

_EVIDENCE = {"type": "object", "required": ["kind", "where", "value"],
             "properties": {"kind": {"enum": ["field", "event", "log", "dashboard", "note"]},
                            "where": {"type": "string"}, "value": {"type": "string"}}}
_FINDING: dict[str, Any] = {
    "type": "object",
    "required": ["id", "severity", "title", "object", "namespace", "evidence", "fix", "doc", "aliases", "scope",
                 "subject", "consequences"],
    "properties": {
        "id": {"type": "string", "pattern": "^[A-Z]+-[0-9]{2}$"},
        "severity": {"enum": [ERROR, WARNING, INFO]},
        "title": {"type": "string", "minLength": 1}, "object": {"type": "string"}, "namespace": {"type": "string"},
        "evidence": {"type": "array", "items": _EVIDENCE}, "fix": {"type": "string"},
        "doc": {"type": ["string", "null"]}, "aliases": {"type": "array", "items": {"type": "string"}},
        "scope": {"type": "string"}, "subject": {"type": "string"},
        "consequences": {"type": "array", "items": {"$ref": "#/$defs/finding"}},
        "policy": {"type": "string"},
    },
}
_COUNTS = {"type": "object", "required": [ERROR, WARNING, INFO],
           "properties": {s: {"type": "integer", "minimum": 0} for s in (ERROR, WARNING, INFO)}}
JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {"finding": _FINDING},
    "type": "object",
    "required": ["apiVersion", "kind", "pluginVersion", "source", "operator", "summary", "exitCode", "targets",
                 "forbidden", "collectionErrors"],
    "properties": {
        "apiVersion": {"const": SCHEMA}, "kind": {"const": "Diagnosis"}, "pluginVersion": {"type": "string"},
        "source": {"type": "object", "required": ["type", "collectedAt"],
                   "properties": {"type": {"enum": ["cluster", "bundle", "test"]}, "collectedAt": {"type": ["string", "null"]},
                                  "apiCalls": {"type": ["integer", "null"]}, "bundle": {"type": "string"}}},
        "operator": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["version", "namespace", "name", "source"]}]},
        "summary": {"type": "object", "required": ["targets", ERROR, WARNING, INFO, "notChecked"]},
        "exitCode": {"enum": [0, 1, 3]},
        "targets": {"type": "array", "items": {
            "type": "object",
            "required": ["kind", "namespace", "name", "found", "verdict", "summary", "findings", "notChecked", "ruleErrors"],
            "properties": {
                "kind": {"enum": ["RayCluster", "RayJob", "RayService"]}, "found": {"type": "boolean"},
                "verdict": {"enum": [ERROR, WARNING, "ok", "not-found"]}, "summary": _COUNTS,
                "findings": {"type": "array", "items": {"$ref": "#/$defs/finding"}},
                "notChecked": {"type": "array", "items": {"type": "object", "required": ["id", "title", "reason"]}},
                "ruleErrors": {"type": "array"},
            }}},
        "forbidden": {"type": "array", "items": {"type": "object", "required": ["verb", "resource", "namespace", "message"]}},
        "collectionErrors": {"type": "array", "items": {"type": "string"}},
    },
}

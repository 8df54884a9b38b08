"""Real incidents (tests/debug/incidents/*.yaml) through the real `kubectl ray debug` over HTTP.

Each fixture rebuilds one public issue thread on a healthy KubeRay sample (see incidents/loader.py).
The diagnosis must name the root cause first, with the right severity and exit code. A fixture the
diagnosis still gets wrong says so (`known_miss: why`) and is expected to fail, so that a fix shows
up as an unexpected pass and a regression as a failure.
"""

from __future__ import annotations

from collections import Counter

import pytest

from kubectl_ray.debug.finding import Finding
from tests.debug.incidents.loader import (
    Incident, build, command, incident_files, incidents, load, load_into, outcome, verdict,
)

from tests.debug.test_severity_policy import undeclared

FILES = incident_files()
MIN_INCIDENTS = 50
MIN_RIGHT = 0.9


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_incident_root_cause_first(path, emulator, frozen_now) -> None:
    incident = load(path)
    w = build(incident)
    load_into(emulator.emu, incident, w)
    result = emulator.run(*command(incident, w))
    assert "unexpected" not in result.stderr, result.stderr
    found = outcome(result.exit_code, result.stdout, result.stderr)
    assert found.document is not None, result
    assert not found.document["targets"][0]["ruleErrors"], found.document["targets"][0]["ruleErrors"]
    assert not undeclared([Finding.from_dict(f) for f in _flatten(found.findings)])
    problems = verdict(incident, found)
    shown = [(f["id"], f["severity"], f["title"]) for f in found.findings[:4]]
    if incident.known_miss:
        assert problems, f"known miss now diagnosed right, remove known_miss: {shown}"
        pytest.xfail(f"known miss: {incident.known_miss}")
    assert not problems, f"{problems}; findings: {shown}"


def test_corpus_is_large_diverse_and_mostly_right() -> None:
    corpus: list[Incident] = incidents()
    assert len(corpus) >= MIN_INCIDENTS
    assert len({i.source for i in corpus}) == len(corpus), "one fixture per thread"
    right = [i for i in corpus if not i.known_miss]
    assert len(right) / len(corpus) >= MIN_RIGHT, [i.name for i in corpus if i.known_miss]
    kinds = Counter(i.doc.get("kind") or _sample_kind(i) for i in corpus)
    assert set(kinds) == {"RayCluster", "RayJob", "RayService"}, kinds
    severities = Counter(i.expect.get("severity") for i in corpus)
    assert severities["error"] >= 40 and severities["info"] + severities["warning"] >= 1, severities


def _flatten(findings: list[dict]) -> list[dict]:
    return [x for f in findings for x in (f, *_flatten(f.get("consequences") or []))]


def _sample_kind(incident: Incident) -> str:
    from tests.debug.sim import sample

    return sample(incident.doc["sample"], incident.doc.get("kind"))["kind"]

"""`debug --from-bundle` on hostile archives: a diagnosis, or one `error:` line (exit 3); never the
last-resort "unexpected" handler, a traceback, a hang or a file written.

Hypothesis mutates a real bundle (written by the plugin from a broken cluster): any value of
metadata.json replaced by a value of another type or removed, object and event members replaced by
other YAML (wrong shapes, nulls, truncation, bytes that are not UTF-8, alias bombs), and tar-level
tricks (links and devices where files should be, traversal names, members too large, too many
entries, truncated or not gzip at all). Seeds are printed by hypothesis on failure; the tally counts
every case tried.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import run_cli
from tests.debug.world import World

ROOT = "kubectl-ray-debug"
LAST_RESORT = re.compile(r"^error: (the diagnosis stopped: )?unexpected ", re.M)  # the handlers that mean a bug
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _valid_members() -> dict[str, bytes]:
    from kubectl_ray.debug import report
    from kubectl_ray.debug.bundle import bundle_files
    from kubectl_ray.debug.engine import diagnose

    w = World()
    w.crash(w.head, reason="OOMKilled", exit_code=137)
    w.waiting_for_gcs(w.worker)
    w.event(w.head, "BackOff", "Back-off restarting failed container")
    w.log(w.head, "ray-head", "Traceback (most recent call last):\nMemoryError")
    snap = w.snapshot()
    return bundle_files(snap, report.to_document(snap, [diagnose(snap)], single=True))


MEMBERS = _valid_members()
METADATA = json.loads(MEMBERS["metadata.json"])


def _tar(members: dict[str, bytes], extra: list[tuple[tarfile.TarInfo, bytes | None]] = ()) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"{ROOT}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info, data in extra:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return raw.getvalue()


def check(path: Path) -> None:
    """The contract: exit 0/1 with a report (or "No Ray resources found" for a bundle without targets),
    or exit 3 with one error line; nothing unexpected."""
    result = run_cli("debug", "--from-bundle", str(path))
    assert not LAST_RESORT.search(result.stderr) and "Traceback" not in result.stderr, result.stderr
    assert result.exit_code in (0, 1, 3), result
    if result.exit_code == 3:
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    else:
        assert result.stdout.strip() or result.stderr.startswith("No Ray resources found"), result
    if result.exit_code != 3:
        as_json = run_cli("debug", "--from-bundle", str(path), "-o", "json")
        assert not LAST_RESORT.search(as_json.stderr) and as_json.exit_code in (0, 1), as_json


# --- values of the wrong type anywhere in metadata.json ----------------------------------------------------

JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True), st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, prefix + (i,))
    return out


METADATA_PATHS = [p for p in _paths(METADATA) if p]


def _replace(doc: Any, path: tuple, value: Any, delete: bool) -> Any:
    doc = json.loads(json.dumps(doc))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = value
    return doc


@FUZZ
@given(path=st.sampled_from(METADATA_PATHS), value=JSON_VALUES, delete=st.booleans())
def test_metadata_values_of_any_type(tmp_path_factory, tally, path, value, delete):
    with tally.case("hostile bundles: metadata.json types"):
        members = dict(MEMBERS)
        members["metadata.json"] = json.dumps(_replace(METADATA, path, value, delete)).encode()
        bundle = tmp_path_factory.mktemp("b") / "b.tar.gz"
        bundle.write_bytes(_tar(members))
        check(bundle)


@pytest.mark.parametrize("doc", [[], "text", None, 5, {"format": "kubectl-ray.debug.snapshot/v1", "meta": []},
                                 {**METADATA, "files": list(METADATA["files"])}, {**METADATA, "meta": ["a"]},
                                 {**METADATA, "logFiles": {"a": 1}}, {**METADATA, "targets": "raycluster/x"}],
                         ids=["list", "string", "null", "number", "meta-list", "files-list", "meta-list-2", "logfiles-map", "targets-str"])
def test_metadata_shapes_from_the_issue(tmp_path: Path, tally, doc: Any) -> None:
    with tally.case("hostile bundles: metadata.json types"):
        members = dict(MEMBERS)
        members["metadata.json"] = json.dumps(doc).encode()
        bundle = tmp_path / "b.tar.gz"
        bundle.write_bytes(_tar(members))
        check(bundle)
        assert run_cli("debug", "--from-bundle", str(bundle)).exit_code == 3


# --- members that are not what the metadata says ------------------------------------------------------------

OBJECT_MEMBERS = sorted(n for n in MEMBERS if n.startswith(("objects/", "events/")))
YAML_TEXT = st.one_of(
    JSON_VALUES.map(lambda v: json.dumps(v)),  # JSON is YAML
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.sampled_from(["a: &a [*a]", "- &x {metadata: {name: x}}\n- *x", "metadata: {name: [1]}", "metadata: null",
                     "{metadata: {name: n, namespace: 5}}", "[" * 5000, "key: !!python/object:os.system ls", ":\n  - :",
                     "metadata: {name: n}\nspec: 5\nstatus: [1, 2]", "\ufeff" + "a: b", "%YAML 9.9\n---\na"]),
)


@FUZZ
@given(member=st.sampled_from(OBJECT_MEMBERS), text=YAML_TEXT, cut=st.one_of(st.none(), st.integers(0, 400)))
def test_members_with_any_content(tmp_path_factory, tally, member, text, cut):
    with tally.case("hostile bundles: members"):
        members = dict(MEMBERS)
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        members[member] = data if cut is None else MEMBERS[member][:cut]
        bundle = tmp_path_factory.mktemp("b") / "b.tar.gz"
        bundle.write_bytes(_tar(members))
        check(bundle)


def test_alias_bombs_are_refused(tmp_path: Path, tally) -> None:
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(9))
    for member in OBJECT_MEMBERS[:2]:
        with tally.case("hostile bundles: members"):
            members = dict(MEMBERS)
            members[member] = laughs.encode()
            bundle = tmp_path / "bomb.tar.gz"
            bundle.write_bytes(_tar(members))
            result = run_cli("debug", "--from-bundle", str(bundle))
            assert result.exit_code == 3 and "expands to more than" in result.stderr, result


# --- tar tricks ----------------------------------------------------------------------------------------

def _info(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, size, link
    return info


TRICKS = {
    "symlink metadata": ({k: v for k, v in MEMBERS.items() if k != "metadata.json"},
                         [(_info(f"{ROOT}/metadata.json", tarfile.SYMTYPE, link="/etc/passwd"), None)]),
    "hardlink metadata": ({k: v for k, v in MEMBERS.items() if k != "metadata.json"},
                          [(_info(f"{ROOT}/metadata.json", tarfile.LNKTYPE, link="/etc/passwd"), None)]),
    "fifo and device members": (MEMBERS, [(_info(f"{ROOT}/objects/x.yaml", tarfile.FIFOTYPE), None),
                                          (_info(f"{ROOT}/dev", tarfile.CHRTYPE), None)]),
    "traversal names": (MEMBERS, [(_info(f"{ROOT}/../../../tmp/evil.yaml", size=4), b"evil"),
                                  (_info("/etc/evil", size=4), b"evil")]),
    "duplicate metadata": (MEMBERS, [(_info(f"{ROOT}/metadata.json", size=2), b"[]")]),
}


@pytest.mark.parametrize("name", sorted(TRICKS))
def test_tar_tricks(tmp_path: Path, tally, name: str) -> None:
    with tally.case("hostile bundles: tar"):
        members, extra = TRICKS[name]
        bundle = tmp_path / "t.tar.gz"
        bundle.write_bytes(_tar(members, extra))
        check(bundle)
        assert not (tmp_path / "evil.yaml").exists() and not Path("/tmp/evil.yaml").exists()


def test_members_past_the_size_caps_are_refused_before_reading(tmp_path: Path, tally) -> None:
    from kubectl_ray.debug.bundle import MAX_MEMBER

    raw = bytearray(_tar({"README.txt": b"x"}))  # a header that claims more than the cap, and no data behind it
    header = tarfile.TarInfo(f"{ROOT}/metadata.json")
    header.size = MAX_MEMBER + 1
    bundle = tmp_path / "huge.tar"
    bundle.write_bytes(header.tobuf(tarfile.GNU_FORMAT) + b"\0" * 1024)
    with tally.case("hostile bundles: tar"):
        result = run_cli("debug", "--from-bundle", str(bundle))
        assert result.exit_code == 3 and "too large for a support bundle" in result.stderr, result
    assert raw  # the gzip round trip above is valid; only the crafted header is not


def test_too_many_entries_are_refused(tmp_path: Path, tally, monkeypatch) -> None:
    from kubectl_ray.debug import bundle as bundle_module

    monkeypatch.setattr(bundle_module, "MAX_ENTRIES", 50)
    extra = [(_info(f"{ROOT}/objects/pad/{i}", tarfile.DIRTYPE), None) for i in range(60)]
    path = tmp_path / "many.tar.gz"
    path.write_bytes(_tar(MEMBERS, extra))
    with tally.case("hostile bundles: tar"):
        result = run_cli("debug", "--from-bundle", str(path))
        assert result.exit_code == 3 and "more than 50 entries" in result.stderr, result


@pytest.mark.parametrize("cut", [0, 10, 100, 1000, -200, -20])
def test_truncated_and_foreign_archives(tmp_path: Path, tally, cut: int) -> None:
    whole = _tar(MEMBERS)
    with tally.case("hostile bundles: tar"):
        path = tmp_path / "cut.tar.gz"
        path.write_bytes(whole[:cut])
        check(path)
    with tally.case("hostile bundles: tar"):
        path = tmp_path / "foreign.tar.gz"
        path.write_bytes(b"\x1f\x8b" + whole[2:cut] if cut else b"PK\x03\x04 a zip file")
        check(path)

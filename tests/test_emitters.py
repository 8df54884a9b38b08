"""The fast `-o json|yaml` emitters give exactly the bytes of the plain library calls they replace."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from kubectl_ray import emitters

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=120) | st.sampled_from(
    ["", "yes", "no", "null", "~", "0x1F", "1e3", "- a", "a: b", "#x", "'q'", '"q"', "a\nb", " lead", "trail ",
     "x" * 200, ("word " * 40).strip(), "über", "\t", "@at", "`tick", "{}", "[]", "*ref", "&anchor", "!tag"])
# Printable ASCII with the characters PyYAML's style choice turns on, to exercise yaml_text's own writer.
ASCII = st.text(alphabet=st.sampled_from(list("ab01 -:#'\"?.,@!&*=~+_/[]{}|>%`<")), max_size=30) | st.sampled_from(
    ["2026-11-20T10:00:00Z", "2026-1-2 3:04:05", "0o17", "0b101", "0x_1F", "1_000", "1:20", "1:20.5", ".5", "-.inf",
     ".NaN", "+1e+10", "1.0", "On", "OFF", "<<", "=", "---x", "...", "--- x", "-x", "- x", "?x", "? x", ":x", ": x"])
SCALARS = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | \
    st.floats(allow_nan=False, allow_infinity=False) | TEXT
JSONISH = st.recursive(SCALARS, lambda children: st.lists(children, max_size=4)
                       | st.dictionaries(TEXT, children, max_size=5), max_leaves=25)
OBJECTS = st.dictionaries(TEXT, JSONISH, max_size=6)
ASCII_SCALARS = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | ASCII
ASCII_JSONISH = st.recursive(ASCII_SCALARS, lambda children: st.lists(children, max_size=4)
                             | st.dictionaries(ASCII, children, max_size=5), max_leaves=25)


DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # what printing used before emitters.py, and falls back to


def pyyaml(obj: Any, width: int = 80, dumper: Any = DUMPER) -> str:
    return yaml.dump(obj, Dumper=dumper, sort_keys=True, default_flow_style=False, allow_unicode=True,
                     width=width)


def stdlib_json(obj: Any) -> str:
    return json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False) + "\n"


def as_list(items: list[Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(JSONISH)
def test_json_text_matches_the_json_module(value: Any) -> None:
    assert emitters.json_text(value) == stdlib_json(value)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.lists(OBJECTS, max_size=3), max_size=3))
def test_json_list_streamed_by_page_matches_one_dump(pages: list[list[Any]]) -> None:
    out = io.StringIO()
    emitters.write_json_list(pages, out)
    assert out.getvalue() == stdlib_json(as_list([item for page in pages for item in page]))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.lists(OBJECTS, max_size=3), max_size=3))
def test_yaml_list_streamed_by_page_matches_one_dump(pages: list[list[Any]]) -> None:
    out = io.StringIO()
    emitters.write_yaml_list(pages, out)
    assert out.getvalue() == pyyaml(as_list([item for page in pages for item in page]))


def test_special_values_and_keys_follow_the_json_module() -> None:
    value = {"nan": math.nan, "inf": -math.inf, "big": 2**80, "tuple": (1, "a"), "deep": [[[[{}]]]]}
    assert emitters.json_text(value) == stdlib_json(value)
    mixed = {"b": 1, "a": {"z": [], "y": {}}}
    assert emitters.json_text(mixed) == stdlib_json(mixed)
    assert emitters.json_text({1: "x", 2: "y"}) == stdlib_json({1: "x", 2: "y"})
    assert emitters.json_text({"v": math.nan}) == stdlib_json({"v": math.nan})


def test_deep_nesting_beyond_the_precomputed_indents() -> None:
    value: Any = "leaf"
    for _ in range(40):
        value = {"k": [value]}
    assert emitters.json_text(value) == stdlib_json(value)


def test_long_strings_fold_inside_list_items_exactly_as_in_one_dump() -> None:
    long_words = " ".join(f"word{i}" for i in range(60))
    items = [{"metadata": {"annotations": {"note": long_words, "q": "it's: " + long_words}}, "spec": {"x": [long_words]}}]
    out = io.StringIO()
    emitters.write_yaml_list([items], out)
    assert out.getvalue() == pyyaml(as_list(items))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(ASCII_JSONISH | JSONISH)
def test_yaml_text_matches_pyyaml(value: Any) -> None:
    assert emitters.yaml_text(value) == pyyaml(value)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(ASCII_JSONISH)
def test_yaml_writer_agrees_with_libyaml_and_pure_pyyaml(value: Any) -> None:
    """Where yaml_text writes by itself, its text is what both of PyYAML's emitters write (the krew
    archive has no libyaml)."""
    parts: list[str] = []
    try:
        emitters._yaml_block(value, 0, parts.append) if isinstance(value, (dict, list)) and value else None
    except emitters._NotSimple:
        return
    if parts:
        assert "".join(parts) == pyyaml(value, dumper=yaml.SafeDumper) == pyyaml(value)


@pytest.mark.parametrize("text", ["word " * 14 + "end", "w" * 70 + " x", "x" * 200, "it's " * 20, "a" * 75 + " b"])
@pytest.mark.parametrize("key", ["k", "a-much-longer-key-name"])
def test_yaml_strings_near_the_line_width(text: str, key: str) -> None:
    doc = {key: text, "list": [text, {key: text}], "nested": {"deeper": {key: [text]}}}
    assert emitters.yaml_text(doc) == pyyaml(doc)
    out = io.StringIO()
    twin = json.loads(json.dumps(doc))  # decoded JSON shares no objects (PyYAML would write an alias)
    emitters.write_yaml_list([[doc, twin]], out)
    assert out.getvalue() == pyyaml(as_list([doc, twin]))


def test_plain_json_shaped_objects_are_written_without_pyyaml() -> None:
    """Most sample RayClusters (ASCII, no floats, no long prose) are printed without importing PyYAML."""
    import subprocess
    import sys

    from tests.conftest import shared_path

    docs = [d for path in sorted(shared_path("samples").glob("ray-cluster*.yaml"))
            for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict) and d.get("kind") == "RayCluster"]
    script = """if True:
        import json, sys
        from kubectl_ray import emitters
        simple = []
        for doc in json.loads(sys.stdin.read()):
            try:
                emitters._yaml_block(doc, 0, lambda text: None)
                simple.append(doc)
            except emitters._NotSimple:
                pass
        texts = [emitters.yaml_text(doc) for doc in simple]
        print(json.dumps([len(simple), any("yaml" in m.split(".") for m in sys.modules), texts]))
    """
    result = subprocess.run([sys.executable, "-c", script], input=json.dumps(docs), capture_output=True, text=True,
                            check=True)
    count, imported, texts = json.loads(result.stdout)
    assert count >= len(docs) // 2 and not imported
    assert texts == [pyyaml(doc) for doc in docs if pyyaml(doc) in texts]
    assert len(texts) == count

"""The fast `-o json|yaml` emitters give exactly the bytes of the plain library calls they replace."""

from __future__ import annotations

import io
import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from kubectl_ray import emitters

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=120) | st.sampled_from(
    ["", "yes", "no", "null", "~", "0x1F", "1e3", "- a", "a: b", "#x", "'q'", '"q"', "a\nb", " lead", "trail ",
     "x" * 200, ("word " * 40).strip(), "über", "\t", "@at", "`tick", "{}", "[]", "*ref", "&anchor", "!tag"])
SCALARS = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | \
    st.floats(allow_nan=False, allow_infinity=False) | TEXT
JSONISH = st.recursive(SCALARS, lambda children: st.lists(children, max_size=4)
                       | st.dictionaries(TEXT, children, max_size=5), max_leaves=25)
OBJECTS = st.dictionaries(TEXT, JSONISH, max_size=6)


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
    assert out.getvalue() == emitters.yaml_text(as_list([item for page in pages for item in page]))


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
    assert out.getvalue() == emitters.yaml_text(as_list(items))

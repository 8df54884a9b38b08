"""Property-based tests of every flag-value parser: success or a one-line UsageError, nothing else."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubectl_ray.errors import ExitCode, UsageError
from kubectl_ray.parsing import (DNS1035_LABEL, format_duration, parse_duration, parse_json_flag, parse_key_values, parse_labels,
                                 parse_quantity_flag, parse_resource_ref, parse_tolerations, validate_name)
from kubectl_ray.resources.quantity import QuantityError, parse_quantity

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Text biased towards the characters these grammars care about.
GRAMMAR_TEXT = st.text(alphabet=string.ascii_letters + string.digits + "=,:/.-_+\"' *()!{}[]µé\n\t", max_size=40)
ANY_TEXT = st.one_of(GRAMMAR_TEXT, st.text(max_size=40))


def _usage_error_is_one_line(exc: UsageError) -> None:
    assert exc.exit_code == ExitCode.USAGE
    assert "\n" not in exc.render() and exc.render().startswith("error: ")


@FUZZ
@given(text=ANY_TEXT)
def test_quantity(tally, text):
    with tally.case("fuzz: quantities"):
        try:
            q = parse_quantity(text)
        except QuantityError:
            return
        assert parse_quantity(str(q)).value == q.value  # canonical text parses back to the same amount


@FUZZ
@given(text=ANY_TEXT)
def test_quantity_flag(tally, text):
    with tally.case("fuzz: quantity flags"):
        try:
            q = parse_quantity_flag("--worker-cpu", text)
        except UsageError as exc:
            _usage_error_is_one_line(exc)
            assert "--worker-cpu" in exc.render()
            return
        assert q.value >= 0


@FUZZ
@given(values=st.lists(ANY_TEXT, max_size=3))
def test_key_values_and_labels(tally, values):
    with tally.case("fuzz: key=value maps"):
        for parser in (parse_key_values, parse_labels):
            try:
                result = parser("--labels", values)
            except UsageError as exc:
                _usage_error_is_one_line(exc)
                continue
            assert all(isinstance(k, str) and k for k in result)


@FUZZ
@given(text=ANY_TEXT)
def test_tolerations(tally, text):
    with tally.case("fuzz: taints/tolerations"):
        try:
            tolerations = parse_tolerations("--worker-tolerations", text)
        except UsageError as exc:
            _usage_error_is_one_line(exc)
            return
        for t in tolerations:
            assert t["operator"] in ("Equal", "Exists") and t["key"]
            assert t.get("effect") in (None, "NoSchedule", "PreferNoSchedule", "NoExecute")
            assert ("value" in t) == (t["operator"] == "Equal")


@FUZZ
@given(text=ANY_TEXT)
def test_type_name(tally, text):
    with tally.case("fuzz: TYPE/NAME"):
        try:
            ref = parse_resource_ref(text)
        except UsageError as exc:
            _usage_error_is_one_line(exc)
            return
        assert ref.type in ("raycluster", "rayjob", "rayservice") and ref.name and "/" not in ref.name


@FUZZ
@given(text=ANY_TEXT, bare=st.booleans())
def test_durations(tally, text, bare):
    with tally.case("fuzz: durations"):
        try:
            seconds = parse_duration("--timeout", text, bare_seconds=bare)
        except UsageError as exc:
            _usage_error_is_one_line(exc)
            return
        assert seconds >= 0


@FUZZ
@given(seconds=st.integers(min_value=0, max_value=10 ** 7))
def test_duration_round_trip(tally, seconds):
    with tally.case("fuzz: durations"):
        assert parse_duration("--timeout", format_duration(seconds)) == seconds


@FUZZ
@given(text=st.one_of(ANY_TEXT, st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                                             lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3)).map(__import__("json").dumps)))
def test_json_flags(tally, text):
    with tally.case("fuzz: JSON flags"):
        try:
            value = parse_json_flag("--metadata-json", text)
        except UsageError as exc:
            _usage_error_is_one_line(exc)
            return
        assert isinstance(value, dict)


@FUZZ
@given(text=ANY_TEXT)
def test_names(tally, text):
    with tally.case("fuzz: names"):
        try:
            validate_name("RayCluster", text, max_length=53)
        except UsageError as exc:
            _usage_error_is_one_line(exc)
            return
        assert len(text) <= 53 and DNS1035_LABEL.match(text)

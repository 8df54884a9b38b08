"""Quantities bounded to what Kubernetes represents (issue 14): a whole number of milli-units in an
int64. Larger or finer values are rejected, never rounded, and no input can make parsing or
formatting slow (flags, and hostile RayClusters read by `get`)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubectl_ray.resources.quantity import MAX_MILLI, Quantity, QuantityError, parse_quantity
from tests.conftest import ray_cluster

HOSTILE = ["1e999990", "1e999999", "1e5000", "9" * 80, "0." + "0" * 80 + "1", "1" + "0" * 5000, "1e-999999",
           "9223372036854775808", "1e-4", "1" * 4097]


@pytest.mark.parametrize("text, canonical", [
    ("2", "2"), ("500m", "500m"), ("0.5", "500m"), ("1.5", "1500m"), ("4Gi", "4Gi"), ("4096Mi", "4Gi"),
    ("1536Mi", "1536Mi"), ("0.5Gi", "512Mi"), ("0.0005Ki", "512m"), ("1e9", "1G"), ("1E3", "1k"), ("2000", "2k"),
    ("+3", "3"), ("-2Gi", "-2Gi"), (".5", "500m"), ("1.", "1"), ("0", "0"), ("0e999999999", "0"),
    ("9223372036854775.807", "9223372036854775807m"), ("8Pi", "8Pi"), ("1000Ki", "1000Ki"),
])
def test_exact_values_and_canonical_text(text: str, canonical: str):
    assert str(parse_quantity(text)) == canonical


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.timeout(60)
def test_values_kubernetes_cannot_hold_are_rejected_quickly(text: str):
    with pytest.raises(QuantityError) as exc:
        parse_quantity(text)
    message = str(exc.value)
    assert ("too large" in message or "finer than 1m" in message or "not one Kubernetes can hold" in message), message


def test_eighty_nines_are_not_rounded_to_another_value():
    """Issue 14: a 28-digit decimal context turned eighty 9s into 1000...0."""
    with pytest.raises(QuantityError, match="too large"):
        parse_quantity("9" * 80)
    assert parse_quantity("9" * 15).milli == int("9" * 15) * 1000  # exact below the bound


@pytest.mark.parametrize("text", HOSTILE[:5])
@pytest.mark.timeout(120)
def test_create_cluster_rejects_them_as_usage_errors(text: str):
    from tests.conftest import run_cli

    result = run_cli("create", "cluster", "demo", "--worker-cpu", text, "--dry-run")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: --worker-cpu is not a valid resource quantity") and "unexpected" not in \
        result.stderr and result.stderr.count("\n") == 1


@pytest.mark.timeout(120)
def test_a_hostile_raycluster_is_shown_as_written(emulator, frozen_now):
    """The same parser runs on what the API holds: `get` prints what it cannot read, as written."""
    for index, text in enumerate(HOSTILE):
        cluster = ray_cluster(f"hostile-{index}")
        cluster["status"] = {"desiredCPU": text, "desiredMemory": text}
        emulator.emu.add(cluster)
    result = emulator.run("get", "clusters", "-o", "wide")
    assert result.exit_code == 0 and "unexpected" not in result.stderr
    assert "1e999990" in result.stdout and "9" * 80 in result.stdout
    result = emulator.run("get", "clusters", "-o", "name", "--sort-by", ".status.desiredCPU")
    assert result.exit_code == 0 and result.stdout.count("\n") == len(HOSTILE)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789.eE+-KMGTPEinumk ", max_size=40))
def test_any_text_parses_or_says_why_and_round_trips(text: str):
    try:
        q = parse_quantity(text)
    except QuantityError:
        return
    assert abs(q.milli) <= MAX_MILLI
    assert parse_quantity(str(q)) == q  # the canonical text is the same amount, exactly


@given(st.integers(min_value=-MAX_MILLI, max_value=MAX_MILLI), st.booleans())
def test_every_int64_milli_value_prints_and_parses_back(milli: int, binary: bool):
    assert parse_quantity(str(Quantity(milli, binary))).milli == milli

"""kubectl's look: HumanDuration (cases from apimachinery's duration_test.go), tabwriter tables, printers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import yaml

from kubectl_ray.printing import age, format_table, human_duration, object_ref, print_objects
from kubectl_ray.resources.quantity import QuantityError, parse_quantity, sum_quantities

S, M, H, D = 1, 60, 3600, 86400
MS = 0.001


@pytest.mark.parametrize("seconds, want", [
    (S, "1s"), (70 * S, "70s"), (190 * S, "3m10s"), (70 * M, "70m"), (47 * H, "47h"), (49 * H, "2d1h"),
    ((8 * 24 + 2) * H, "8d"), (367 * 24 * H, "367d"), ((365 * 2 * 24 + 25) * H, "2y1d"), ((365 * 8 * 24 + 2) * H, "8y"),
    # boundaries
    (-2 * S, "<invalid>"), (-2 * S + 1e-9, "0s"), (0, "0s"), (S - MS, "0s"), (2 * M - MS, "119s"), (2 * M, "2m"),
    (2 * M + S, "2m1s"), (10 * M - MS, "9m59s"), (10 * M, "10m"), (3 * H - MS, "179m"), (3 * H, "3h"), (3 * H + M, "3h1m"),
    (8 * H - MS, "7h59m"), (8 * H, "8h"), (48 * H - MS, "47h"), (48 * H, "2d"), (48 * H + H, "2d1h"),
    (8 * D - MS, "7d23h"), (8 * D, "8d"), (2 * 365 * D - MS, "729d"), (2 * 365 * D, "2y"), (2 * 365 * D + 23 * H, "2y"),
    (2 * 365 * D + 24 * H - MS, "2y"), (2 * 365 * D + 24 * H, "2y1d"), (3 * 365 * D, "3y"), (7 * 365 * D, "7y"),
    (8 * 365 * D - MS, "7y364d"), (8 * 365 * D, "8y"), (8 * 365 * D + 364 * D, "8y"), (9 * 365 * D, "9y"),
])
def test_human_duration(seconds, want):
    assert human_duration(seconds) == want


def test_age_of_timestamps():
    now = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    assert age("2026-11-23T10:50:00Z", now) == "70m"
    assert age(None, now) == "<unknown>"
    assert age("not a time", now) == "<unknown>"
    assert age((now - timedelta(seconds=190)).isoformat(), now) == "3m10s"


def test_table_matches_tabwriter():
    out = format_table(["name", "a", "status"], [["demo", "1", "ready"], ["much-longer-name", "10", ""]])
    # widest cell + 3 spaces, but at least 6 (tabwriter's minwidth): column A is 6 wide
    assert out == ("NAME               A     STATUS\n"
                   "demo               1     ready\n"
                   "much-longer-name   10    \n")
    assert format_table(["name"], [["x"]], no_headers=True) == "x\n"


def test_printers(capsys):
    obj = {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "demo"}, "spec": {"b": 1, "a": [1]}}
    assert object_ref(obj) == "raycluster.ray.io/demo"
    assert object_ref({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}) == "pod/p"
    print_objects([obj], "yaml")
    text = capsys.readouterr().out
    assert yaml.safe_load(text) == obj and text.index("apiVersion") < text.index("kind") < text.index("spec")
    print_objects([obj, obj], "json")
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == "List" and len(doc["items"]) == 2


@pytest.mark.parametrize("text, canonical", [
    ("2", "2"), ("500m", "500m"), ("0.5", "500m"), ("4Gi", "4Gi"), ("1536Mi", "1536Mi"), ("1.5Gi", "1536Mi"),
    ("2000", "2k"), ("1e3", "1k"), ("100M", "100M"), ("0", "0"), ("+3", "3"), (".5", "500m"), ("1P", "1P"),
])
def test_quantities(text, canonical):
    assert str(parse_quantity(text)) == canonical


@pytest.mark.parametrize("text", ["2GG", "abc", "", "1.2.3", "Gi", "1 Gi", "1e", "--1"])
def test_invalid_quantities(text):
    with pytest.raises(QuantityError):
        parse_quantity(text)


def test_quantity_sums_keep_the_format():
    assert str(sum_quantities([parse_quantity("4Gi"), parse_quantity("1Gi")])) == "5Gi"
    assert str(sum_quantities([parse_quantity("2"), parse_quantity("500m")])) == "2500m"
    assert str(parse_quantity("4Gi") * 3) == "12Gi"
    assert parse_quantity("1Gi").value == Decimal(1024 ** 3)

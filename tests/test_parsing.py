"""Flag-value parsers: each failure is a UsageError naming the flag and the value."""

from __future__ import annotations

import pytest

from kubectl_ray.errors import ExitCode, UsageError
from kubectl_ray.parsing import (ResourceRef, format_duration, parse_duration, parse_json_flag, parse_key_values,
                                 parse_labels, parse_quantity_flag, parse_resource_ref, parse_tolerations, validate_name)


def test_key_values_like_pflag_string_to_string():
    assert parse_key_values("--labels", ["app=ray,env=dev", "team=x"]) == {"app": "ray", "env": "dev", "team": "x"}
    assert parse_key_values("--labels", '"a=x,y",b=') == {"a": "x,y", "b": ""}  # pflag: quote the whole pair
    assert parse_key_values("--labels", "") == {}
    with pytest.raises(UsageError, match=r"invalid argument 'novalue' for --labels: 'novalue' must be formatted as key=value"):
        parse_key_values("--labels", "novalue")


def test_label_syntax_is_checked():
    assert parse_labels("--worker-node-selectors", "cloud.google.com/gke-tpu-topology=2x2x1")
    with pytest.raises(UsageError, match="invalid --labels key 'bad key'"):
        parse_labels("--labels", "bad key=1")
    with pytest.raises(UsageError, match="invalid --labels value"):
        parse_labels("--labels", "k=" + "x" * 64)


@pytest.mark.parametrize("text, expected", [
    ("nvidia.com/gpu=present:NoSchedule", [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}]),
    ("nvidia.com/gpu:NoSchedule", [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]),
    ("dedicated=ray", [{"key": "dedicated", "operator": "Equal", "value": "ray"}]),
    ("spot", [{"key": "spot", "operator": "Exists"}]),
    ("a=b:noexecute,c:PreferNoSchedule", [{"key": "a", "operator": "Equal", "value": "b", "effect": "NoExecute"},
                                          {"key": "c", "operator": "Exists", "effect": "PreferNoSchedule"}]),
])
def test_tolerations(text, expected):
    assert parse_tolerations("--worker-tolerations", text) == expected


@pytest.mark.parametrize("text", ["a=b:Sometimes", ":NoSchedule", "a=b:", "a:b:c", "=v:NoSchedule"])
def test_bad_tolerations(text):
    with pytest.raises(UsageError, match="--worker-tolerations"):
        parse_tolerations("--worker-tolerations", text)


@pytest.mark.parametrize("text, seconds", [("5m", 300), ("1h30m", 5400), ("90s", 90), ("1.5h", 5400), ("0", 0),
                                           ("300ms", 0.3), ("5m0s", 300)])
def test_durations(text, seconds):
    assert parse_duration("--timeout", text) == pytest.approx(seconds)


def test_duration_errors_and_bare_seconds():
    assert parse_duration("--request-timeout", "30", bare_seconds=True) == 30
    for bad in ("30", "5x", "-5m", "m", ""):
        with pytest.raises(UsageError, match="--timeout"):
            parse_duration("--timeout", bad)
    assert format_duration(300) == "5m0s" and format_duration(3725) == "1h2m5s" and format_duration(7) == "7s"


def test_quantity_flags():
    assert str(parse_quantity_flag("--worker-cpu", "500m")) == "500m"
    with pytest.raises(UsageError, match=r"--worker-memory is not a valid resource quantity: '2GG'"):
        parse_quantity_flag("--worker-memory", "2GG")
    with pytest.raises(UsageError, match=r"--head-cpu cannot be negative: '-1'"):
        parse_quantity_flag("--head-cpu", "-1")
    assert UsageError("x").exit_code == ExitCode.USAGE


@pytest.mark.parametrize("arg, ref", [
    ("demo", ResourceRef("raycluster", "demo")),
    ("RayJob/j1", ResourceRef("rayjob", "j1")),
    ("rayservices/s", ResourceRef("rayservice", "s")),
    ("raycluster.ray.io/demo", ResourceRef("raycluster", "demo")),
])
def test_resource_refs(arg, ref):
    assert parse_resource_ref(arg) == ref


@pytest.mark.parametrize("arg, message", [
    ("a/b/c", "invalid resource type/name: 'a/b/c'"),
    ("pod/x", "unsupported resource type 'pod'"),
    ("rayjob/", "the name is empty"),
])
def test_bad_resource_refs(arg, message):
    with pytest.raises(UsageError, match=message):
        parse_resource_ref(arg)


def test_names_and_json():
    validate_name("RayCluster", "ok-name", max_length=53)
    with pytest.raises(UsageError, match="must be no more than 53 characters"):
        validate_name("RayCluster", "a" * 54, max_length=53)
    with pytest.raises(UsageError, match="must consist of lower case"):
        validate_name("RayCluster", "Bad_Name")
    assert parse_json_flag("--metadata-json", '{"a": 1}') == {"a": 1}
    with pytest.raises(UsageError, match="invalid --metadata-json: not valid JSON"):
        parse_json_flag("--metadata-json", "{")

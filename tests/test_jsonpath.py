"""kubectl's JSONPath dialect: client-go's own test cases (util/jsonpath/jsonpath_test.go, v0.32) run
against our port, Go's printing of values, and a property: any template on any JSON either prints or
raises JSONPathError (never another exception)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubectl_ray.jsonpath import JSONPath, JSONPathError, go_float, go_json, go_sprint, relaxed

NODES = json.loads("""{
  "kind": "List",
  "items": [
    {"kind": "None", "metadata": {"name": "127.0.0.1", "labels": {"kubernetes.io/hostname": "127.0.0.1"}},
     "status": {"capacity": {"cpu": "4"}, "ready": true,
                "addresses": [{"type": "LegacyHostIP", "address": "127.0.0.1"}]}},
    {"kind": "None", "metadata": {"name": "127.0.0.2", "labels": {"kubernetes.io/hostname": "127.0.0.2"}},
     "status": {"capacity": {"cpu": "8"}, "ready": false,
                "addresses": [{"type": "LegacyHostIP", "address": "127.0.0.2"},
                              {"type": "another", "address": "127.0.0.3"}]}}
  ],
  "users": [{"name": "myself", "user": {}}, {"name": "e2e", "user": {"username": "admin", "password": "secret"}}]
}""")
POINTS = json.loads("""[{"id": "i1", "x": 4, "y": -5}, {"id": "i2", "x": -2, "y": -5, "z": 1},
  {"id": "i3", "x": 8, "y": 3}, {"id": "i4", "x": -6, "y": -1}, {"id": "i5", "x": 0, "y": 2, "z": 1},
  {"id": "i6", "x": 1, "y": 4}, {"id": "i7", "x": null, "y": 4}]""")
PODS = {"items": [
    {"metadata": {"name": "pod1"}, "spec": {"containers": [
        {"name": "foo", "another": [{"name": "value1"}, {"name": "value2"}]},
        {"name": "bar", "another": [{"name": "value1"}, {"name": "value2"}]}]}},
    {"metadata": {"name": "pod2"}, "spec": {"containers": [
        {"name": "baz", "another": [{"name": "value1"}, {"name": "value2"}]}]}}]}
CONTAINERS = {"kind": "Pod", "spec": {"containers": [{"name": f"fake{i}"} for i in range(6)]}}
FOUR = {"kind": "Pod", "spec": {"containers": [{"name": f"fake{i}"} for i in range(4)]}}
ANNOTATED = {"kind": "List", "items": [
    {"metadata": {"name": "pod1", "annotations": {"color": "blue"}}}, {"metadata": {"name": "pod2"}},
    {"metadata": {"name": "pod3", "annotations": {"color": "green"}}},
    {"metadata": {"name": "pod4", "annotations": {"color": "blue"}}}]}
RUNNING = {"kind": "List", "items": [{"metadata": {"name": f"pod{i}"}, "status": {"phase": "Running"}}
                                     for i in (1, 2, 3)] + [{"resourceVersion": ""}]}

# (template, input, expected output or None for an error, allow missing keys)
CLIENT_GO_CASES = [
    ("{[?(@.z)].id}", POINTS, "i2 i5", False),
    ("{[0]['id']}", POINTS, "i1", False),
    ("{[-1]['x']}", POINTS, "null", False),
    ("{range .items[*]}{.metadata.name}, {end}{.kind}", NODES, "127.0.0.1, 127.0.0.2, List", False),
    ('{range .items[*]}{.metadata.name}{"\\t"}{end}', NODES, "127.0.0.1\t127.0.0.2\t", False),
    ("{.items[*].status.addresses[*].address}", NODES, "127.0.0.1 127.0.0.2 127.0.0.3", False),
    ("{range .items[*]}{range .status.addresses[*]}{.address}, {end}{end}", NODES,
     "127.0.0.1, 127.0.0.2, 127.0.0.3, ", False),
    ("{.items[*].metadata.name}", NODES, "127.0.0.1 127.0.0.2", False),
    ("{.items[*]['metadata.name', 'status.capacity']}", NODES, '127.0.0.1 127.0.0.2 {"cpu":"4"} {"cpu":"8"}', False),
    ("{range .items[*]}[{.metadata.name}, {.status.capacity}] {end}", NODES,
     '[127.0.0.1, {"cpu":"4"}] [127.0.0.2, {"cpu":"8"}] ', False),
    ('{.users[?(@.name=="e2e")].user.password}', NODES, "secret", False),
    ("{.items[0].metadata.labels.kubernetes\\.io/hostname}", NODES, "127.0.0.1", False),
    ('{.items[?(@.metadata.labels.kubernetes\\.io/hostname=="127.0.0.1")].kind}', NODES, "None", False),
    ("{.items[?(@..ready==true)].metadata.name}", NODES, "127.0.0.1", False),
    ("{range .items[*]}{.metadata.name}{end}", {"items": []}, "", True),
    ('{range .items[*]}{.metadata.name}{":"}{range @.spec.containers[*]}{.name}{","}{end}{"+"}{end}',
     {"items": []}, "", True),
    ('{range .items[*]}{.metadata.name}{":"}{range @.spec.containers[*]}{.name}{","}{end}{"+"}{end}', PODS,
     "pod1:foo,bar,+pod2:baz,+", False),
    ('{range .items[*]}{.metadata.name}{"~"}{range @.spec.containers[*]}{.name}{":"}{range @.another[*]}'
     '{.name}{","}{end}{"+"}{end}{"#"}{end}', PODS,
     "pod1~foo:value1,value2,+bar:value1,value2,+#pod2~baz:value1,value2,+#", False),
    ('{range .items[*]}{.metadata.name}{"\\t"}{range @.spec.containers[*]}{.name}{" "}{end}{"\\t"}'
     '{range @.spec.containers[*]}{.name}{" "}{end}{"\\n"}{end}', PODS,
     "pod1\tfoo bar \tfoo bar \npod2\tbaz \tbaz \n", False),
    ('{.items[?(@.metadata.annotations.color=="blue")].metadata.name}', ANNOTATED, "pod1 pod4", True),
    ('{.items[?(@.metadata.annotations.color=="blue")].metadata.name}', ANNOTATED, None, False),
    ("{.spec.containers[0].name}", FOUR, "fake0", False),
    ("{.spec.containers[0:0].name}", FOUR, "", False),
    ("{.spec.containers[0:-1].name}", FOUR, "fake0 fake1 fake2", False),
    ("{.spec.containers[-1:0].name}", FOUR, None, False),
    ("{.spec.containers[-1].name}", FOUR, "fake3", False),
    ("{.spec.containers[-1:].name}", FOUR, "fake3", False),
    ("{.spec.containers[-2].name}", FOUR, "fake2", False),
    ("{.spec.containers[-2:].name}", FOUR, "fake2 fake3", False),
    ("{.spec.containers[-3].name}", FOUR, "fake1", False),
    ("{.spec.containers[-4].name}", FOUR, "fake0", False),
    ("{.spec.containers[-4:].name}", FOUR, "fake0 fake1 fake2 fake3", False),
    ("{.spec.containers[-5].name}", FOUR, None, False),
    ("{.spec.containers[5:5].name}", FOUR, "", False),
    ("{.spec.containers[-5:-5].name}", FOUR, "", False),
    ("{.spec.containers[3:1].name}", FOUR, None, False),
    ("{.spec.containers[-1:-2].name}", FOUR, None, False),
    ('{range .items[?(.status.phase=="Running")]}{.metadata.name}{" is Running\\n"}{end}', RUNNING,
     "pod1 is Running\npod2 is Running\npod3 is Running\n", True),
    ("{.spec.containers[0:].name}", CONTAINERS, "fake0 fake1 fake2 fake3 fake4 fake5", False),
    ("{.spec.containers[0:6:].name}", CONTAINERS, "fake0 fake1 fake2 fake3 fake4 fake5", False),
    ("{.spec.containers[0:6:1].name}", CONTAINERS, "fake0 fake1 fake2 fake3 fake4 fake5", False),
    ("{.spec.containers[0:6:0].name}", CONTAINERS, None, False),
    ("{.spec.containers[0:6:-1].name}", CONTAINERS, None, False),
    ("{.spec.containers[1:4:2].name}", CONTAINERS, "fake1 fake3", False),
    ("{.spec.containers[1:4:3].name}", CONTAINERS, "fake1", False),
    ("{.spec.containers[1:4:4].name}", CONTAINERS, "fake1", False),
    ("{.spec.containers[0:6:2].name}", CONTAINERS, "fake0 fake2 fake4", False),
    ("{.spec.containers[0:6:3].name}", CONTAINERS, "fake0 fake3", False),
    ("{.spec.containers[0:6:5].name}", CONTAINERS, "fake0 fake5", False),
    ("{.spec.containers[0:6:6].name}", CONTAINERS, "fake0", False),
]


@pytest.mark.parametrize("template, data, expected, allow_missing", CLIENT_GO_CASES,
                         ids=[f"{i}:{c[0][:40]}" for i, c in enumerate(CLIENT_GO_CASES)])
def test_client_go_cases(template: str, data, expected: str | None, allow_missing: bool):
    path = JSONPath(template, allow_missing_keys=allow_missing)
    if expected is None:
        with pytest.raises(JSONPathError):
            path.execute(data)
    else:
        assert path.execute(data) == expected


def test_recursive_descent_finds_every_name():
    assert sorted(JSONPath("{..name}").execute(NODES).split()) == ["127.0.0.1", "127.0.0.2", "e2e", "myself"]


@pytest.mark.parametrize("template, message", [
    ("{", "unclosed action"),
    ("{.a", "unclosed action"),
    ("{!}", "unrecognized character in action: U+0021 '!'"),
    ("{.a[}", "unterminated array"),
    ("{.a[x]}", "invalid array index x"),
    ("{[?(@.a==1}", "unterminated filter"),
    ('{"abc}', "unterminated quoted string"),
    ('{"\\q"}', 'unquote string "\\q" error invalid syntax'),
    ("{....a}", "invalid multiple recursive descent"),
])
def test_parse_errors_in_client_gos_words(template: str, message: str):
    with pytest.raises(JSONPathError) as exc:
        JSONPath(template)
    assert str(exc.value) == message


@pytest.mark.parametrize("template, message", [
    ("{end}", "not in range, nothing to end"),
    ("{.kind[0]}", "string is not array or slice"),
    ("{.items[?(@.status.ready>1.5)]}", "incompatible types for comparison"),
    ("{.items[?(@.status>1)]}", "invalid type for comparison"),
    ("{foo}", "unrecognized identifier foo"),
])
def test_execution_errors_in_client_gos_words(template: str, message: str):
    with pytest.raises(JSONPathError) as exc:
        JSONPath(template).execute(NODES)
    assert str(exc.value) == message


@pytest.mark.parametrize("value, text", [
    (0.5, "0.5"), (3.0, "3"), (1e6, "1e+06"), (123456.0, "123456"), (1234567.0, "1.234567e+06"),
    (0.0001, "0.0001"), (0.00001, "1e-05"), (-0.25, "-0.25"), (2.5e300, "2.5e+300"),
])
def test_floats_print_as_gos_v(value: float, text: str):
    assert go_float(value) == text


@pytest.mark.parametrize("value, text", [
    ({"b": [1, "<x>&"], "a": None}, '{"a":null,"b":[1,"\\u003cx\\u003e\\u0026"]}'),
    (1e6, "1000000"), (1e21, "1e+21"), (1.5e-7, "1.5e-7"), (0.5, "0.5"), ("é\n", '"é\\n"'), (True, "true"),
])
def test_json_as_gos_encoding_json(value, text: str):
    assert go_json(value) == text


def test_sprint_as_gos_fmt():
    assert go_sprint({"b": [1, None], "a": {"x": True}}) == "map[a:map[x:true] b:[1 <nil>]]"


@pytest.mark.parametrize("expression, result", [
    ("metadata.name", "{.metadata.name}"), (".metadata.name", "{.metadata.name}"),
    ("{metadata.name}", "{.metadata.name}"), ("{.metadata.name}", "{.metadata.name}"),
])
def test_relaxed_paths(expression: str, result: str):
    assert relaxed(expression) == result


def test_relaxed_rejects_templates():
    with pytest.raises(JSONPathError):
        relaxed("{.a}{.b}")


def test_long_templates_parse_without_deep_recursion():
    assert JSONPath("{.kind}" * 5000).execute({"kind": "x"}) == "x" * 5000


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner,
                                                                                       max_size=4), max_leaves=20)
TEMPLATE_TEXT = st.text(alphabet="{}[]().*@$?=!<>:,'\"\\- _abc0123range end", max_size=30)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(template=TEMPLATE_TEXT, data=JSON_VALUES)
def test_any_template_on_any_json_prints_or_says_why(template: str, data):
    try:
        JSONPath(template).execute(data)
    except JSONPathError:
        pass

"""Hostile kubeconfigs: every field of a realistic kubeconfig swapped for values of other types, odd
shapes, control characters and bytes that are not UTF-8. Whatever the mutation, `kubectl ray get
cluster` ends in success or one `error:` line (exit 1 or 2) naming the problem: never the last-resort
`unexpected ...` handler, never a traceback, never a secret of the kubeconfig in the output.

Hypothesis prints the seed and a reproduction blob when a case fails (`--hypothesis-seed` replays it).
"""

from __future__ import annotations

import base64
import copy
import os
import tempfile
from typing import Any, Iterator

import trustme
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import run_cli

SECRETS = ("kc-secret-token-6f1e", "kc-secret-password-91ab", "kc-oidc-secret-77aa")
CA_DATA = base64.b64encode(trustme.CA().cert_pem.bytes()).decode()  # valid, so mutations get past TLS set-up
BASE: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Config", "current-context": "c", "preferences": {},
    "clusters": [
        {"name": "k", "cluster": {"server": "https://127.0.0.1:1", "certificate-authority-data": CA_DATA,
                                  "tls-server-name": "api.test", "proxy-url": "http://127.0.0.1:1",
                                  "insecure-skip-tls-verify": False, "disable-compression": False,
                                  "extensions": [{"name": "client.authentication.k8s.io/exec",
                                                  "extension": {"audience": "a"}}]}},
        {"name": "plain", "cluster": {"server": "http://127.0.0.1:1"}},
    ],
    "users": [
        {"name": "u", "user": {"token": SECRETS[0], "as": "jane", "as-groups": ["devs"], "as-uid": "7",
                               "as-user-extra": {"scopes": ["read"]}}},
        {"name": "b", "user": {"username": "admin", "password": SECRETS[1]}},
        {"name": "e", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "plugin",
                                        "args": ["get-token"], "env": [{"name": "A", "value": "1"}],
                                        "interactiveMode": "Never", "provideClusterInfo": True,
                                        "installHint": "install it"}}},
        {"name": "o", "user": {"auth-provider": {"name": "oidc", "config": {
            "idp-issuer-url": "https://idp.test", "client-id": "x", "client-secret": SECRETS[2], "id-token": "a.b.c"}}}},
        {"name": "f", "user": {"tokenFile": "token", "client-certificate": "c.pem", "client-key": "k.pem"}},
    ],
    "contexts": [
        {"name": "c", "context": {"cluster": "k", "user": "u", "namespace": "team"}},
        {"name": "p", "context": {"cluster": "plain", "user": "b"}},
        {"name": "x", "context": {"cluster": "k", "user": "e"}},
        {"name": "o", "context": {"cluster": "k", "user": "o"}},
        {"name": "f", "context": {"cluster": "k", "user": "f"}},
    ],
}
CONTEXTS = [c["name"] for c in BASE["contexts"]]


def _paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


PATHS = [p for p in _paths(BASE) if p]
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                   st.floats(allow_nan=True), st.text(max_size=12),
                   st.sampled_from(["", "\r\nX-Injected: 1", "a\x00b", "https://[::1]:99999", "k:abc", "~/x",
                                    "/dev/zero", "2020-01-01", "y", "n", "yes", "☃", "../../etc/passwd"]))
HOSTILE = st.recursive(SCALAR, lambda children: st.lists(children, max_size=3)
                       | st.dictionaries(st.text(max_size=6), children, max_size=3), max_leaves=8)
MUTATION = settings(max_examples=400, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _set(doc: Any, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


def _run(data: bytes, context: str) -> Any:
    with tempfile.TemporaryDirectory() as folder:
        for name, text in (("token", SECRETS[0]), ("c.pem", "not a cert"), ("k.pem", "not a key")):
            with open(os.path.join(folder, name), "w", encoding="utf-8") as fh:
                fh.write(text)
        path = os.path.join(folder, "config")
        with open(path, "wb") as fh:
            fh.write(data)
        # an empty PATH: a mutated exec command must never start a real program
        return run_cli("get", "cluster", "--kubeconfig", path, "--context", context, "--request-timeout", "2s",
                       env={"PATH": folder, "HTTPS_PROXY": None, "HTTP_PROXY": None, "NO_PROXY": None})


def _assert_clean(result: Any) -> None:
    output = result.stdout + result.stderr
    # the last-resort handler's line (the parser's own words may say "found unexpected end of stream")
    assert "error: unexpected " not in output and "Traceback" not in output, result
    assert result.exit_code in (0, 1, 2), result
    if result.exit_code:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(("error: ", "The connection to the server")), result
    for secret in SECRETS:
        assert secret not in output, f"a kubeconfig secret reached the output: {result}"


@MUTATION
@given(path=st.sampled_from(PATHS), value=HOSTILE, context=st.sampled_from(CONTEXTS))
def test_any_field_of_any_type(tally, path, value, context):
    with tally.case("kubeconfig: type mutation"):
        doc = copy.deepcopy(BASE)
        _set(doc, path, value)
        _assert_clean(_run(yaml.safe_dump(doc, allow_unicode=True).encode("utf-8"), context))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.floats(min_value=0, max_value=1), junk=st.binary(min_size=1, max_size=8),
       context=st.sampled_from(CONTEXTS))
def test_bytes_that_are_not_yaml_or_not_utf8(tally, position, junk, context):
    with tally.case("kubeconfig: byte mutation"):
        data = yaml.safe_dump(BASE).encode()
        at = int(position * len(data))
        _assert_clean(_run(data[:at] + junk + data[at:], context))


def test_whole_document_shapes(tally):
    for text in ("", "null", "5", "[]", '"str"', "{}", "clusters: 5", "clusters: [null]", "users: [[]]",
                 "contexts: {a: 1}", "kind: Pod", "apiVersion: v9", "---\n---\n", "a: &a [*a]", "\t\x00",
                 "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:1'}}]\ncurrent-context: nope"):
        with tally.case("kubeconfig: document shape"):
            _assert_clean(_run(text.encode(), "c"))

"""kubectl and kubectl-ray, same kubeconfig/flags/environment, same recording servers: same result.

Each case compares what reached the servers (endpoint, namespace, SNI, credential, client
certificate, impersonation, proxies, exec plugin runs and KUBERNETES_EXEC_INFO) and, when both fail,
the class of the error. Deliberate differences are marked in cases.py and listed in README.md.
Whatever a case says, we never present a credential, skip verification or use a proxy where
kubectl does not.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Iterator

import pytest

from tests.differential.cases import CASES, SECRETS
from tests.differential.conftest import IPV6, NAMESPACES, Lab, run_kubectl, run_ours
from tests.differential.harness import Case, Observation

pytestmark = pytest.mark.kubectl

_TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def case_table() -> Iterator[None]:
    yield
    if _TALLY:
        print("\ndifferential suite: " + ", ".join(f"{k}={v}" for k, v in sorted(_TALLY.items())))


def _skip_if_unsupported(case: Case) -> None:
    if (case.hosts or case.service_account is not None) and not NAMESPACES:
        pytest.skip(f"SKIPPED LOUDLY: {case.id} needs a private mount namespace (root and `unshare -m`) so kubectl "
                    "sees the service-account folder or a hosts file")
    if "v6" in repr(case) and not IPV6:
        pytest.skip(f"SKIPPED LOUDLY: {case.id} needs IPv6 loopback (::1), which this machine does not have")


@pytest.mark.parametrize("case", CASES, ids=str)
def test_connects_like_kubectl(lab: Lab, case: Case) -> None:
    _skip_if_unsupported(case)
    kubectl_run, theirs = run_kubectl(lab, case)
    our_run, ours = run_ours(lab, case)
    expected = replace(theirs, **case.ours) if case.deliberate else theirs
    context = f"\nkubectl: {kubectl_run}\nours:    {our_run}\ndifferences (ours, expected): {ours.differences(expected)}"
    _assert_never_less_secure(theirs, ours, context)
    assert ours == expected, context
    assert "unexpected" not in our_run.stderr and "Traceback" not in our_run.stderr, context
    assert not [s for s in SECRETS if s in our_run.stdout + our_run.stderr], "a credential in our output" + context
    if our_run.exit_code:
        assert len(our_run.stderr.strip().splitlines()) == 1, context
        assert our_run.stderr.startswith(("error: ", "The connection to the server", "Error from server")), context
    _TALLY["cases"] += 1
    _TALLY["deliberate differences" if case.deliberate else "matches"] += 1


def _assert_never_less_secure(theirs: Observation, ours: Observation, context: str) -> None:
    """Whatever the case: no credential, no unverified TLS, no proxy kubectl would not use."""
    assert set(ours.credentials) <= set(theirs.credentials), "we presented a credential kubectl did not" + context
    assert set(ours.proxies) <= set(theirs.proxies), "we used a proxy kubectl did not" + context
    if theirs.outcome in ("tls-verify", "tls"):
        assert ours.outcome != "ok", "we accepted a server kubectl rejected" + context

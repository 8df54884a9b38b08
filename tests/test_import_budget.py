"""The hot command lines stay within their import budgets (benchmarks/import_budget.py): which modules
they load, never how long that takes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import import_budget  # noqa: E402

from tests.test_get import default_namespace, ml_team_namespace  # noqa: E402


@pytest.mark.parametrize("budget", import_budget.BUDGETS, ids=lambda b: b.name)
def test_hot_command_stays_within_its_import_budget(emulator, budget):
    emulator.emu.add_all(default_namespace() + ml_team_namespace())
    found = import_budget.imported(budget, emulator.kubeconfig)
    assert found.modules, found.stderr  # -X importtime reported something
    assert import_budget.violations(budget, found) == []


def test_a_budget_catches_a_forbidden_import():
    """The check itself can fail: a command that imports click is over a click-free budget."""
    budget = import_budget.Budget("help", ("--help",), ("click",), max_own=1)
    found = import_budget.Imports([("click", 10), ("click.core", 5), ("kubectl_ray", 1), ("kubectl_ray.cli", 1)], 0, "")
    assert import_budget.violations(budget, found) == [
        "imports click", "imports click.core", "imports 2 kubectl_ray modules (budget 1): kubectl_ray, kubectl_ray.cli"]

"""Rules for the suite itself (issue 15): no test asserts on wall time (measure speed in benchmarks/,
bound hangs with pytest timeouts or bounded waits), so a busy machine can make the suite slower,
never red."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
CLOCKS = {"monotonic", "perf_counter", "time", "monotonic_ns", "perf_counter_ns", "time_ns"}
TIME_NAMES = {"elapsed", "took", "duration", "started", "start"}


def clock_asserts(tree: ast.AST) -> list[int]:
    """Lines of `assert` statements that read a clock or compare a variable named like a duration."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assert):
            continue
        for inner in ast.walk(node.test):
            reads_clock = (isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute)
                           and inner.func.attr in CLOCKS and isinstance(inner.func.value, ast.Name)
                           and inner.func.value.id in ("time", "clock"))
            compares_duration = (isinstance(inner, ast.Compare) and isinstance(inner.left, ast.Name)
                                 and inner.left.id in TIME_NAMES)
            if reads_clock or compares_duration:
                found.append(node.lineno)
                break
    return found


@pytest.mark.parametrize("path", sorted(p for p in TESTS.rglob("*.py") if "emulator" not in p.parts),
                         ids=lambda p: str(p.relative_to(TESTS)))
def test_no_wall_time_asserts(path: Path):
    assert clock_asserts(ast.parse(path.read_text(encoding="utf-8"))) == []


def test_the_checker_finds_them():
    tree = ast.parse("import time\nstart = time.monotonic()\nassert time.monotonic() - start < 1\n"
                     "elapsed = 3\nassert elapsed < 5\nassert len(x) == 2\n")
    assert clock_asserts(tree) == [3, 5]

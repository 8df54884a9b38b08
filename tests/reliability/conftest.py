"""Reliability suite plumbing: every area counts the cases it tried and passed, printed at the end."""

from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager
from typing import Iterator

import pytest

_TALLY: dict[str, list[int]] = defaultdict(lambda: [0, 0])
_NOTES: dict[str, str] = {}  # printed under the tallies, e.g. the seed a randomised suite ran with


class Tally:
    """`with tally.case("faults"): ...` counts one case tried, and passed if the block raised nothing."""

    @contextmanager
    def case(self, area: str) -> Iterator[None]:
        _TALLY[area][0] += 1
        yield
        _TALLY[area][1] += 1

    def note(self, key: str, text: str) -> None:
        _NOTES[key] = text


@pytest.fixture(scope="session")
def tally() -> Tally:
    return Tally()


def pytest_terminal_summary(terminalreporter) -> None:
    if not _TALLY:
        return
    terminalreporter.section("reliability summary")
    for area in sorted(_TALLY):
        tried, passed = _TALLY[area]
        terminalreporter.write_line(f"{area}: {tried} cases tried, {passed} passed")
    for text in _NOTES.values():
        terminalreporter.write_line(text)

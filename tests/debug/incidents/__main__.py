"""The corpus table: every incident through the real `kubectl ray debug`, as a Markdown table.

    python -m tests.debug.incidents            # table of source, expected root cause, first finding
    python -m tests.debug.incidents -v         # and what is wrong with each miss

Runs on 127.0.0.1 only (one API emulator per incident), with the clock frozen like the tests.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.debug.incidents.loader import build, command, incidents, load_into, outcome, verdict


def main(argv: list[str]) -> int:
    from kubectl_ray import printing
    from tests.conftest import FROZEN_NOW, run_cli
    from tests.emulator import Emulator, EmulatorServer, kubeconfig, write_kubeconfig

    printing.now = lambda: FROZEN_NOW  # the one clock the tests freeze
    verbose = "-v" in argv
    rows, right = [], 0
    corpus = incidents()
    with tempfile.TemporaryDirectory() as tmp:
        for incident in corpus:
            emu = Emulator()
            with EmulatorServer(emu) as server:
                path = write_kubeconfig(Path(tmp) / f"{incident.name}.kubeconfig", kubeconfig(server.url))
                w = build(incident)
                load_into(emu, incident, w)
                result = run_cli(*command(incident, w), "--kubeconfig", path)
            found = outcome(result.exit_code, result.stdout, result.stderr)
            problems = verdict(incident, found)
            right += not problems
            first = found.first
            shown = f"{first['id']} ({first['severity']})" if first else "none"
            expect = incident.expect
            rows.append(f"| [{_short(incident.source)}]({incident.source}) | {expect.get('first')} ({expect.get('severity')}), "
                        f"exit {expect['exit']} | {shown}, exit {found.exit_code} | {'pass' if not problems else 'MISS'} |")
            if verbose and problems:
                rows.append(f"|   | {'; '.join(problems)} | {first['title'] if first else ''} | |")
    print("| source | root cause (expected) | first finding | |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    print(f"\n{right}/{len(corpus)} right ({100 * right / len(corpus):.0f}%)")
    return 0


def _short(url: str) -> str:
    parts = url.rstrip("/").split("/")
    return f"{parts[-4]}/{parts[-3]}#{parts[-1]}" if "github.com" in url else url


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

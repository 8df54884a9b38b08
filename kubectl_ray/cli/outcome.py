"""How every command line ends, with or without click: an exit code, and failures as one line on stderr."""

from __future__ import annotations

import os
import sys
from typing import Callable

from kubectl_ray.cli import registry
from kubectl_ray.errors import ExitCode, KubectlRayError, one_line


def guarded(command: Callable[[], object]) -> int:
    """Run a command; turn what it raises (click's own exceptions are handled by the caller) into one line."""
    try:
        result = command()
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except KubectlRayError as exc:
        if registry.DEBUG:
            import traceback

            traceback.print_exc()
        error_line(exc.render())
        return int(exc.exit_code)
    except BrokenPipeError:
        silence_stdout()
        return ExitCode.ERROR
    except Exception as exc:  # noqa: BLE001 - last line of defence: never a traceback by default
        if registry.DEBUG:
            import traceback

            traceback.print_exc()
        error_line(f"error: unexpected {type(exc).__name__}: {one_line(str(exc))} (run with --debug for a traceback)")
        return ExitCode.ERROR
    return int(result) if isinstance(result, int) else ExitCode.OK


def error_line(text: str) -> None:
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass


def silence_stdout() -> None:
    """After EPIPE, point stdout at /dev/null so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass

"""How every command line ends, with or without click: an exit code, and failures as one line on stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable

from kubectl_ray.cli import registry
from kubectl_ray.errors import ExitCode, KubectlRayError, one_line


def guarded(command: Callable[[], object]) -> int:
    """Run a command (click's own exceptions are handled by the caller) with standard output guarded
    (kubectl_ray.stdio): what it raises becomes one line on stderr, a closed pipe a quiet exit."""
    from kubectl_ray.stdio import StdoutFailed, detach_stdout, guarded_stdout

    try:
        with guarded_stdout():
            return _outcome(command)
    except StdoutFailed as exc:  # what was still buffered at the end could not be written
        detach_stdout()
        error_line(exc.render())
        return ExitCode.ERROR
    except BrokenPipeError:
        detach_stdout()
        return ExitCode.ERROR
    except SystemExit as exc:  # click's own answer to EPIPE: it exits 1 (we still quiet the final flush)
        detach_stdout()
        return exc.code if isinstance(exc.code, int) else ExitCode.ERROR


def _outcome(command: Callable[[], object]) -> int:
    from kubectl_ray.stdio import StdoutFailed, detach_stdout

    try:
        result = command()
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except KubectlRayError as exc:
        if isinstance(exc, StdoutFailed):
            detach_stdout()
        if registry.DEBUG:
            print_traceback()
        error_line(exc.render())
        return int(exc.exit_code)
    except BrokenPipeError:
        detach_stdout()
        return ExitCode.ERROR
    except Exception as exc:  # noqa: BLE001 - last line of defence: never a traceback by default
        if registry.DEBUG:
            print_traceback()
        error_line(f"error: unexpected {type(exc).__name__}: {one_line(redacted(str(exc)))} (run with --debug for a traceback)")
        return ExitCode.ERROR
    return int(result) if isinstance(result, int) else ExitCode.OK


def redacted(text: str) -> str:
    """Exception text can quote a credential (a header, a URL, a command line): never print it."""
    from kubectl_ray.debug.redact import redact_text

    return redact_text(text)


def print_traceback() -> None:
    """`--debug`: the traceback of the exception being handled, redacted like any other output."""
    import traceback

    try:
        sys.stderr.write(redacted(traceback.format_exc()))
    except (BrokenPipeError, ValueError):
        pass


def error_line(text: str) -> None:
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass

"""Exit codes and the exception types every layer raises; the CLI renders them as one line."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1  # runtime or API failure (kubectl's DefaultErrorExitCode); `debug`: errors found
    USAGE = 2  # bad flags, arguments or input files
    NOT_RUN = 3  # `debug` could not run its checks
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


class KubectlRayError(Exception):
    """An error the user should see as one line on stderr, never as a traceback."""

    exit_code: int = ExitCode.ERROR
    prefix = "error: "

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code

    def render(self) -> str:
        return self.prefix + one_line(self.message)

    def detail(self) -> str:
        """The rendered line without `error: `, for wrapping into a message that says what was being done."""
        text = self.render()
        return text[len("error: "):] if text.startswith("error: ") else text


class UsageError(KubectlRayError):
    """Invalid flags, arguments or input files, found before anything is written."""

    exit_code = ExitCode.USAGE


class Interrupted(KubectlRayError):
    """Ctrl-C; the message says what was cleaned up."""

    exit_code = ExitCode.INTERRUPTED


def one_line(text: str) -> str:
    """Collapse a multi-line message into one line so scripts can grep stderr."""
    parts = [p.strip() for p in str(text).splitlines() if p.strip()]
    return "; ".join(parts) if parts else str(text)

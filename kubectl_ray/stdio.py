"""Standard output that fails in one line: a full disk (`> /dev/full`), a file too big (EFBIG), a closed
pipe (`| head -1`).

While a command runs, sys.stdout is a `GuardedStdout`: a write or flush that fails raises StdoutFailed
(`error: cannot write to standard output: No space left on device`, exit 1) instead of an OSError
from deep inside a printer; a closed pipe stays a BrokenPipeError, which the root handler ends quietly
as kubectl does. Either way stdout is then pointed at /dev/null, so the interpreter's final flush of
what was still buffered cannot fail a second time (Python would print `Exception ignored ...`).

Kept free of heavy imports: `kubectl ray --help` uses it.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from contextlib import contextmanager
from collections.abc import Iterator  # not typing: `kubectl ray --help` must not pay for it

from kubectl_ray.errors import KubectlRayError


class StdoutFailed(KubectlRayError):
    """Standard output cannot be written (not a closed pipe: that is BrokenPipeError). `path` is where
    it goes (a file or device, else "standard output"), `reason` why it failed."""

    def __init__(self, exc: OSError) -> None:
        self.path = stdout_path()
        self.reason = write_error_reason(exc)  # debug names both: `cannot write the report to /dev/full: ...`
        super().__init__(f"cannot write to standard output: {exc.strerror or exc}")


def _failed(exc: OSError) -> StdoutFailed:
    return StdoutFailed(exc)


def write_error_reason(exc: OSError) -> str:
    return "no space left on the device" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else exc.strerror or str(exc)


def stdout_path() -> str:
    """The file or device standard output writes to (Linux), else "standard output"."""
    try:
        return os.readlink(f"/proc/self/fd/{sys.stdout.fileno()}")
    except (OSError, ValueError, AttributeError):
        return "standard output"


class GuardedStdout:
    """A text (or, as `.buffer`, binary) stream whose failures are StdoutFailed or BrokenPipeError.

    With an unbuffered stdout (python -u, PYTHONUNBUFFERED) the text layer writes straight to the file
    and ignores a short write (a disk that filled up mid-write), losing the rest silently; there the
    bytes are written here until all are taken or the system says why not."""

    def __init__(self, stream: "io.TextIOBase | io.FileIO") -> None:
        self._stream = stream
        raw = stream if isinstance(stream, io.FileIO) else getattr(stream, "buffer", None)
        self._raw = raw if isinstance(raw, io.FileIO) else None

    def write(self, data: "str | bytes") -> int:
        try:
            if self._raw is None:
                return self._stream.write(data)
            payload = data.encode(self._stream.encoding, self._stream.errors or "strict") if isinstance(data, str) \
                else bytes(data)
            _write_all(self._raw, payload)
            return len(data)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _failed(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _failed(exc) from None

    @property
    def buffer(self) -> "GuardedStdout":
        return GuardedStdout(self._stream.buffer)

    def __getattr__(self, name: str) -> object:  # encoding, isatty, fileno, ...: the real stream's
        return getattr(self._stream, name)


@contextmanager
def guarded_stdout() -> Iterator[None]:
    """sys.stdout guarded while the block runs; what is buffered is flushed at its end (still guarded)."""
    real = sys.stdout
    if isinstance(real, GuardedStdout):
        yield
        return
    sys.stdout = GuardedStdout(real)  # type: ignore[assignment]
    try:
        yield
        sys.stdout.flush()
    finally:
        sys.stdout = real


def _write_all(raw: io.FileIO, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        written = raw.write(view)
        if not written:  # only a non-blocking stdout answers None; nothing written means no progress
            raise OSError(errno.EAGAIN, "standard output takes no more data")
        view = view[written:]


def write_stdout(text: str) -> None:
    """Write and flush now, so a failure is seen at this line of output, not at exit."""
    with guarded_stdout():
        sys.stdout.write(text)
        sys.stdout.flush()


def detach_stdout() -> None:
    """After a failed write, point stdout at /dev/null so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass

"""Extract a tar stream from a pod without letting it write anywhere else: kubectl cp's rules, streamed.

    extractor = TarExtractor(dest, on_skip=print, on_failure=print)
    for piece in chunks:            # bytes or memoryviews, as they arrive from the network
        extractor.feed(piece)
    result = extractor.finish()     # ExtractResult; UnsafeTarError if the archive is corrupt or cut short

The archive comes from a container, so it is untrusted (CVE-2019-1002101, -11246, -11249, -11251 were
all `kubectl cp` following a malicious container's tar out of the destination). Rules, as kubectl
>= 1.16 applies them, plus a few more:

- absolute names (`/etc/passwd`) are skipped, not re-rooted;
- names are normalised (`\\` counts as `/`, as kubectl does) and skipped if they leave the
  destination (`../x`, `a/../../x`); `a/../b` stays inside and is written as `b`;
- every symbolic link and hard link is skipped, whatever it points at, so no later entry can be
  written through one;
- devices, fifos and other special entries are skipped;
- before each write the parent directory's real path (symlinks resolved) must still be inside the
  destination's real path (os.path.commonpath), and the file is opened with O_NOFOLLOW after any
  symlink already at that name was removed, so links that exist in the destination before the run
  are never followed either;
- files are truncated when opened, so a shorter new file leaves no stale tail; modes from the
  archive are not used (0644/0755);
- sparse entries (GNU 'S', PAX 0.0, 0.1 and 1.0) stay sparse: their data segments are written at
  their offsets and the holes are never written, so a 1 TB entry holding 1 KB of data costs 1 KB.

Three kinds of trouble, three outcomes:
- an unsafe entry (above) is skipped and reported through `on_skip`: the pod did something odd,
  the download is still complete;
- an entry that cannot be written here (a name too long for the file system, a name that collides
  with a directory, a file or an earlier entry of the same archive, no permission, a sparse map
  that does not add up) is skipped and reported through `on_failure`, and the rest goes on: the
  caller counts it as a failure;
- the disk itself failing (no space, quota, I/O error, file too large, read-only) raises DiskError
  naming the local path, after removing the partial file: nothing after it could be written either.

Parsing is incremental (`feed` takes any piece of the stream), so memory stays flat whatever the
archive size and file data goes from the network buffer to os.write without a copy. Pure
file-system logic: no network, no clock.
"""

from __future__ import annotations

import errno
import os
import posixpath
import re
import stat
import sys
import tarfile
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterable

BLOCK = 512
CHUNK = 1 << 20
FILE_MODE = 0o644
DIR_MODE = 0o755
MAX_META_BYTES = 1 << 20  # a long name or pax header larger than this is not from a log folder
MAX_SPARSE_SEGMENTS = 100_000
# Every level costs system calls that walk the whole path: a deeper path is not a log folder, and
# thousands of levels would make one small entry cost seconds.
MAX_DEPTH = 64
ENCODING = sys.getfilesystemencoding()
# The disk, not the entry: nothing later could be written either, so the whole download stops.
DISK_ERRNOS = frozenset(getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EIO", "EFBIG", "EROFS")
                        if hasattr(errno, name))
_META_TYPES = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE,
               tarfile.SOLARIS_XHDTYPE)
_FILE_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE, tarfile.GNUTYPE_SPARSE)
_NO_DATA_TYPES = (tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE,
                  tarfile.DIRTYPE)


class UnsafeTarError(Exception):
    """The stream is not a readable tar archive (corrupt or truncated)."""


class UnsafePath(Exception):
    """A write would leave the destination (through a symlink)."""


class EntryFailed(Exception):
    """This entry cannot be written here (a name collision, an invalid sparse map)."""


class DiskError(Exception):
    """Writing failed because of the disk (full, quota, I/O error, file too large, read-only)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot write {path}: {reason}")
        self.path = path
        self.reason = reason


def is_disk_error(exc: OSError) -> bool:
    return exc.errno in DISK_ERRNOS


def disk_error(exc: OSError, path: str) -> DiskError:
    return DiskError(path, exc.strerror or str(exc))


@dataclass
class ExtractResult:
    files: int = 0
    dirs: int = 0
    bytes: int = 0
    skipped: list[str] = field(default_factory=list)  # unsafe entries
    failed: list[str] = field(default_factory=list)  # entries that could not be written


def extract_stream(stream: IO[bytes], dest: str, on_skip: Callable[[str], None] | None = None,
                   on_failure: Callable[[str], None] | None = None) -> ExtractResult:
    """Extract a whole tar stream (a file object) into `dest` (created if missing)."""
    extractor = TarExtractor(dest, on_skip, on_failure)
    try:
        while True:
            chunk = stream.read(CHUNK)
            if not chunk:
                break
            extractor.feed(chunk)
    except BaseException:
        extractor.close()
        raise
    return extractor.finish()


# --- the parser -----------------------------------------------------------------------------------------


@dataclass
class _Entry:
    name: str
    type: bytes
    size: int  # bytes of data in the archive
    linkname: str = ""
    sparse: list[tuple[int, int]] | None = None  # (offset, length) of each data segment
    real_size: int = 0  # of a sparse file


class TarExtractor:
    """An incremental tar extractor: `feed` pieces of the stream, then `finish` (or `close` on failure)."""

    def __init__(self, dest: str, on_skip: Callable[[str], None] | None = None,
                 on_failure: Callable[[str], None] | None = None) -> None:
        try:
            os.makedirs(dest, mode=DIR_MODE, exist_ok=True)
        except OSError as exc:
            if is_disk_error(exc):
                raise disk_error(exc, dest) from None
            raise
        self.root = os.path.realpath(dest)
        self.result = ExtractResult()
        self.received = 0
        self._on_skip = on_skip
        self._on_failure = on_failure
        self._block = bytearray()
        self._on_block: Callable[[bytes], None] = self._header
        self._remaining = 0  # data bytes of the current entry still to come
        self._padding = 0
        self._sink: Any = _DISCARD
        self._on_data_end: Callable[[], None] = _nothing
        self._ended = False
        self._current = ""  # the entry being read, for "truncated in the middle of ..."
        self._long_name: str | None = None
        self._long_link: str | None = None
        self._pax: list[tuple[str, str]] = []
        self._written: set[tuple[int, int]] = set()  # (device, inode) of every file this archive wrote

    # --- input ------------------------------------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        view = data if isinstance(data, memoryview) else memoryview(data)
        self.received += len(view)
        while view and not self._ended:
            if self._remaining:
                take = min(self._remaining, len(view))
                self._sink.write(view[:take])
                self._remaining -= take
                view = view[take:]
                if not self._remaining:
                    self._end_data()
            elif self._padding:
                take = min(self._padding, len(view))
                self._padding -= take
                view = view[take:]
            elif not self._block and len(view) >= BLOCK:
                block, view = view[:BLOCK].tobytes(), view[BLOCK:]
                self._on_block(block)
            else:
                take = BLOCK - len(self._block)
                self._block += view[:take]
                view = view[take:]
                if len(self._block) == BLOCK:
                    block = bytes(self._block)
                    self._block.clear()
                    self._on_block(block)

    def finish(self) -> ExtractResult:
        """The result; UnsafeTarError if the stream stopped in the middle of an entry or header."""
        pending = self._long_name is not None or self._long_link is not None or self._pax
        middle = self._remaining or self._padding or self._block or self._on_block != self._header or pending
        self.close()
        if middle and not self._ended:
            where = f" in the middle of {self._current!r}" if self._current else ""
            raise UnsafeTarError(f"the archive is corrupt or truncated: it ends{where}")
        return self.result

    def close(self) -> None:
        """Stop: an open file keeps what it received (finish() says it is incomplete)."""
        self._sink.close()
        self._sink = _DISCARD

    def abort(self) -> None:
        """Stop and remove a partly written file (Ctrl-C, or a failure elsewhere)."""
        self._sink.discard()
        self._sink = _DISCARD

    # --- blocks -----------------------------------------------------------------------------------

    def _expect_data(self, size: int, sink: Any, on_end: Callable[[], None]) -> None:
        self._remaining, self._padding = size, -size % BLOCK
        self._sink, self._on_data_end = sink, on_end
        if not size:
            self._end_data()

    def _end_data(self) -> None:
        on_end, self._on_data_end = self._on_data_end, _nothing
        on_end()

    def _header(self, block: bytes) -> None:
        if not block.strip(b"\0"):
            self._ended = True  # the end-of-archive marker; what follows is padding
            return
        try:
            info = tarfile.TarInfo.frombuf(block, ENCODING, "surrogateescape")
        except tarfile.HeaderError as exc:
            raise UnsafeTarError(f"the archive is corrupt or truncated: {exc}") from None
        self._current = info.name
        if info.size < 0:  # base-256 numbers can be negative
            raise UnsafeTarError(f"the archive is corrupt: {info.name!r} has a negative size")
        if info.type in _META_TYPES:
            if info.size > MAX_META_BYTES:
                raise UnsafeTarError(f"the archive is corrupt: an extended header of {info.size} bytes")
            collected = _Collect()
            self._expect_data(info.size, collected, lambda: self._meta(info.type, bytes(collected.data)))
            return
        entry = self._entry_from(info)
        sparse = getattr(info, "_sparse_structs", None)
        if info.type == tarfile.GNUTYPE_SPARSE and sparse is not None:
            segments, extended, real_size = sparse
            entry.sparse, entry.real_size = list(segments), real_size
            if extended:
                self._on_block = lambda block: self._gnu_sparse_block(entry, block)
                return
        self._start(entry)

    def _entry_from(self, info: tarfile.TarInfo) -> _Entry:
        """The entry with GNU long names and pax records applied (then forgotten)."""
        entry = _Entry(info.name, info.type, info.size, info.linkname)
        if self._long_name is not None:
            entry.name = self._long_name
        if self._long_link is not None:
            entry.linkname = self._long_link
        records = dict(self._pax)
        entry.name = records.get("GNU.sparse.name", records.get("path", entry.name))
        entry.linkname = records.get("linkpath", entry.linkname)
        if "size" in records:
            entry.size = _number(records["size"], "size")
        if "GNU.sparse.map" in records:  # PAX sparse 0.1
            numbers = [_number(n, "GNU.sparse.map") for n in records["GNU.sparse.map"].split(",") if n]
            entry.sparse = list(zip(numbers[::2], numbers[1::2]))
        elif "GNU.sparse.offset" in records:  # PAX sparse 0.0: the pairs repeat
            offsets = [_number(v, k) for k, v in self._pax if k == "GNU.sparse.offset"]
            lengths = [_number(v, k) for k, v in self._pax if k == "GNU.sparse.numbytes"]
            entry.sparse = list(zip(offsets, lengths))
        elif records.get("GNU.sparse.major") == "1":  # PAX sparse 1.0: the map opens the data
            entry.sparse = []
        if entry.sparse is not None:
            entry.real_size = _number(records.get("GNU.sparse.realsize", records.get("GNU.sparse.size", "0")),
                                      "GNU.sparse.size")
        if info.isdir():
            entry.name = entry.name.rstrip("/") or entry.name
        self._long_name = self._long_link = None
        self._pax = []
        self._current = entry.name
        return entry

    def _meta(self, kind: bytes, data: bytes) -> None:
        if kind == tarfile.GNUTYPE_LONGNAME:
            self._long_name = tarfile.nts(data, ENCODING, "surrogateescape")
        elif kind == tarfile.GNUTYPE_LONGLINK:
            self._long_link = tarfile.nts(data, ENCODING, "surrogateescape")
        elif kind in (tarfile.XHDTYPE, tarfile.SOLARIS_XHDTYPE):
            self._pax = _pax_records(data)
        # a global pax header (XGLTYPE) carries nothing a log folder needs

    def _gnu_sparse_block(self, entry: _Entry, block: bytes) -> None:
        """An old-GNU sparse extension block: up to 21 more segments, then a 'more follow' flag."""
        assert entry.sparse is not None
        for position in range(0, 21 * 24, 24):
            try:
                offset = tarfile.nti(block[position:position + 12])
                length = tarfile.nti(block[position + 12:position + 24])
            except (ValueError, tarfile.HeaderError):
                break
            if length and len(entry.sparse) <= MAX_SPARSE_SEGMENTS:
                entry.sparse.append((offset, length))
        if not block[504]:
            self._on_block = self._header
            self._start(entry)

    def _sparse_map_block(self, entry: _Entry, numbers: list[int], text: bytearray, block: bytes) -> None:
        """PAX sparse 1.0: decimal numbers, one per line (a count, then offset/length pairs), padded to 512."""
        assert entry.sparse is not None
        entry.size -= BLOCK
        text += block
        *lines, rest = bytes(text).split(b"\n")
        text[:] = rest
        for line in lines:
            numbers.append(_number(line.decode("ascii", "replace"), "GNU.sparse map"))
            if len(numbers) > 2 * MAX_SPARSE_SEGMENTS + 1 or len(text) > BLOCK:
                raise UnsafeTarError(f"the archive is corrupt: the sparse map of {entry.name!r} is too long")
            if len(numbers) == 2 * numbers[0] + 1:
                entry.sparse = list(zip(numbers[1::2], numbers[2::2]))
                self._on_block = self._header
                self._start(entry, map_read=True)
                return
        if entry.size < 0:
            raise UnsafeTarError(f"the archive is corrupt: the sparse map of {entry.name!r} is cut short")

    # --- entries ----------------------------------------------------------------------------------

    def _start(self, entry: _Entry, map_read: bool = False) -> None:
        if entry.sparse == [] and not map_read and entry.type not in _NO_DATA_TYPES:
            self._on_block = lambda block: self._sparse_map_block(entry, [], bytearray(), block)
            return
        if entry.type not in _FILE_TYPES:
            self._special(entry)
            has_data = entry.type not in _NO_DATA_TYPES
            self._expect_data(entry.size if has_data else 0, _DISCARD, _nothing)
            return
        sink = self._open(entry)
        self._expect_data(entry.size, sink, lambda: self._close_file(entry, sink))

    def _special(self, entry: _Entry) -> None:
        if entry.type == tarfile.DIRTYPE:
            self._make_dir(entry)
        elif entry.type in (tarfile.SYMTYPE, tarfile.LNKTYPE):
            kind = "symlink" if entry.type == tarfile.SYMTYPE else "hard link"
            self._skip(f"skipping {kind} {entry.name!r} -> {entry.linkname!r}")
        else:
            self._skip(f"skipping {_special_kind(entry.type)} {entry.name!r}")

    def _target(self, entry: _Entry) -> str | None:
        relative = safe_relative_path(entry.name)
        if relative is None:
            where = "absolute path" if _is_absolute(entry.name) else "path outside the destination"
            self._skip(f"skipping {where} {entry.name!r}")
            return None
        if relative.count("/") >= MAX_DEPTH:
            self._fail(f"cannot write {entry.name!r}: it is more than {MAX_DEPTH} directories deep; skipped")
            return None
        return os.path.join(self.root, relative) if relative != "." else self.root

    def _make_dir(self, entry: _Entry) -> None:
        target = self._target(entry)
        if target is None or target == self.root:
            return
        if self._guard(entry, target, lambda: make_dirs_inside(self.root, target) or True):
            self.result.dirs += 1

    def _open(self, entry: _Entry) -> Any:
        """A FileWriter for the entry, or a discarding sink if it is skipped."""
        target = self._target(entry)
        if target is None:
            return _DISCARD
        problem = None
        if entry.sparse is not None:
            # Empty segments carry no data: GNU tar ends a map with one at the real size, unused header slots read 0,0.
            entry.sparse = [(offset, length) for offset, length in entry.sparse if length]
            problem = _sparse_problem(entry)
        if problem:
            self._fail(f"cannot write {entry.name!r}: {problem}; skipped")
            return _DISCARD

        def open_it() -> FileWriter:
            make_dirs_inside(self.root, os.path.dirname(target))
            return FileWriter(self.root, target, entry.sparse, self._written)

        writer = self._guard(entry, target, open_it)
        return writer if writer is not None else _DISCARD

    def _close_file(self, entry: _Entry, sink: Any) -> None:
        if not isinstance(sink, FileWriter):
            return
        self._sink = _DISCARD
        try:
            sink.finish(entry.real_size if entry.sparse is not None else None)
        except EntryFailed as exc:
            self._fail(f"cannot write {entry.name!r}: {exc}; skipped")
            return
        self.result.files += 1
        self.result.bytes += sink.written

    def _guard(self, entry: _Entry, target: str, action: Callable[[], Any]) -> Any:
        """Run a file-system step for an entry: skip unsafe ones, count failures, stop on disk errors."""
        try:
            return action()
        except UnsafePath as exc:
            self._skip(f"skipping {entry.name!r}: {exc}")
        except EntryFailed as exc:
            self._fail(f"cannot write {entry.name!r}: {exc}; skipped")
        except OSError as exc:
            if is_disk_error(exc):
                raise disk_error(exc, exc.filename or target) from None
            self._fail(f"cannot write {entry.name!r}: {exc.strerror or exc}; skipped")
        return None

    def _skip(self, message: str) -> None:
        self.result.skipped.append(message)
        if self._on_skip is not None:
            self._on_skip(message)

    def _fail(self, message: str) -> None:
        self.result.failed.append(message)
        if self._on_failure is not None:
            self._on_failure(message)


def _sparse_problem(entry: _Entry) -> str | None:
    """Why a sparse map cannot describe this entry's data, or None."""
    segments = entry.sparse or []
    if len(segments) > MAX_SPARSE_SEGMENTS:
        return f"its sparse map has more than {MAX_SPARSE_SEGMENTS} segments"
    end = 0
    for offset, length in segments:
        if offset < end or length < 0:
            return "its sparse map has overlapping or unordered segments"
        end = offset + length
    if end > entry.real_size or entry.real_size < 0 or sum(length for _, length in segments) != entry.size:
        return "its sparse map does not match its size"
    return None


def _number(text: str, what: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise UnsafeTarError(f"the archive is corrupt: {what} is not a number") from None
    if value < 0:
        raise UnsafeTarError(f"the archive is corrupt: {what} is negative")
    return value


_PAX_RECORD = re.compile(rb"(\d+) ")


def _pax_records(data: bytes) -> list[tuple[str, str]]:
    """`LENGTH KEY=VALUE\\n` records, in order (sparse 0.0 repeats its keys)."""
    records, position = [], 0
    while position < len(data) and data[position:position + 1] != b"\0":
        match = _PAX_RECORD.match(data, position)
        length = int(match.group(1)) if match else 0
        record = data[match.end():position + length] if match else b""
        if not match or length < len(match.group(0)) + 2 or position + length > len(data) or \
                not record.endswith(b"\n") or b"=" not in record:
            raise UnsafeTarError("the archive is corrupt: a malformed pax header")
        key, value = record[:-1].split(b"=", 1)
        records.append((key.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape")))
        position += length
    return records


def _special_kind(kind: bytes) -> str:
    names = {tarfile.CHRTYPE: "character device", tarfile.BLKTYPE: "block device", tarfile.FIFOTYPE: "fifo"}
    return names.get(kind, f"unsupported entry (type {kind!r})")


def _nothing() -> None:
    pass


class _Discard:
    def write(self, data: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def discard(self) -> None:
        pass


_DISCARD = _Discard()


class _Collect(_Discard):
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: Any) -> None:
        self.data += data


# --- paths --------------------------------------------------------------------------------------------


def _is_absolute(name: str) -> bool:
    normalised = name.replace("\\", "/")
    return normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":" and normalised[0].isalpha())


def safe_relative_path(name: str) -> str | None:
    """The entry's path relative to the destination, or None if it is absolute or escapes it."""
    normalised = name.replace("\\", "/")
    if _is_absolute(normalised) or "\x00" in normalised:
        return None
    cleaned = posixpath.normpath(normalised)
    if cleaned == ".." or cleaned.startswith("../") or cleaned.startswith("/"):
        return None
    return cleaned


def is_inside(root: str, path: str) -> bool:
    """Whether `path`'s real location is `root` or below it (root must already be a real path)."""
    real = os.path.realpath(path)
    try:
        return os.path.commonpath([root, real]) == root
    except ValueError:  # different drives (Windows)
        return False


def make_dirs_inside(root: str, directory: str) -> None:
    """Create `directory` under `root` one level at a time, never through a symlink that leads out.

    UnsafePath for a link out, EntryFailed for a file in the way, OSError for the rest.
    """
    relative = os.path.relpath(directory, root)
    if relative == ".":
        return
    current = root  # always a real directory inside root: each step costs O(1) system calls, not O(depth)
    for part in relative.split(os.sep):
        step = os.path.join(current, part)
        try:
            os.mkdir(step, DIR_MODE)
        except FileExistsError:
            pass
        info = os.lstat(step)
        if stat.S_ISLNK(info.st_mode):  # one that already existed: follow it only if it stays inside
            if not is_inside(root, step):
                raise UnsafePath(f"{os.path.relpath(step, root)!r} is a symlink that leads outside the destination")
            step = os.path.realpath(step)
        if not os.path.isdir(step):
            raise EntryFailed(f"{os.path.relpath(step, root)!r} exists and is not a directory")
        current = step


class FileWriter:
    """A file written inside `root`: truncated, never through a symlink, removed if the disk fails.

    `sparse` (offset, length) segments place the incoming data; the holes are never written.
    `written_inodes` catches two writes to one file in a run (duplicate names, or names a
    case-insensitive file system folds together).
    """

    def __init__(self, root: str, path: str, sparse: list[tuple[int, int]] | None = None,
                 written_inodes: set[tuple[int, int]] | None = None) -> None:
        self.path = path
        self.written = 0
        self._segments = list(sparse) if sparse is not None else None
        self._segment_left = 0
        if not is_inside(root, os.path.dirname(path)):
            raise UnsafePath("its directory leads outside the destination")
        self._fd = _open_no_follow(path, written_inodes)
        try:
            info = os.fstat(self._fd)
        except OSError:
            self.discard()
            raise
        if written_inodes is not None:
            written_inodes.add((info.st_dev, info.st_ino))

    def write(self, data: Any) -> None:
        try:
            if self._segments is None:
                self._write_all(data)
            else:
                self._write_sparse(data)
        except OSError as exc:  # the file is open and writable: a failing write is the disk's
            self.discard()
            raise disk_error(exc, self.path) from None

    def _write_all(self, data: Any) -> None:
        view = data if isinstance(data, memoryview) else memoryview(data)
        while view:
            count = os.write(self._fd, view)
            self.written += count
            view = view[count:]

    def _write_sparse(self, data: Any) -> None:
        view = data if isinstance(data, memoryview) else memoryview(data)
        assert self._segments is not None
        while view:
            if not self._segment_left:
                offset, self._segment_left = self._segments.pop(0)
                os.lseek(self._fd, offset, os.SEEK_SET)
                continue
            take = min(self._segment_left, len(view))
            self._write_all(view[:take])
            self._segment_left -= take
            view = view[take:]

    def finish(self, size: int | None = None) -> None:
        """Close; a sparse file is extended to its real size (the trailing hole)."""
        if self._fd < 0:
            return
        try:
            if size is not None:
                os.ftruncate(self._fd, size)
            os.close(self._fd)
            self._fd = -1
        except OSError as exc:
            self.discard()
            if exc.errno in (errno.EFBIG, errno.EINVAL) and size is not None:
                raise EntryFailed(f"its size ({size} bytes) is more than this file system allows") from None
            raise disk_error(exc, self.path) if is_disk_error(exc) else exc from None

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def discard(self) -> None:
        self.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def _open_no_follow(path: str, written_inodes: set[tuple[int, int]] | None) -> int:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            os.unlink(path)  # replace the link itself; its target is never touched
        elif stat.S_ISDIR(info.st_mode):
            raise EntryFailed("a directory with that name exists")
        elif not stat.S_ISREG(info.st_mode):
            raise EntryFailed("a special file with that name exists")
        elif written_inodes is not None and (info.st_dev, info.st_ino) in written_inodes:
            raise EntryFailed("an earlier entry of the archive was written to the same file")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        return os.open(path, flags, FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePath("a symlink appeared at that name") from None
        raise


def write_file_inside(root: str, path: str, chunks: Iterable[Any]) -> int:
    """Write `chunks` to `path` inside `root` (see FileWriter); returns the byte count.

    A disk failure removes the file (DiskError); if the chunks themselves fail (a dropped
    connection), what arrived so far stays and the exception propagates.
    """
    writer = FileWriter(root, path)
    try:
        for chunk in chunks:
            writer.write(chunk)
    except BaseException:
        writer.close()
        raise
    writer.finish()
    return writer.written

"""Safe streaming tar extraction (kubectl_ray/safetar.py): kubectl cp's TestUntar cases and malicious streams."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from kubectl_ray.safetar import UnsafeTarError, extract_stream, safe_relative_path


# --- building archives -------------------------------------------------------------------------------


def entry(name: str, kind: str = "file", data: bytes = b"", link: str = "", mode: int = 0o644) -> tuple:
    return (name, kind, data, link, mode)


def build_tar(entries: list[tuple], fmt: int = tarfile.GNU_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as archive:
        for name, kind, data, link, mode in entries:
            info = tarfile.TarInfo(name)
            info.mode = mode
            info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                         "hardlink": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE,
                         "fifo": tarfile.FIFOTYPE}[kind]
            info.linkname = link
            if kind == "file":
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            else:
                archive.addfile(info)
    return buf.getvalue()


def extract(data: bytes, dest: Path) -> tuple[object, list[str]]:
    skipped: list[str] = []
    result = extract_stream(io.BytesIO(data), str(dest), skipped.append)
    return result, skipped


def tree(root: Path, exclude: Path | None = None) -> dict[str, str]:
    """Every path under root (not following links) with what it is; files with a hash of their content."""
    found: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        if exclude is not None and (here == exclude or exclude in here.parents):
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            path = here / name
            if exclude is not None and path == exclude:
                continue
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                found[str(path.relative_to(root))] = "link->" + os.readlink(path)
            elif stat.S_ISDIR(info.st_mode):
                found[str(path.relative_to(root))] = "dir"
            else:
                found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[Path, Path]:
    """(sandbox, dest): dest = sandbox/out/pod; things 'outside' live elsewhere in the sandbox."""
    dest = tmp_path / "sandbox" / "out" / "pod"
    dest.mkdir(parents=True)
    (tmp_path / "sandbox" / "victim.txt").write_text("original\n")
    (tmp_path / "sandbox" / "outside-dir").mkdir()
    return tmp_path / "sandbox", dest


# --- kubectl's TestUntar, with this project's stricter rule for absolute paths ---------------------------


def test_untar_cases_ported_from_kubectl(sandbox):
    box, dest = sandbox
    basedir, testdir = str(dest), str(box)
    files = [  # (path in the tar, where it must end up relative to dest, or None for skipped)
        (os.path.join(basedir, "abs"), None),  # kubectl re-roots absolute names; we skip them
        (os.path.join(testdir, "abs-out"), None),
        (os.path.join(basedir, "nested/nest-abs"), None),
        (os.path.join(basedir, "nested/../../nest-abs-out"), None),
        ("relative", "relative"),
        ("../unrelative", None),
        ("..\\unrelative-win", None),
        ("nested/nest-rel", "nested/nest-rel"),
        ("nested/../../nest-unrelative", None),
        ("nested\\..\\..\\nest-unrelative", None),
        ("nested/../stays-inside", "stays-inside"),
    ]
    entries = [entry(path, data=path.encode()) for path, _ in files]
    links = []
    for path, expected in files:
        links += [entry(path + "-innerlink", "symlink", link="link-target"),
                  entry(path + "-innerlink-abs", "symlink", link=os.path.join(basedir, "link-target")),
                  entry(path + "-backlink", "symlink", link=os.path.join("..", "link-target")),
                  entry(path + "-outerlink-abs", "symlink", link=os.path.join(testdir, "link-target"))]
        if expected:
            outer = os.path.relpath(testdir, os.path.join(basedir, os.path.dirname(expected)))
            links.append(entry(path + "-outerlink", "symlink", link=os.path.join(outer, "link-target")))
    entries += links + [entry("dir/", "dir", mode=0o755), entry("link-target", data=b"target")]
    before = tree(box, exclude=dest)

    result, skipped = extract(build_tar(entries), dest)

    assert tree(box, exclude=dest) == before, "something was written outside the destination"
    assert tree(dest) == {
        "relative": hashlib.sha256(b"relative").hexdigest(),
        "nested": "dir",
        "nested/nest-rel": hashlib.sha256(b"nested/nest-rel").hexdigest(),
        "stays-inside": hashlib.sha256(b"nested/../stays-inside").hexdigest(),
        "dir": "dir",
        "link-target": hashlib.sha256(b"target").hexdigest(),
    }
    for path, expected in files:
        if expected is None:
            assert any(repr(path) in line for line in skipped), f"{path} not reported as skipped"
    for name, _, _, link, _ in links:
        assert f"skipping symlink {name!r} -> {link!r}" in skipped
    assert len(skipped) == sum(1 for _, e in files if e is None) + len(links)
    assert (result.files, result.dirs) == (4, 1)


# --- the malicious streams of issue 6 ----------------------------------------------------------------------


MALICIOUS = {
    "absolute path": ([entry("/ABS/victim.txt", data=b"pwned")], ["skipping absolute path '/ABS/victim.txt'"]),
    "dot-dot escape": ([entry("../../victim.txt", data=b"pwned")],
                       ["skipping path outside the destination '../../victim.txt'"]),
    "nested dot-dot escape": ([entry("logs/../../x", data=b"pwned")],
                              ["skipping path outside the destination 'logs/../../x'"]),
    "windows dot-dot escape": ([entry("..\\..\\victim.txt", data=b"pwned")],
                               ["skipping path outside the destination '..\\\\..\\\\victim.txt'"]),
    "symlink to /etc": ([entry("etc", "symlink", link="/etc"), entry("etc/kubectl-ray-pwned", data=b"pwned")],
                        ["skipping symlink 'etc' -> '/etc'"]),
    "symlink then file through it": ([entry("evil", "symlink", link="ABS/outside-dir"),
                                      entry("evil/pwned.txt", data=b"pwned")],
                                     ["skipping symlink 'evil' -> 'ABS/outside-dir'"]),
    "relative symlink then file through it": ([entry("up", "symlink", link="../.."),
                                               entry("up/victim.txt", data=b"pwned")],
                                              ["skipping symlink 'up' -> '../..'"]),
    "hard link outside": ([entry("h", "hardlink", link="../../victim.txt")],
                          ["skipping hard link 'h' -> '../../victim.txt'"]),
    "hard link to /etc/passwd": ([entry("passwd", "hardlink", link="/etc/passwd")],
                                 ["skipping hard link 'passwd' -> '/etc/passwd'"]),
    "character device": ([entry("dev/null", "chr")], ["skipping character device 'dev/null'"]),
    "block device": ([entry("sda", "blk")], ["skipping block device 'sda'"]),
    "fifo": ([entry("pipe", "fifo")], ["skipping fifo 'pipe'"]),
}


@pytest.mark.parametrize("case", sorted(MALICIOUS))
def test_malicious_stream_writes_nothing_outside_and_names_each_skipped_entry(sandbox, case):
    box, dest = sandbox
    entries, expected_skips = MALICIOUS[case]
    entries = [(n.replace("ABS", str(box)), k, d, link.replace("ABS", str(box)), m) for n, k, d, link, m in entries]
    expected_skips = [line.replace("ABS", str(box)) for line in expected_skips]
    before = tree(box, exclude=dest)
    etc_before = set(os.listdir("/etc"))

    _, skipped = extract(build_tar(entries + [entry("raylet.out", data=b"ok\n")]), dest)

    assert tree(box, exclude=dest) == before
    assert set(os.listdir("/etc")) == etc_before
    assert skipped == expected_skips
    assert (dest / "raylet.out").read_bytes() == b"ok\n"  # the good entry after the bad one still lands
    assert not any(os.path.islink(os.path.join(d, n)) for d, ds, fs in os.walk(dest) for n in ds + fs)


def test_file_through_a_skipped_symlink_lands_inside_as_a_plain_directory(sandbox):
    """kubectl's behaviour: with the link skipped, `evil/pwned.txt` is an ordinary path in the pod folder."""
    box, dest = sandbox
    extract(build_tar([entry("evil", "symlink", link=str(box / "outside-dir")), entry("evil/pwned.txt", data=b"x")]),
            dest)
    assert (dest / "evil").is_dir() and not (dest / "evil").is_symlink()
    assert (dest / "evil" / "pwned.txt").read_bytes() == b"x"
    assert list((box / "outside-dir").iterdir()) == []


# --- links that already exist in the destination are not followed ---------------------------------------


def test_existing_symlinked_directory_inside_dest_is_not_followed(sandbox):
    box, dest = sandbox
    os.symlink(box / "outside-dir", dest / "logs")
    before = tree(box, exclude=dest)
    _, skipped = extract(build_tar([entry("logs/raylet.out", data=b"pwned"), entry("./logs/", "dir")]), dest)
    assert tree(box, exclude=dest) == before
    assert skipped == ["skipping 'logs/raylet.out': 'logs' is a symlink that leads outside the destination",
                       "skipping './logs': 'logs' is a symlink that leads outside the destination"]


def test_existing_symlink_at_a_file_name_is_replaced_not_followed(sandbox):
    box, dest = sandbox
    os.symlink(box / "victim.txt", dest / "raylet.out")
    _, skipped = extract(build_tar([entry("raylet.out", data=b"fresh\n")]), dest)
    assert skipped == []
    assert (box / "victim.txt").read_text() == "original\n"
    assert not (dest / "raylet.out").is_symlink()
    assert (dest / "raylet.out").read_bytes() == b"fresh\n"


# --- ordinary behaviour --------------------------------------------------------------------------------


def test_existing_files_are_overwritten_whole(sandbox):
    _, dest = sandbox
    (dest / "raylet.out").write_bytes(b"a much longer old content that must not survive\n")
    extract(build_tar([entry("./raylet.out", data=b"new\n")]), dest)
    assert (dest / "raylet.out").read_bytes() == b"new\n"


def test_tar_of_a_directory_as_ray_sends_it(sandbox, tmp_path):
    """`tar -cf - -C logs .` produces `./`, `./x`, `./sub/`, ...: extracted as the folder's contents."""
    _, dest = sandbox
    source = tmp_path / "logs"
    (source / "old").mkdir(parents=True)
    (source / "raylet.out").write_text("Ray Event initialized for RAYLET\n")
    (source / "old" / "worker-1.err").write_bytes(os.urandom(300_000))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        archive.add(source, arcname=".")
    result, skipped = extract(buf.getvalue(), dest)
    assert skipped == []
    assert (dest / "raylet.out").read_text() == "Ray Event initialized for RAYLET\n"
    assert (dest / "old" / "worker-1.err").read_bytes() == (source / "old" / "worker-1.err").read_bytes()
    assert (result.files, result.bytes) == (2, 33 + 300_000)


def test_modes_from_the_archive_are_not_trusted(sandbox):
    _, dest = sandbox
    extract(build_tar([entry("suid", data=b"x", mode=0o4777)]), dest)
    assert stat.S_IMODE(os.stat(dest / "suid").st_mode) & 0o7000 == 0


def test_long_names_and_pax_headers(sandbox):
    _, dest = sandbox
    name = "d/" + "x" * 180 + ".log"
    for fmt in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        extract(build_tar([entry(name, data=b"long")], fmt=fmt), dest)
        assert (dest / name).read_bytes() == b"long"


def extract_all(data: bytes, dest: Path) -> tuple[object, list[str], list[str]]:
    skipped: list[str] = []
    failed: list[str] = []
    result = extract_stream(io.BytesIO(data), str(dest), skipped.append, failed.append)
    return result, skipped, failed


def test_name_collisions_are_failures_and_the_rest_goes_on(sandbox):
    _, dest = sandbox
    (dest / "adir").mkdir()
    (dest / "afile").write_text("x")
    result, skipped, failed = extract_all(build_tar([
        entry("adir", data=b"x"), entry("afile/inner", data=b"y"), entry("afile", "dir"),
        entry("twice.log", data=b"first"), entry("./twice.log", data=b"second"),
        entry("after.log", data=b"still written")]), dest)
    assert skipped == []
    assert failed == ["cannot write 'adir': a directory with that name exists; skipped",
                      "cannot write 'afile/inner': 'afile' exists and is not a directory; skipped",
                      "cannot write 'afile': 'afile' exists and is not a directory; skipped",
                      "cannot write './twice.log': an earlier entry of the archive was written to the same file; "
                      "skipped"]
    assert (dest / "twice.log").read_bytes() == b"first"
    assert (dest / "after.log").read_bytes() == b"still written"
    assert (dest / "afile").read_text() == "x"
    assert result.files == 2


def test_a_file_from_an_earlier_run_is_not_a_collision(sandbox):
    _, dest = sandbox
    (dest / "raylet.out").write_text("from the last run, longer than the new one\n")
    _, skipped, failed = extract_all(build_tar([entry("raylet.out", data=b"new\n")]), dest)
    assert (skipped, failed) == ([], [])
    assert (dest / "raylet.out").read_bytes() == b"new\n"


@pytest.mark.parametrize("name", ["x" * 300 + ".log", "d/" + "y" * 300 + "/inner.log"], ids=["file", "directory"])
def test_a_name_too_long_for_the_file_system_is_skipped_and_the_rest_goes_on(sandbox, name):
    _, dest = sandbox
    long_dir = entry(name.rsplit("/", 1)[0] + "/", "dir") if "/" in name else None
    entries = ([long_dir] if long_dir else []) + [entry(name, data=b"lost"), entry("raylet.out", data=b"kept\n")]
    for fmt in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        result, skipped, failed = extract_all(build_tar(entries, fmt=fmt), dest)
        assert skipped == []
        assert all("File name too long; skipped" in line for line in failed) and failed
        assert failed[-1] == f"cannot write {name!r}: File name too long; skipped"
        assert (dest / "raylet.out").read_bytes() == b"kept\n"
        assert result.files == 1


def test_empty_stream_extracts_nothing(sandbox):
    _, dest = sandbox
    result, skipped = extract(b"", dest)
    assert (result.files, skipped) == (0, [])


def test_garbage_and_truncated_streams_raise(sandbox):
    _, dest = sandbox
    with pytest.raises(UnsafeTarError, match="corrupt or truncated"):
        extract(b"this is not a tar archive at all" * 40, dest)
    good = build_tar([entry("first", data=b"1" * 10), entry("second", data=b"2" * 5000)])
    with pytest.raises(UnsafeTarError):
        extract(good[:512 + 512 + 512 + 1000], dest)  # cut in the middle of `second`
    assert (dest / "first").read_bytes() == b"1" * 10


@pytest.mark.parametrize("name, expected", [
    ("a", "a"), ("./a", "a"), ("a/./b", "a/b"), ("a/../b", "b"), (".", "."), ("./", "."),
    ("..", None), ("../a", None), ("a/../../b", None), ("/a", None), ("\\a", None), ("C:\\a", None),
    ("a\\..\\..\\b", None),
])
def test_safe_relative_path(name, expected):
    assert safe_relative_path(name) == expected


def test_a_path_deeper_than_64_directories_is_a_failure_not_a_slow_crawl(sandbox):
    _, dest = sandbox
    deep = "d/" * 64 + "deep.log"
    fine = "d/" * 63 + "fine.log"
    result, skipped, failed = extract_all(build_tar([entry("d/" * 2100, "dir"), entry(deep, data=b"x"),
                                                     entry(fine, data=b"ok"), entry("after.log", data=b"y")]), dest)
    assert skipped == []
    assert failed == [f"cannot write {('d/' * 2100).rstrip('/')!r}: it is more than 64 directories deep; skipped",
                      f"cannot write {deep!r}: it is more than 64 directories deep; skipped"]
    assert (dest / fine).read_bytes() == b"ok" and (dest / "after.log").read_bytes() == b"y"
    assert result.files == 2


# --- sparse entries stay sparse --------------------------------------------------------------------------


SPARSE_SIZE = 1 << 30  # 1 GiB apparent, three 4 KiB islands of data
SPARSE_ISLANDS = {0: b"A" * 4096, 300 << 20: b"B" * 4096, SPARSE_SIZE - 4096: b"C" * 4096}


def sparse_source(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    path = source / "core.sparse"
    with open(path, "wb") as fh:
        fh.truncate(SPARSE_SIZE)
        for offset, data in SPARSE_ISLANDS.items():
            fh.seek(offset)
            fh.write(data)
    return source


def gnu_tar(source: Path, *options: str) -> bytes:
    import shutil
    import subprocess

    if shutil.which("tar") is None:
        pytest.skip("GNU tar is needed to build sparse archives")
    return subprocess.run(["tar", *options, "-cf", "-", "-C", str(source), "."], check=True,
                          capture_output=True).stdout


def assert_sparse_copy(path: Path) -> None:
    info = os.stat(path)
    assert info.st_size == SPARSE_SIZE
    assert info.st_blocks * 512 < 4 << 20, "the holes were written: the file is fully allocated"
    with open(path, "rb") as fh:
        for offset, data in SPARSE_ISLANDS.items():
            fh.seek(offset)
            assert fh.read(len(data)) == data
        fh.seek(4096)
        assert fh.read(1 << 16) == bytes(1 << 16)


@pytest.mark.parametrize("options", [
    ("--format=gnu", "--sparse"),  # old GNU 'S' headers
    ("--format=pax", "--sparse-version=0.0"),
    ("--format=pax", "--sparse-version=0.1"),
    ("--format=pax", "--sparse-version=1.0"),
], ids=["gnu", "pax-0.0", "pax-0.1", "pax-1.0"])
def test_sparse_entries_stay_sparse(sandbox, tmp_path, options):
    _, dest = sandbox
    archive = gnu_tar(sparse_source(tmp_path), *options)
    assert len(archive) < 1 << 20
    result, skipped, failed = extract_all(archive + build_tar([entry("after.log", data=b"next\n")]), dest)
    assert (skipped, failed) == ([], [])
    assert_sparse_copy(dest / "core.sparse")
    assert result.bytes == sum(len(d) for d in SPARSE_ISLANDS.values())


def test_many_old_gnu_sparse_segments_use_extension_blocks(sandbox, tmp_path):
    """More than 4 segments: the old GNU format continues its map in extension blocks."""
    _, dest = sandbox
    source = tmp_path / "src"
    source.mkdir()
    islands = {i * (1 << 20): bytes([65 + i]) * 100 for i in range(30)}
    with open(source / "islands", "wb") as fh:
        fh.truncate(40 << 20)
        for offset, data in islands.items():
            fh.seek(offset)
            fh.write(data)
    _, skipped, failed = extract_all(gnu_tar(source, "--format=gnu", "--sparse"), dest)
    assert (skipped, failed) == ([], [])
    with open(dest / "islands", "rb") as fh:
        for offset, data in islands.items():
            fh.seek(offset)
            assert fh.read(len(data)) == data
    assert os.stat(dest / "islands").st_size == 40 << 20


def pax_sparse(name: str, real_size: int, segments: str, data: bytes) -> bytes:
    """A PAX 0.1 sparse entry written by hand: any map, any real size."""
    info = tarfile.TarInfo("GNUSparseFile.0/" + name)
    info.size = len(data)
    info.pax_headers = {"GNU.sparse.name": name, "GNU.sparse.size": str(real_size), "GNU.sparse.map": segments}
    return info.tobuf(format=tarfile.PAX_FORMAT) + data + bytes(-len(data) % 512)  # no end blocks: entries chain


def test_a_sparse_entry_of_a_petabyte_stays_sparse_or_is_refused(sandbox):
    """A hostile entry claiming a huge size writes its few bytes, never the holes."""
    _, dest = sandbox
    archive = pax_sparse("huge", 1 << 50, "0,5", b"hello") + build_tar([entry("after.log", data=b"next\n")])
    _, skipped, failed = extract_all(archive, dest)
    assert skipped == []
    if failed:  # most file systems cap a file below a petabyte: then the entry is refused and named
        assert failed == ["cannot write 'huge': its size (1125899906842624 bytes) is more than this file system "
                          "allows; skipped"]
        assert not (dest / "huge").exists()
    else:
        assert os.stat(dest / "huge").st_blocks * 512 < 1 << 20
    assert (dest / "after.log").read_bytes() == b"next\n"


@pytest.mark.parametrize("segments, real_size", [
    ("0,5,2,5", 100),  # overlapping
    ("10,5,0,5", 100),  # out of order
    ("0,5,96,5", 100),  # past the real size
    ("0,4", 100),  # the map holds fewer bytes than the entry
])
def test_an_invalid_sparse_map_fails_that_entry_only(sandbox, segments, real_size):
    _, dest = sandbox
    data = b"x" * sum(int(n) for n in segments.split(",")[1::2])
    if segments == "0,4":
        data = b"x" * 5
    archive = pax_sparse("bad", real_size, segments, data) + build_tar([entry("after.log", data=b"next\n")])
    _, skipped, failed = extract_all(archive, dest)
    assert skipped == [] and len(failed) == 1 and failed[0].startswith("cannot write 'bad': its sparse map")
    assert not (dest / "bad").exists()
    assert (dest / "after.log").read_bytes() == b"next\n"


# --- the parser: any split of the stream, truncation, hostile headers -------------------------------------


def test_any_split_of_the_stream_gives_the_same_result(sandbox, tmp_path):
    _, dest = sandbox
    source = tmp_path / "logs"
    (source / "old").mkdir(parents=True)
    (source / "raylet.out").write_bytes(os.urandom(5000))
    (source / "old" / ("long-name-" * 20 + ".err")).write_bytes(os.urandom(70_000))
    (source / "empty").write_bytes(b"")
    for fmt in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT):
        if fmt == tarfile.USTAR_FORMAT:
            (source / "old" / ("long-name-" * 20 + ".err")).rename(source / "old" / "short.err")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=fmt) as archive:
            archive.add(source, arcname=".")
        data = buf.getvalue()
        expected = tree(source)
        for size in (1, 7, 511, 512, 513, 65536):
            out = dest / f"{fmt}-{size}"
            from kubectl_ray.safetar import TarExtractor

            extractor = TarExtractor(str(out))
            for start in range(0, len(data), size):
                extractor.feed(data[start:start + size])
            result = extractor.finish()
            assert tree(out) == expected, (fmt, size)
            assert result.files == 3


def test_a_stream_cut_anywhere_inside_an_entry_is_reported_as_truncated(sandbox):
    _, dest = sandbox
    good = build_tar([entry("first", data=b"1" * 10), entry("long/" + "n" * 200, data=b"2" * 5000)])
    from kubectl_ray.safetar import TarExtractor

    end = good.rindex(b"2") + 1
    for cut in (1, 100, 511, 512, 513, 1500, 1536, 2048, end - 1):  # 1024 ends cleanly after "first"
        extractor = TarExtractor(str(dest / str(cut)))
        extractor.feed(good[:cut])
        with pytest.raises(UnsafeTarError, match="corrupt or truncated: it ends"):
            extractor.finish()


@pytest.mark.parametrize("make, message", [
    (lambda: b"\x01" * 512, "corrupt or truncated"),  # a header with a bad checksum
    (lambda: _negative_size_header(), "'neg' has a negative size"),  # base-256 numbers can be negative
    (lambda: _header_only("L", size=2 << 20), "an extended header of 2097152 bytes"),
    (lambda: _header_only("x", size=12) + b"99 path=abc\n".ljust(512, b"\0"), "malformed pax header"),
    (lambda: _header_only("x", size=11) + b"11 size=-5\n".ljust(512, b"\0") + _header_only("0"), "size is negative"),
    (lambda: _header_only("x", size=11) + b"11 size=zz\n".ljust(512, b"\0") + _header_only("0"), "not a number"),
])
def test_hostile_headers_fail_the_archive_with_one_message(sandbox, make, message):
    _, dest = sandbox
    with pytest.raises(UnsafeTarError, match=message):
        extract(make(), dest)


def _negative_size_header() -> bytes:
    block = bytearray(_header_only("0", name="neg"))
    block[124:136] = b"\xff" * 12  # -1 in base-256
    block[148:156] = b" " * 8
    block[148:155] = b"%06o\0" % sum(block)
    return bytes(block)


def _header_only(kind: str, size: int = 0, name: str = "x") -> bytes:
    info = tarfile.TarInfo(name)
    info.type = kind.encode()
    info.size = size
    return info.tobuf(format=tarfile.GNU_FORMAT)


def test_pax_size_override_and_non_utf8_names(sandbox):
    _, dest = sandbox
    info = tarfile.TarInfo("data.bin")
    info.size = 3
    info.pax_headers = {"size": "3"}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as archive:
        archive.addfile(info, io.BytesIO(b"abc"))
        weird = tarfile.TarInfo("caf\udce9.log")  # a Latin-1 byte, as a container's file system may hold
        weird.size = 2
        archive.addfile(weird, io.BytesIO(b"ok"))
    gnu = build_tar([entry("caf\udce9-gnu.log", data=b"ok")])
    extract(buf.getvalue(), dest)
    extract(gnu, dest)
    assert (dest / "data.bin").read_bytes() == b"abc"
    assert sorted(os.listdir(os.fsencode(dest))) == [b"caf\xe9-gnu.log", b"caf\xe9.log", b"data.bin"]

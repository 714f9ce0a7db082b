"""The one exclusive file lock (botkit.core.filelock), between real processes: who holds it is named
without options, links meet the same lock, SQLite's own locks survive it, a deleted or replaced
file is noticed, a forked child does not keep it, and ``kill -9`` leaves nothing stale."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from botkit.core.filelock import FileInUse, FileLock, FileLost

HOLDER = """\
import sys
from pathlib import Path
from botkit.core.filelock import FileInUse, FileLock
try:
    lock = FileLock(Path(sys.argv[-1]))
except FileInUse as exc:
    print("in use by", exc.holder, flush=True)
    sys.exit(3)
print("locked", flush=True)
if sys.argv[1] == "hold":
    sys.stdin.read()  # held until the test closes stdin (or kills the process)
"""


def _script(tmp_path: Path) -> None:
    (tmp_path / "hold.py").write_text(HOLDER)


def _try(tmp_path: Path, path: Path) -> subprocess.CompletedProcess[str]:
    """Another process tries the lock and lets go at once: exit 0 when it got it, 3 when refused."""
    _script(tmp_path)
    return subprocess.run([sys.executable, "hold.py", "try", str(path)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False)


@contextmanager
def _held_elsewhere(tmp_path: Path, path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holds the lock on ``path`` (with a secret among its options) until the block ends."""
    _script(tmp_path)
    proc = subprocess.Popen([sys.executable, "hold.py", "hold", "--api-secret=s3cret", str(path)], cwd=tmp_path,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(60)


def test_another_process_is_refused_and_the_holder_named_without_its_options(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with _held_elsewhere(tmp_path, path) as holder:
        with pytest.raises(FileInUse) as refused:
            FileLock(path)
        assert not refused.value.same_process
        assert refused.value.holder.startswith(f"pid {holder.pid} (")
        assert refused.value.holder.endswith(" hold.py hold)")
        assert "s3cret" not in str(refused.value) and "--api-secret" not in str(refused.value)
        assert str(refused.value) == f"{path} is in use by {refused.value.holder}"
    FileLock(path).release()  # free once the holder ended


def test_a_symlink_a_hard_link_and_a_relative_path_meet_the_same_lock(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    lock = FileLock(path, mode=0o644)
    (tmp_path / "sym.sqlite").symlink_to(path)
    os.link(path, tmp_path / "hard.sqlite")
    (tmp_path / "dir-link").symlink_to(tmp_path)
    try:
        before = set(tmp_path.iterdir())
        for alias in ("sym.sqlite", "hard.sqlite", "dir-link/journal.sqlite", "journal.sqlite"):
            refused = _try(tmp_path, Path(alias))
            assert refused.returncode == 3, refused.stderr
            assert refused.stdout.startswith(f"in use by pid {os.getpid()} (")
        assert set(tmp_path.iterdir()) == before | {tmp_path / "hold.py"}, "no lock file to delete"
        assert path.stat().st_mode & 0o777 == 0o644
    finally:
        lock.release()
    assert _try(tmp_path, tmp_path / "sym.sqlite").returncode == 0


def test_a_second_lock_in_one_process_is_refused_without_dropping_sqlites_locks(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    lock = FileLock(path)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE t (x)")
    db.execute("BEGIN EXCLUSIVE")  # SQLite's POSIX locks: closing any descriptor of the file would drop them
    try:
        (tmp_path / "link.sqlite").symlink_to(path)
        for given in (path, tmp_path / "link.sqlite"):
            with pytest.raises(FileInUse, match=rf"is in use by this process \(pid {os.getpid()}\)") as refused:
                FileLock(given)
            assert refused.value.same_process
        other = subprocess.run([sys.executable, "-c", "import sqlite3, sys; sqlite3.connect(sys.argv[1], timeout=0)"
                                ".execute('INSERT INTO t VALUES (1)')", str(path)],
                               capture_output=True, text=True, timeout=60, check=False)
        assert "database is locked" in other.stderr, "SQLite's lock was dropped by the refused second lock"
    finally:
        db.execute("ROLLBACK")
        db.close()
        lock.release()


def test_the_lock_outlives_sqlite_closing_its_own_descriptors(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    lock = FileLock(path)
    try:
        for _ in range(3):
            db = sqlite3.connect(path)
            db.execute("CREATE TABLE IF NOT EXISTS t (x)")
            db.commit()
            db.close()  # would drop a POSIX lock of this process on the file
        assert _try(tmp_path, path).returncode == 3
    finally:
        lock.release()


def test_a_deleted_or_replaced_file_is_a_lost_lock(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    lock = FileLock(path)
    lock.verify()  # still the file
    path.rename(tmp_path / "moved.sqlite")
    with pytest.raises(FileLost) as lost:
        lock.verify()
    assert lost.value.gone and "No such file" in lost.value.reason
    path.write_text("")  # another file at the path
    with pytest.raises(FileLost) as lost:
        lock.verify()
    assert not lost.value.gone
    lock.release()
    assert not lock.held


def test_verify_follows_the_path_the_owner_opens_the_file_by(tmp_path: Path) -> None:
    real = tmp_path / "journal.sqlite"
    link = tmp_path / "link.sqlite"
    link.symlink_to(real)
    lock = FileLock(link)
    assert lock.path == real
    lock.verify(link)
    link.unlink()
    link.symlink_to(tmp_path / "other.sqlite")  # dangling: names nothing
    with pytest.raises(FileLost, match="is gone"):
        lock.verify(link)
    lock.verify()  # the locked file itself is still there
    lock.release()


def test_a_forked_child_does_not_keep_the_file_locked(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    lock = FileLock(path)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child outlives the parent's hold until the test lets it go
        os.close(write)
        os.read(read, 1)
        os._exit(0)
    os.close(read)
    try:
        assert _try(tmp_path, path).returncode == 3
        lock.release()
        # With the child's copy of the descriptor open, the open file (and its lock) would live on.
        assert _try(tmp_path, path).returncode == 0
    finally:
        os.close(write)
        os.waitpid(pid, 0)


def test_kill_9_of_the_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with _held_elsewhere(tmp_path, path) as holder:
        holder.kill()
        holder.wait(60)
        FileLock(path).release()


def test_a_file_that_cannot_be_opened_is_an_os_error_not_in_use(tmp_path: Path) -> None:
    with pytest.raises(OSError) as failed:
        FileLock(tmp_path / "missing-folder" / "state.sqlite")
    assert not isinstance(failed.value, FileLost)
    assert failed.value.errno is not None

"""The audit spool: a process's invocation rows on local disk, from before the cards go out
until the database has them.

One folder per audit database (`<CDS_AUDIT_SPOOL_DIR>/<database key>/`, `database_folder`),
holding for each process that writes to it:

    <owner>.lock           locked (flock) by the process for as long as it lives
    <owner>.<n>.rows       its rows, one JSON object per line, in the order they were appended

`owner` is `<pid>-<random hex>`, so a pid the system reuses never names another process's files.

What it guarantees:

- `append` writes a whole line with one write() to a file opened O_APPEND, and returns only
  once the kernel has it: the row survives the death of the process (SIGKILL, OOM kill, a
  crash). With `fsync`, it is also fdatasync'ed before `append` returns: it survives a power cut
  or a kernel crash too, at the cost of a disk flush per call (bench/README.md).
- Rows are read back (`read`) and committed (`commit`) in the order they were appended. A file
  whose rows are all committed is deleted; the last one is emptied instead. So the files hold
  exactly the rows the database may not have yet (and, after a crash, the batch being written).
- A process that dies leaves its files, and the kernel releases its lock: the next process to
  look (`adopt_orphans`: a worker starting, and every worker's audit writer every few seconds)
  takes the lock and so the files, writes the rows and deletes them. A row written before the
  death is not written twice: each carries its own id, inserted with ON CONFLICT DO NOTHING.
- It holds at most `max_bytes` of rows: `append` beyond raises `SpoolFull` (the writer counts
  and logs the row as lost). A torn or unreadable line (a power cut mid-write) is skipped and
  reported by `read`.

Thread-safe: requests append while the writer thread reads and commits.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# A new file is started past this size, so that committed rows are deleted with their file
# while rows keep coming (the last file is only emptied when every row in it is committed).
SEGMENT_BYTES = 4 * 1024 * 1024
# `read` takes at most this much of a file at once.
READ_BYTES = 1024 * 1024
_LOCK = ".lock"
_ROWS = ".rows"


class SpoolFull(Exception):
    """The spool holds `max_bytes` already: the row cannot be kept."""


def database_folder(spool_dir: Path, database: str) -> Path:
    """The folder of one database's spools: rows are only ever replayed into the database they
    were meant for. `database` is its URL without the password."""
    return spool_dir / hashlib.sha256(database.encode()).hexdigest()[:16]


@dataclass
class Cursor:
    """A place in a spool: the file number and the offset in it."""

    segment: int
    offset: int


@dataclass
class Batch:
    lines: list[bytes]  # whole lines, without their newline
    torn: int  # lines that could not be whole (a crash mid-write): skipped
    end: Cursor  # where the batch ends: `commit` it once the rows are written


@dataclass
class Orphans:
    adopted: list[Spool]  # the spools of dead processes, now this one's to write and remove
    alive_pids: set[int]  # the pids of the processes whose spools are in use


@dataclass
class _Segment:
    number: int
    path: Path
    fd: int
    size: int  # bytes of whole lines


class Spool:
    """The files of one owner: this process's own (`create`), or a dead process's (`adopt`)."""

    def __init__(
        self,
        folder: Path,
        owner: str,
        lock_fd: int,
        segments: list[_Segment],
        *,
        own: bool,
        max_bytes: int,
        fsync: bool,
        rows: int,
    ) -> None:
        self.folder = folder
        self.owner = owner
        self.own = own  # appended to by this process (else adopted: only read and committed)
        self.max_bytes = max_bytes
        self.fsync = fsync
        self._lock_fd = lock_fd
        self._segments = segments
        self._committed = Cursor(segments[0].number, 0)
        self._rows = rows  # appended (or found) and not committed
        self._mutex = threading.Lock()

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def create(cls, folder: Path, *, max_bytes: int, fsync: bool) -> Spool:
        """This process's spool, in a new pair of files."""
        folder.mkdir(parents=True, exist_ok=True)
        owner = f"{os.getpid()}-{secrets.token_hex(4)}"
        lock_fd = _open_lock(folder / f"{owner}{_LOCK}")
        segment = _open_segment(folder, owner, 0)
        return cls(
            folder, owner, lock_fd, [segment], own=True, max_bytes=max_bytes, fsync=fsync, rows=0
        )

    @classmethod
    def adopt_orphans(cls, folder: Path) -> Orphans:
        """The spools in `folder` whose owner is dead (its lock can be taken), now ours."""
        orphans = Orphans([], set())
        for lock_path in sorted(folder.glob(f"*{_LOCK}")) if folder.is_dir() else []:
            spool = cls._adopt(lock_path)
            if spool is not None:
                orphans.adopted.append(spool)
            elif lock_path.exists():
                orphans.alive_pids.add(int(lock_path.name.split("-", 1)[0]))
        return orphans

    @classmethod
    def _adopt(cls, lock_path: Path) -> Spool | None:
        try:
            lock_fd = os.open(lock_path, os.O_RDWR)
        except FileNotFoundError:
            return None  # adopted and removed by another process meanwhile
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # The path must still name the file locked: another adopter may have finished and
            # removed it between our open and our lock.
            if os.fstat(lock_fd).st_ino != os.stat(lock_path).st_ino:
                raise FileNotFoundError(lock_path)
        except (BlockingIOError, FileNotFoundError):
            os.close(lock_fd)  # alive (or gone): not ours
            return None
        owner = lock_path.name.removesuffix(_LOCK)
        segments = []
        for path in sorted(lock_path.parent.glob(f"{owner}.*{_ROWS}")):
            fd = os.open(path, os.O_RDONLY)
            segments.append(_Segment(_number(path), path, fd, os.fstat(fd).st_size))
        if not segments:  # it died before writing a row: nothing but the lock to remove
            segments.append(_Segment(0, lock_path.parent / f"{owner}.0{_ROWS}", -1, 0))
        rows = sum(_count_lines(s) for s in segments)
        return cls(
            lock_path.parent,
            owner,
            lock_fd,
            segments,
            own=False,
            max_bytes=0,
            fsync=False,
            rows=rows,
        )

    # -- what it holds -------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return int(self.owner.split("-", 1)[0])

    @property
    def rows(self) -> int:
        """Rows appended (or found) and not yet committed."""
        return self._rows

    # -- appending (own spool) -----------------------------------------------------------------

    def append(self, line: bytes) -> None:
        """Keep one row (a line without its newline) on disk. Raises SpoolFull, or OSError when
        the disk will not take it (nothing of it is then left in the file)."""
        assert self.own, "an adopted spool is only read"
        record = line + b"\n"
        with self._mutex:
            if sum(s.size for s in self._segments) + len(record) > self.max_bytes:
                raise SpoolFull(f"the audit spool holds {self.max_bytes:,} bytes already")
            current = self._writable_segment()
            written = os.write(current.fd, record)
            if written != len(record):  # a full disk can take part of a write: undo it
                os.ftruncate(current.fd, current.size)
                raise OSError(errno.ENOSPC, "the audit spool's disk is full")
            if self.fsync:
                os.fdatasync(current.fd)
            current.size += written
            self._rows += 1

    def _writable_segment(self) -> _Segment:
        """The file to append to: a new one past SEGMENT_BYTES, or when the last one was
        deleted from under us (its rows stay readable through our descriptor, and are written
        to the database from it; new rows go to a file that exists)."""
        current = self._segments[-1]
        if current.size >= SEGMENT_BYTES or os.fstat(current.fd).st_nlink == 0:
            if os.fstat(current.fd).st_nlink == 0:
                log.error(
                    "the audit spool file %s was deleted: its rows are kept by this process "
                    "only until they are written; new rows go to a new file",
                    current.path,
                )
                self._recreate_lock()
            current = _open_segment(self.folder, self.owner, current.number + 1)
            self._segments.append(current)
        return current

    def _recreate_lock(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        old, self._lock_fd = self._lock_fd, _open_lock(self.folder / f"{self.owner}{_LOCK}")
        os.close(old)

    # -- reading and committing (the writer thread) --------------------------------------------

    def read(self, max_rows: int) -> Batch:
        """Up to `max_rows` rows after the last commit, in order (does not commit them)."""
        with self._mutex:
            segments = [(s.number, s.fd, s.size) for s in self._segments]
        cursor = Cursor(self._committed.segment, self._committed.offset)
        lines: list[bytes] = []
        torn = 0
        for number, fd, size in segments:
            if number < cursor.segment:
                continue
            if number > cursor.segment:
                cursor = Cursor(number, 0)
            while len(lines) < max_rows and cursor.offset < size:
                data = os.pread(fd, min(size - cursor.offset, READ_BYTES), cursor.offset)
                whole = data.rfind(b"\n") + 1
                if whole == 0:
                    # No line ends here: the torn end of a file a crash left (a row is far
                    # shorter than READ_BYTES). Skipped, and reported.
                    torn += 1
                    cursor.offset += len(data)
                    continue
                for line in data[:whole].split(b"\n")[:-1]:
                    cursor.offset += len(line) + 1
                    lines.append(line)
                    if len(lines) == max_rows:
                        break
            if len(lines) == max_rows:
                break
        return Batch(lines, torn, cursor)

    def commit(self, end: Cursor, rows: int) -> None:
        """The `rows` rows up to `end` are in the database: delete the files that hold nothing
        else, and empty the last one when everything in it is committed."""
        with self._mutex:
            self._committed = Cursor(end.segment, end.offset)
            self._rows = max(self._rows - rows, 0)
            while len(self._segments) > 1 and self._segments[0].number < end.segment:
                _remove(self._segments.pop(0))
            last = self._segments[-1]
            if self.own and last.size and self._drained():
                # O_APPEND: the next row is written at the new end, the start of the file.
                os.ftruncate(last.fd, 0)
                last.size = 0
                self._committed = Cursor(last.number, 0)
                self._rows = 0

    @property
    def drained(self) -> bool:
        """Everything appended (or found) has been committed."""
        with self._mutex:
            return self._drained()

    def _drained(self) -> bool:
        last = self._segments[-1]
        committed = (self._committed.segment, self._committed.offset)
        return len(self._segments) == 1 and committed == (last.number, last.size)

    def close(self) -> bool:
        """Let go of the files: removed when every row is committed (True), else left for the
        next process to adopt (the lock is released with its descriptor). Not used after."""
        with self._mutex:
            drained = self._drained()
            for segment in self._segments:
                if drained:
                    _remove(segment)
                elif segment.fd >= 0:
                    os.close(segment.fd)
            if drained:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.folder / f"{self.owner}{_LOCK}")
            os.close(self._lock_fd)
        return drained


def _open_lock(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # new and ours: never held by another
    return fd


def _open_segment(folder: Path, owner: str, number: int) -> _Segment:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{owner}.{number:08d}{_ROWS}"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    return _Segment(number, path, fd, os.fstat(fd).st_size)


def _number(path: Path) -> int:
    return int(path.name.removesuffix(_ROWS).rsplit(".", 1)[1])


def _count_lines(segment: _Segment) -> int:
    count, offset = 0, 0
    while segment.fd >= 0 and offset < segment.size:
        data = os.pread(segment.fd, READ_BYTES, offset)
        count += data.count(b"\n")
        offset += len(data)
    return count


def _remove(segment: _Segment) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(segment.path)
    if segment.fd >= 0:
        os.close(segment.fd)
    segment.fd = -1

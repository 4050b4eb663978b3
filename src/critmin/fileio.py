"""Files in and out: one-line errors on reading, nothing half-written on writing.

Reading (every text input of critmin should come through here):

* :func:`read_text` gives the UTF-8 text of a file or one :class:`~critmin.errors.InputError`
  naming the file: missing, a directory, unreadable, not UTF-8 (with the line of the first bad
  byte), larger than :data:`MAX_INPUT_BYTES`.
* :func:`csv_rows` reads a CSV file through :func:`read_text` and yields ``(line, row)``;
  a malformed CSV (a field over the csv module's 131,072-character limit, a NUL byte) is an
  ``InputError`` at ``file:line``.
* :func:`csv_number` reads a number from a CSV cell by one grammar (plain decimal, finite):
  every numeric column of a CSV a user gives goes through it.

Writing:

* :func:`atomic_write` / :func:`atomic_write_text`: one file, written to a temporary file in
  the target's folder and renamed over the target once complete.
* :class:`OutputSet`: several files that belong together (a run's ``summary.json``,
  ``series.parquet`` and ``report.html``) appear together or not at all. They are written into
  a fresh staging folder beside the output folder, then swapped in with one atomic
  ``renameat2(RENAME_EXCHANGE)`` (or a plain rename when the folder is new). A lock refuses a
  second writer into the same folder; the staging folders and temp files of killed runs are
  removed by the next writer.
* :func:`safe_cell`: neutralises spreadsheet formula cells in CSV outputs (OWASP).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import math
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from types import TracebackType
from typing import Any

from critmin.errors import CritminError, InputError

__all__ = [
    "MAX_INPUT_BYTES",
    "OutputBusyError",
    "OutputSet",
    "atomic_write",
    "atomic_write_text",
    "check_output_dir",
    "csv_number",
    "csv_rows",
    "read_text",
    "safe_cell",
    "settle_output_folder",
    "uninterrupted",
    "uninterrupted_now",
    "write_json_and_csv",
]

#: the largest input file read (text formats: YAML, CSV, JSON): 256 MiB. Every shipped or
#: realistic input is under a few MB; the limit turns a mistaken or hostile file into a
#: message before it is read into memory.
MAX_INPUT_BYTES = 256 * 2**20


# --------------------------------------------------------------------------- reading


def _os_problem(exc: OSError) -> str:
    if isinstance(exc, IsADirectoryError) or exc.errno == errno.EISDIR:
        return "is a directory, expected a file"
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "too many levels of symbolic links"
    if exc.errno == errno.ENOTDIR:
        return "a part of the path is not a directory"
    if exc.errno == errno.ENAMETOOLONG:
        return "file name too long"
    return exc.strerror or str(exc)


def read_bytes(path: str | Path, what: str = "file", max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of ``path``; one ``InputError`` (``cannot read <what>: ...``) otherwise."""
    p = Path(path)
    try:
        if p.is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(p))
        with p.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"cannot read {what}: {_os_problem(exc)}", where=str(p)) from None
    if len(data) > max_bytes:
        raise InputError(
            f"cannot read {what}: larger than {max_bytes // 2**20} MiB", where=str(p)
        ) from None
    return data


def read_text(
    path: str | Path, what: str = "file", *, bom: bool = True, max_bytes: int = MAX_INPUT_BYTES
) -> str:
    """The UTF-8 text of ``path`` (a leading byte-order mark dropped when ``bom``).

    Every problem is one :class:`InputError` naming the file: ``cannot read <what>: no such
    file`` / ``is a directory, expected a file`` / ``permission denied`` / ``not UTF-8 text
    (byte 0xe9 at line 3); save it as UTF-8``.
    """
    data = read_bytes(path, what, max_bytes)
    try:
        text = data.decode("utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise InputError(
            f"cannot read {what}: not UTF-8 text (byte 0x{bad} at line {line}); save it as UTF-8",
            where=f"{path}:{line}",
        ) from None
    return text


def csv_rows(
    path: str | Path, what: str = "CSV file"
) -> tuple[list[str], Iterator[tuple[int, dict[str, str | None]]]]:
    """``(header, rows)`` of a CSV file: ``rows`` yields ``(line number, row dict)``.

    The file is read by :func:`read_text`; a CSV the csv module refuses (a field over its
    131,072-character limit, a NUL byte, an unterminated quote) is an ``InputError`` at
    the line where it happened.
    """
    text = read_text(path, what)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = list(reader.fieldnames or [])
    except csv.Error as exc:
        raise InputError(f"not a valid CSV: {exc}", where=f"{path}:1") from None

    def rows() -> Iterator[tuple[int, dict[str, str | None]]]:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                # the csv module counts the failing line only once it is parsed
                line = reader.line_num + (1 if "field limit" in str(exc) else 0)
                raise InputError(f"not a valid CSV: {exc}", where=f"{path}:{line}") from None
            yield reader.line_num, row

    return header, rows()


#: a number in a CSV cell: an optional sign, digits with an optional ``.`` fraction (or only
#: the fraction: ``.5``), an optional exponent; ASCII digits only, nothing around it
_CSV_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: what Python's ``float()`` also takes, and why a CSV number is not that
_NOT_A_CSV_NUMBER = (
    (re.compile(r"\s"), "no spaces around or inside a number"),
    (re.compile(r"[0-9][_,'][0-9]"), "no digit separators: write 1200000, not 1_200_000 or 1,200"),
    (re.compile(r"(?i)^[+-]?(nan|inf|infinity)$"), "NaN and infinity are not numbers here"),
    (re.compile(r"[^\x00-\x7f]"), "ASCII digits only"),
)


def csv_number(raw: str | None, where: str) -> float:
    """The number in a CSV cell, or one ``InputError`` at ``where`` (``file:line column
    'x'``). One grammar for every numeric column: ``1200``, ``-3.5``, ``.5``, ``1.2e6``.

    ``float()`` alone took more: ``1_000`` (Python's digit separator), `` 12 `` (spaces),
    ``nan``, ``inf`` and ``infinity`` (each reader refused those two after the fact, or not),
    ``1e400`` (infinity), and digits of other scripts (``١٢`` is 12.0). A cell that is none
    of those is refused with what was expected; a number beyond the float range too.
    """
    text = "" if raw is None else raw
    if _CSV_NUMBER.fullmatch(text) is None:
        shown = repr(text) if len(text) <= 40 else repr(text[:37] + "...")
        why = next((hint for pattern, hint in _NOT_A_CSV_NUMBER if pattern.search(text)), None)
        raise InputError(
            f"expected a number (digits, an optional sign, '.' fraction and exponent: 1200, "
            f"-3.5, 1.2e6), got {shown}" + (f"; {why}" if why else ""),
            where=where,
        )
    value = float(text)
    if not math.isfinite(value):  # only an exponent too large gets here
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise InputError(f"{shown} is beyond the range of numbers (about 1.8e308)", where=where)
    return value


# --------------------------------------------------------------------------- CSV cells

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, prefixed with ``'`` (OWASP).

    OWASP's CSV-injection guidance: a cell starting with ``=``, ``+``, ``-``, ``@``, tab or
    carriage return is evaluated by Excel/LibreOffice (``=cmd|' /C calc'!A0`` runs a program);
    a leading apostrophe makes it text. Numbers are left alone (``-5`` is a number, not a
    formula); only ``str`` values are changed.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def safe_frame_csv(df: Any, **kwargs: Any) -> str:
    """``df.to_csv(**kwargs)`` with every text cell and header passed through :func:`safe_cell`."""
    safe = df.copy()
    for col in safe.columns:
        if safe[col].dtype == object or str(safe[col].dtype).startswith("str"):
            safe[col] = safe[col].map(safe_cell)
    safe.columns = [safe_cell(str(c)) for c in safe.columns]
    text: str = safe.to_csv(**kwargs)
    return text


# --------------------------------------------------------------------------- single files


#: True while an output folder is locked or its output set committed, or a file is renamed
#: into place: the timer of a time limit (:func:`critmin.bounds.time_limit`) does not
#: interrupt such a step (milliseconds), so a commit is never cut in two
_UNINTERRUPTED: ContextVar[bool] = ContextVar("critmin_uninterrupted", default=False)


@contextlib.contextmanager
def _uninterrupted() -> Iterator[None]:
    token = _UNINTERRUPTED.set(True)
    try:
        yield
    finally:
        _UNINTERRUPTED.reset(token)


#: the stretch a time limit's timer does not cut (a folder's commit, a parse's fork)
uninterrupted = _uninterrupted


def uninterrupted_now() -> bool:
    """Whether the work now running is a lock or a commit that a timer must not cut."""
    return _UNINTERRUPTED.get()


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


_TMP_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[a-z0-9_]+\.tmp$")


def _clean_stale_temps(folder: Path, name: str | None) -> None:
    """Remove ``.<name>.<pid>.*.tmp`` files and folders left by dead processes (any name
    when ``name`` is None)."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        m = _TMP_RE.match(entry.name)
        if not m or (name is not None and m["name"] != name) or _pid_alive(int(m["pid"])):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def _mkdir(folder: Path, what: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(
            f"cannot write {what}: {str(folder)!r} exists and is not a folder", where="--out"
        ) from None
    except OSError as exc:
        raise InputError(f"cannot write {what}: {_os_problem(exc)}", where=str(folder)) from None


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then rename ``tmp_path`` to ``path``; returns ``path``.

    The parent folder is created. The file gets ordinary permissions (``0o666`` less the
    umask), not the ``0o600`` of :func:`tempfile.mkstemp`, since outputs are meant to be shared.
    The temp file is ``.<name>.<pid>.<random>.tmp``: one left by a killed process is removed
    by the next write of the same name. A target that is a folder, or a parent that is a file
    or not writable, is one ``InputError``.
    """
    target = Path(path)
    _mkdir(target.parent, f"{target.name}")
    if target.is_dir():
        raise InputError(f"cannot write {target.name}: it is a folder", where=str(target))
    _clean_stale_temps(target.parent, target.name)
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent
        )
    except OSError as exc:
        raise InputError(
            f"cannot write {target.name}: {_os_problem(exc)}", where=str(target.parent)
        ) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with _uninterrupted():  # a time limit's timer does not cut the rename
            tmp.chmod(0o666 & ~_umask())
            tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically; returns ``path``."""

    def _write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())

    return atomic_write(path, _write)


# --------------------------------------------------------------------------- output sets


class OutputBusyError(CritminError):
    """Another process is writing an output set into the same folder."""


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    import ctypes  # (only when a set is committed: ctypes.util costs ~8 ms to import)
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError, TypeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EXDEV, errno.EBUSY):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _mirror(src: Path, dst: Path, skip: set[str], budget: list[int]) -> bool:
    """Hard-link every entry of ``src`` not in ``skip`` into ``dst`` (folders recreated).

    Keeps files another command put in the output folder (``risk.json`` beside a run, a nested
    ``--out out/two``) across the swap, at the cost of one link per file. False when the
    folder holds more than the budget of entries or something that cannot be linked.
    """
    for entry in src.iterdir():
        if entry.name in skip:
            continue
        budget[0] -= 1
        if budget[0] < 0:
            return False
        target = dst / entry.name
        try:
            if entry.is_symlink():
                target.symlink_to(os.readlink(entry))
            elif entry.is_dir():
                target.mkdir()
                shutil.copystat(entry, target)
                if not _mirror(entry, target, set(), budget):
                    return False
            elif entry.is_file():
                os.link(entry, target)
            else:
                return False
        except OSError:
            return False
    return True


def _drop_lock_file(fd: int, path: Path) -> None:
    """Close ``fd`` (a lock file this process created but does not hold) and remove the file
    if nobody holds it: an interrupted run leaves no lock file behind."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.stat(path).st_ino == os.fstat(fd).st_ino:
            path.unlink()
    except OSError:
        pass  # held by another process, or already gone: theirs to remove
    finally:
        os.close(fd)


class OutputSet:
    """Files of one run written together: all appear in ``folder`` at once, or none do.

    ::

        with OutputSet(out, names=("summary.json", "series.parquet", "report.html")) as o:
            write_parquet(o.path("series.parquet"))
            ...
        # here all three are in ``out``; on an exception, ``out`` is as it was

    * A lock file ``.<folder>.critmin.lock`` beside ``folder`` (``flock``, released by the
      kernel when the process dies, even by SIGKILL) refuses a second writer clearly:
      :class:`OutputBusyError`, exit 2.
    * Files are written into a staging folder ``.<folder>.<pid>.<random>.tmp`` beside
      ``folder``. On success, files already in ``folder`` that are not part of the set are
      hard-linked into the staging folder, and the two folders are swapped atomically
      (``renameat2(RENAME_EXCHANGE)``); the old folder is then deleted. A new folder is
      simply renamed into place. The working folder, a folder above it and the home folder
      cannot be swapped: they are refused (:func:`refuse_enclosing_folder`). Where the swap
      is impossible otherwise (not Linux, a mount point, a folder with more than 10,000
      entries, a parent that is not writable), the files are renamed in one by one under a
      journal (:func:`_journaled_replace`): a failure part-way puts the old files back at
      once, and a kill part-way is undone by the next writer of the folder, or by the next
      critmin reader (:func:`settle_output_folder`, e.g. :func:`critmin.read_series`).
    * Staging folders and temp files of dead processes are removed when the lock is taken.
    """

    MIRROR_LIMIT = 10_000

    def __init__(self, folder: str | Path, names: tuple[str, ...] = ()) -> None:
        self.folder = Path(folder)
        if self.folder.is_symlink():  # swap the folder it points to, not the link
            self.folder = self.folder.resolve()
        self.names = names  # files of the set: an old copy not rewritten is removed
        self._lock_fd: int | None = None
        self._lock_path: Path | None = None
        self.staging: Path | None = None
        self.written: list[Path] = []
        # where the lock and staging folder live: beside the folder, or inside it when its
        # parent is not writable (a shared mount): then the set is renamed in file by file
        self._inside = False

    # ---- locking
    def _lock(self, *, for_writing: bool = True) -> None:
        """Take the folder's lock, or raise :class:`OutputBusyError` at once. A reader that
        only puts back an interrupted commit (:func:`settle_output_folder`) may lock the
        working folder, which a writer may not swap."""
        import fcntl

        if for_writing:
            refuse_enclosing_folder(self.folder)
        parent = self.folder.absolute().parent
        if self.folder.exists() and not self.folder.is_dir():
            raise InputError(
                f"{str(self.folder)!r} exists and is not a folder; give a folder", where="--out"
            )
        _mkdir(parent, "the output folder")
        lock_path = parent / f".{self.folder.absolute().name}.critmin.lock"
        while True:
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
            except OSError as exc:
                if (
                    exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
                    and not self._inside
                    and self.folder.is_dir()
                    and os.access(self.folder, os.W_OK | os.X_OK)
                ):
                    self._inside = True
                    lock_path = self.folder / ".critmin.lock"
                    continue
                raise InputError(
                    f"cannot write the output folder: {_os_problem(exc)}", where=str(parent)
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = ""
                with contextlib.suppress(OSError, ValueError):
                    holder = f" (pid {int(os.pread(fd, 32, 0).decode().strip())})"
                os.close(fd)
                raise OutputBusyError(
                    f"another critmin process{holder} is writing to {str(self.folder)!r}; "
                    "wait for it to finish or choose another --out"
                ) from None
            except BaseException:
                _drop_lock_file(fd, lock_path)  # interrupted: see below
                raise
            try:
                # the holder before us may have removed the file after we opened it: retry
                try:
                    same = os.stat(lock_path).st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    same = False
            except BaseException:
                # interrupted (SIGTERM, Ctrl-C) before the lock is recorded: remove the file
                # if it is still ours, so an interrupted run leaves no lock file behind
                _drop_lock_file(fd, lock_path)
                raise
            if same:
                # from here _unlock removes the file, however the run ends
                self._lock_fd, self._lock_path = fd, lock_path
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)

    def _unlock(self) -> None:
        if self._lock_fd is None:
            return
        if self._lock_path is not None:
            with contextlib.suppress(OSError):
                self._lock_path.unlink()
        os.close(self._lock_fd)
        self._lock_fd = None

    # ---- staging
    def __enter__(self) -> OutputSet:
        with _uninterrupted():  # nor a time limit's timer the lock
            return self._enter()

    def _enter(self) -> OutputSet:
        try:
            self._lock()
            if self.folder.is_dir():
                # a commit of a run killed while renaming files in one by one: put the
                # previous set back before anything else looks at the folder
                recover_interrupted_commit(self.folder)
                if not self._inside and _other_device(self.folder):
                    # a mount point: a staging folder beside it could not be renamed in
                    self._inside = True
            name = self.folder.absolute().name
            parent = self._remove_stale()
            try:
                self.staging = Path(
                    tempfile.mkdtemp(prefix=f".{name}.{os.getpid()}.", suffix=".tmp", dir=parent)
                )
            except OSError as exc:
                raise InputError(
                    f"cannot write the output folder: {_os_problem(exc)}", where=str(parent)
                ) from None
        except BaseException:
            self._unlock()
            raise
        return self

    def _remove_stale(self) -> Path:
        """With the lock held: remove what dead runs into this folder left (staging folders,
        temp files); the folder where staging folders live is returned."""
        name = self.folder.absolute().name
        parent = self.folder if self._inside else self.folder.absolute().parent
        _clean_stale_temps(parent, name)
        # with the lock held, every staging folder of this output is stale
        for entry in parent.glob(f".{glob_escape(name)}.*.tmp"):
            m = _TMP_RE.match(entry.name)
            if m and m["name"] == name and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
        if self.folder.is_dir():
            _clean_stale_temps(self.folder, None)
        return parent

    def path(self, name: str) -> Path:
        """Where to write the set's file ``name`` (inside the staging folder)."""
        assert self.staging is not None, "use OutputSet as a context manager"
        return self.staging / name

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                with _uninterrupted():  # a commit is never cut in two by a time limit
                    self._commit()
        finally:
            if self.staging is not None and self.staging.exists():
                shutil.rmtree(self.staging, ignore_errors=True)
            self._unlock()

    def _swappable(self) -> bool:
        """Whether the whole folder may be swapped: never the working folder (or one above
        it) nor the home folder, whose other contents may change while we mirror them.
        (Such a folder is refused when the set starts, :func:`refuse_enclosing_folder`;
        this stays as a guard for a working folder changed during the run.)"""
        return _enclosing(self.folder) is None

    def _commit(self) -> None:
        assert self.staging is not None
        produced = sorted(p.name for p in self.staging.iterdir())
        self.staging.chmod(0o777 & ~_umask())
        for p in self.staging.iterdir():
            with contextlib.suppress(OSError):
                fd = os.open(p, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        self.written = [self.folder / n for n in produced]
        if not self.folder.exists():
            self.staging.rename(self.folder)
            return
        skip = set(produced) | set(self.names)
        budget = [self.MIRROR_LIMIT]
        if (
            not self._inside
            and self._swappable()
            and _mirror(self.folder, self.staging, skip, budget)
            and _exchange(self.staging, self.folder)
        ):
            shutil.rmtree(self.staging, ignore_errors=True)  # now the old folder
            return
        # the folder cannot be swapped: the files are renamed in one by one under a journal
        _journaled_replace(self.folder, self.staging, produced, self.names)


#: the journal of a commit that renames files in one by one (inside the output folder)
COMMIT_JOURNAL = ".critmin-commit.json"


def _other_device(folder: Path) -> bool:
    """Whether ``folder`` is on another file system than its parent (a mount point)."""
    try:
        return os.stat(folder).st_dev != os.stat(folder.absolute().parent).st_dev
    except OSError:
        return False


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _write_journal(folder: Path, data: dict[str, Any]) -> None:
    # a temp name a later run removes as stale when this process is killed writing it
    tmp = folder / f".critmin-commit.{os.getpid()}.journal.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, folder / COMMIT_JOURNAL)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _roll_back(folder: Path, data: dict[str, Any]) -> None:
    """Undo a journaled commit: every backed-up old file back in place, every new file that
    had no old one removed, then the backup and the journal removed."""
    backup = folder / str(data["backup"])
    added = set(data["added"])
    for n in data["names"]:
        old = backup / n
        if old.exists() or old.is_symlink():
            os.replace(old, folder / n)
        elif n in added:
            _remove(folder / n)
    shutil.rmtree(backup, ignore_errors=True)
    (folder / COMMIT_JOURNAL).unlink(missing_ok=True)


def recover_interrupted_commit(folder: str | Path) -> bool:
    """Put back the previous output set of ``folder`` when a commit that renamed files in one
    by one was killed part-way (its journal is still there); True when one was undone. Called
    under the folder's lock by the next writer."""
    folder = Path(folder)
    journal = folder / COMMIT_JOURNAL
    try:
        data = json.loads(journal.read_text("utf-8"))
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        data = None
    if not (
        isinstance(data, dict)
        and isinstance(data.get("backup"), str)
        and isinstance(data.get("names"), list)
        and isinstance(data.get("added"), list)
    ):
        # a journal cut short or not critmin's: the journal is written whole (temp + rename)
        # before the commit's first rename, so its commit had not begun
        journal.unlink(missing_ok=True)
        return False
    _roll_back(folder, data)
    return True


def settle_output_folder(folder: str | Path, *, wait_s: float = 10.0) -> bool:
    """Make ``folder`` hold one complete output set before critmin reads from it.

    A commit that renames files in one by one (:func:`_journaled_replace`) and was killed
    part-way leaves its journal, ``.critmin-commit.json``, beside a mixed set. The journal is
    the marker readers trust: when it is there, this takes the folder's lock (waiting up to
    ``wait_s`` for a live commit, which lasts milliseconds, to end), puts the previous set
    back and removes the journal and the dead run's temp files, as the next writer would. True
    when a set was put back.
    Without the journal it costs one ``stat``. A folder whose interrupted commit cannot be
    put back (no write access) is refused with one line rather than read mixed."""
    import time

    folder = Path(folder)
    if not (folder / COMMIT_JOURNAL).exists():
        return False
    deadline = time.monotonic() + wait_s
    lock = OutputSet(folder)
    while True:
        try:
            with _uninterrupted():
                lock._lock(for_writing=False)
            break
        except OutputBusyError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)
        except InputError as exc:
            raise InputError(
                "a critmin commit into this folder was interrupted, so its files may be a mix "
                f"of two runs, and they cannot be put back here ({exc}); run critmin "
                "with write access to the folder first",
                where=str(folder),
            ) from None
    try:
        with _uninterrupted():
            recovered = recover_interrupted_commit(folder)
            lock._remove_stale()  # and what the killed run left beside it
            return recovered
    finally:
        lock._unlock()


def _journaled_replace(
    folder: Path, staging: Path, produced: list[str], names: tuple[str, ...]
) -> None:
    """Rename the set's files into ``folder`` one by one, all or nothing.

    Used where the folder cannot be swapped whole (:class:`OutputSet`). Every destination is
    checked first (a folder where a file goes is refused before anything moves); then a
    journal is written into the folder, the old files of the set are moved into a backup
    folder inside it (the same file system: each a rename), the new files are renamed in,
    and the journal and the backup are removed. An exception part-way rolls back at once;
    a kill part-way leaves the journal, and the next :class:`OutputSet` of the folder rolls
    back before it starts (:func:`recover_interrupted_commit`). A program reading the folder
    in the milliseconds of a commit, or after a kill and before the next run, can still see
    a mix: that is what is left of the weaker case."""
    for n in produced:
        dst = folder / n
        if dst.is_dir() and not dst.is_symlink() and not (staging / n).is_dir():
            raise InputError(f"cannot write {n}: it is a folder", where=str(dst))
    touched = sorted(set(produced) | set(names))
    present = {n for n in touched if (folder / n).exists() or (folder / n).is_symlink()}
    # the journal names the backup folder before it exists: a kill between the two leaves a
    # journal whose rollback finds nothing to restore; a kill after the journal is removed
    # leaves a backup named as a dead process's temp folder, which the next run removes
    backup = folder / f".critmin-old.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    data = {
        "pid": os.getpid(),
        "backup": backup.name,
        "names": touched,
        "added": sorted(set(produced) - present),
    }
    _write_journal(folder, data)
    try:
        backup.mkdir()
        for n in sorted(present):
            os.replace(folder / n, backup / n)
        for n in produced:
            os.replace(staging / n, folder / n)
    except BaseException:
        _roll_back(folder, data)
        raise
    (folder / COMMIT_JOURNAL).unlink(missing_ok=True)
    shutil.rmtree(backup, ignore_errors=True)


def _enclosing(folder: Path) -> str | None:
    """Why ``folder`` cannot be replaced as a whole (None: it can)."""
    resolved = folder.resolve()
    if resolved == Path.home().resolve():
        return "is your home folder"
    if Path.cwd().resolve().is_relative_to(resolved):
        return (
            "is the working folder"
            if resolved == Path.cwd().resolve()
            else ("contains the working folder")
        )
    return None


def refuse_enclosing_folder(folder: str | Path) -> None:
    """Refuse an output folder that is the working folder, one above it, or the home folder.

    A set is made visible by swapping the whole folder for the staging one; the folder a
    shell stands in (or one above it) and the home folder cannot be swapped, and renaming
    the files in one by one there would let a kill leave an old/new mix. Refusing is the
    decision (issue 13): ``--out .`` gets one line asking for a subfolder, not a weaker set.
    """
    reason = _enclosing(Path(folder))
    if reason is not None:
        raise InputError(
            f"{str(folder) or '.'!r} {reason}; a run's files are written as one set by "
            "replacing the output folder as a whole, which cannot be done to this folder: "
            "give a subfolder, e.g. --out out",
            where="--out",
        )


def glob_escape(name: str) -> str:
    """``name`` with glob wildcards escaped (``[`` ``*`` ``?``)."""
    return re.sub(r"([\[\]*?])", r"[\1]", name)


def check_output_dir(folder: str | Path) -> Path:
    """``folder`` when it is a folder or can be made one; one ``InputError`` otherwise.

    Called before any work so that a bad ``--out`` fails in a second, not after a run.
    """
    p = Path(folder)
    if p.exists() and not p.is_dir():
        raise InputError(f"{str(p)!r} exists and is not a folder; give a folder", where="--out")
    probe = p
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise InputError(f"{str(probe)!r} is a file, not a folder", where="--out")
    if len(p.absolute().name.encode()) > 200:
        raise InputError("folder name too long (over 200 bytes)", where="--out")
    refuse_enclosing_folder(p)
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"cannot write into {str(probe)!r}: permission denied", where="--out")
    return p


def write_json_and_csv(out_dir: str | Path, stem: str, rows: Any, csv_text: str) -> list[Path]:
    """``STEM.json`` (``rows`` as indented JSON; NaN refused) and ``STEM.csv`` as one
    :class:`OutputSet`: both appear together or neither, under the folder's lock (another
    critmin writer into the same folder is refused, not waited for)."""
    payload = json.dumps(rows, indent=2, allow_nan=False) + "\n"
    names = (f"{stem}.json", f"{stem}.csv")
    with OutputSet(out_dir, names=names) as outs:
        for name, text in zip(names, (payload, csv_text), strict=True):
            outs.path(name).write_text(text, encoding="utf-8")
    return outs.written

"""One writer per run folder: an exclusive lock that a process holds while it writes a run.

Two processes writing one run folder corrupt it and both report success (a study started
twice, a cluster task requeued while its first copy still runs): each appends its own rows
to ``metrics.jsonl`` and the model file is whichever wrote last. So every writer of a run
folder (``flowlib train`` and the :class:`~flowlib.training.trainer.Trainer`, the GAN
control, the study runner for each job it starts) first takes this lock, before it writes
anything into the folder, and keeps it until it is done::

    with hold_run(out):
        ...  # write the run

How it works. The lock is ``fcntl.flock(LOCK_EX | LOCK_NB)`` on ``<folder>/.lock``, a file
that also holds who took it, as JSON (host, pid, start time, command), so that a refusal
(:class:`RunLocked`) names the holder. The kernel releases a ``flock`` when its process
dies, however it dies (SIGKILL included), so a lock is never stale on a local filesystem:
a ``.lock`` file left by a killed process does not block anyone, and the next writer takes
it over, saying whose it was. A finished writer removes the file (while still holding the
lock, so that no third process can lock a file about to vanish; a taker checks that the
file it locked is still the one at the path).

Within one process the lock is re-entrant (the command line holds it, then the trainer it
calls asks again). A child process can hold its parent's lock (:meth:`RunLock.for_child`):
the study runner holds a job's folder and starts ``python -m flowlib train`` in it, which
finds the inherited lock through :data:`INHERIT_ENV` and the same open file, and so runs
instead of refusing; the lock lasts while either process lives.

On a shared cluster filesystem, ``flock`` is only as good as the filesystem makes it:

- local disks, and NFSv4 or NFSv3 mounted with ``local_lock=none`` (Linux's default since
  2.6.37): ``flock`` is emulated by NFS byte-range locks and holds across hosts; the server
  drops the lock of a dead or unreachable client after its lease (NFSv4: about 90 s), so a
  crashed node blocks its runs for that long;
- NFS mounted with ``local_lock=flock`` or ``local_lock=all``, or Lustre mounted with
  ``-o localflock``: the lock holds between processes of one host only;
- Lustre mounted with ``-o noflock`` (older releases' default), and some other filesystems:
  ``flock`` fails (``ENOSYS``/``EOPNOTSUPP``/``ENOLCK``); ask the admins for ``-o flock``
  (coherent across clients).

Hence a second line of defence, checked whatever ``flock`` said: while a writer holds a lock
it touches the file every :data:`HEARTBEAT_S` seconds. A lock file that names *another host*
and was touched less than :data:`STALE_AFTER_S` seconds ago is taken as held (its writer may
be alive where this host's ``flock`` cannot see it), and one that names this host is held
while its pid runs (when ``flock`` failed). This check is not atomic (two processes that
start within the same instant on two hosts can both pass it), and it trusts the hosts'
clocks to agree to within a minute or so. Where ``flock`` fails, a warning says so and only
this check protects the run. If you are sure that the run named in a refusal is not running
any more (a node that died, say), delete the ``.lock`` file it names.
"""
from __future__ import annotations

import atexit
import errno
import fcntl
import json
import os
import socket
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from flowlib.core.errors import FlowlibError

LOCK_FILE = ".lock"
INHERIT_ENV = "FLOWLIB_RUN_LOCK_FD"  # the descriptor of a lock a parent lends its child
HEARTBEAT_S = 30.0     # a holder touches its lock file this often ...
STALE_AFTER_S = 120.0  # ... and one from another host untouched this long is stale
GRACE_S = 3.0          # a held lock is tried this long before refusing (a holder just killed)


class RunLocked(FlowlibError, RuntimeError):
    """Another process holds the run folder; ``holder`` is its record (host, pid, started)."""

    def __init__(self, message: str, holder: dict):
        super().__init__(message)
        self.holder = holder


def describe(holder: dict) -> str:
    """``pid 123 on host h (since 2024-05-01T10:00:00Z, /path/flowlib/__main__.py train ...)``."""
    if not holder.get("pid"):
        return "another process (it has not written its name into the lock file yet)"
    since = f"since {holder['started']}" if holder.get("started") else ""
    cmd = " ".join(holder.get("argv") or [])
    extra = ", ".join(x for x in (since, cmd) if x)
    return (f"pid {holder['pid']} on host {holder.get('host', '?')}"
            + (f" ({extra})" if extra else ""))


class RunLock:
    """The hold of one process on one run folder (see the module docstring)."""

    def __init__(self, folder: Path, fd: int, *, inherited: bool, created: bool):
        self.folder, self.fd, self.inherited, self.created = folder, fd, inherited, created
        self.path = folder / LOCK_FILE
        self.depth, self.closed = 1, False
        self.owner = os.getpid()  # a forked copy of this process must not remove the file
        self.started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True,
                                      name=f"runlock {folder.name}")
        self._beat.start()

    def write_record(self, **extra) -> None:
        """Name this process in the lock file (in place: the locked file must stay the same)."""
        record = {"host": socket.gethostname(), "pid": os.getpid(), "started": self.started,
                  "argv": list(sys.argv), **extra}
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, (json.dumps(record) + "\n").encode(), 0)

    @contextmanager
    def for_child(self, env: dict | None = None):
        """``(env, pass_fds)`` for one ``subprocess`` call that writes this folder while this
        process waits: the child holds this very lock instead of being refused. Afterwards the
        lock file names this process again."""
        env = dict(os.environ if env is None else env)
        env[INHERIT_ENV] = str(self.fd)
        try:
            yield env, (self.fd,)
        finally:
            self.write_record()

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                os.utime(self.fd)
            except OSError:
                pass

    def _close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._stop.set()
        self._beat.join()
        if not self.inherited and os.getpid() == self.owner:
            # remove the file while still holding it: a process that locks the file in the
            # meantime sees that it is no longer the one at the path, and starts over
            if _is_at_path(self.fd, self.path):
                self.path.unlink(missing_ok=True)
            if self.created:
                try:
                    self.folder.rmdir()  # nothing was written: leave no empty folder
                except OSError:
                    pass
        # closing drops this process's hold; a lent lock stays with the other process
        os.close(self.fd)


_held: dict[str, RunLock] = {}
_guard = threading.Lock()


@atexit.register
def _release_all() -> None:
    """A process that exits normally lets its folders go tidily (a kill leaves the file,
    which the kernel has unlocked: the next writer takes it over)."""
    with _guard:
        locks = list(_held.values())
        _held.clear()
    for lock in locks:
        lock._close()


def acquire(folder) -> RunLock:
    """Hold ``folder`` (created if missing) for this process, or raise :class:`RunLocked`.

    Re-entrant: a folder this process already holds is held once more (release as often).
    A lock file left by a process that no longer holds it is taken over, with a message on
    standard error naming it.
    """
    folder = Path(folder)
    key = os.path.realpath(folder)
    with _guard:
        lock = _held.get(key)
        if lock is not None:
            lock.depth += 1
            return lock
    lock = _inherited(folder) or _take(folder)  # two threads: the second is refused
    with _guard:
        _held[key] = lock
    return lock


def release(lock: RunLock) -> None:
    """Undo one :func:`acquire`; the last one lets the folder go and removes the lock file."""
    with _guard:
        lock.depth -= 1
        if lock.depth > 0 or lock.closed:  # closed: let go at exit already
            return
        _held.pop(os.path.realpath(lock.folder), None)
    lock._close()


@contextmanager
def hold_run(folder):
    """``with hold_run(out): ...``: :func:`acquire` and :func:`release` around a block."""
    lock = acquire(folder)
    try:
        yield lock
    finally:
        release(lock)


# ------------------------------------------------------------------ internals


def _flock(fd: int) -> bool | None:
    """True: locked; False: another process holds it; None: this filesystem has no flock."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as err:
        if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        if err.errno in (errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOLCK, errno.EINVAL):
            return None
        raise


def _read(fd: int) -> dict:
    try:
        return json.loads(os.pread(fd, 1 << 16, 0).decode() or "{}")
    except (OSError, ValueError):
        return {}


def _is_at_path(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _pid_alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, TypeError, OverflowError):
        return True  # someone else's process, or a record we cannot read: assume it runs
    return True


def _still_held(previous: dict, fd: int, locked: bool | None) -> bool:
    """Whether the writer named in the lock file must be taken as alive although ``flock``
    gave us the lock (``locked``) or could not tell (None): the second line of defence."""
    if not previous.get("pid"):
        return False
    if previous.get("host") == socket.gethostname():
        # flock is the kernel's own word on this host; without it, ask whether the pid runs
        return not locked and previous.get("pid") != os.getpid() and _pid_alive(previous["pid"])
    age = time.time() - os.fstat(fd).st_mtime
    return age < STALE_AFTER_S


def _why(holder: dict, fd: int) -> str:
    """What the second line of defence read in a lock file that names another host."""
    if holder.get("host") == socket.gethostname():
        return ""
    return (f" (the lock file names another host and was last touched "
            f"{time.time() - os.fstat(fd).st_mtime:.0f} s ago; the heartbeat is every "
            f"{HEARTBEAT_S:.0f} s and this filesystem's locks may not reach across hosts)")


def _refusal(folder: Path, holder: dict, why: str = "") -> RunLocked:
    return RunLocked(
        f"{folder} is being written by {describe(holder)}{why}. One run folder takes one "
        "writer at a time: wait for that process to finish (or stop it), then resume with "
        "--resume; or write this run into another folder. If you are sure no process writes "
        f"it any more, delete {folder / LOCK_FILE}.", holder)


def _take(folder: Path) -> RunLock:
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    for _ in range(50):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            locked = _flock(fd)
            deadline = time.monotonic() + GRACE_S
            while locked is False and time.monotonic() < deadline:
                time.sleep(0.05)  # a killed holder may take a moment to be gone
                locked = _flock(fd)
            previous = _read(fd)
            if locked is False:
                raise _refusal(folder, previous)
            if not _is_at_path(fd, path):
                os.close(fd)  # its holder finished and removed it meanwhile: lock the new one
                continue
            if _still_held(previous, fd, locked):
                raise _refusal(folder, previous, _why(previous, fd))
        except BaseException:
            os.close(fd)  # a refused lock file is its holder's: nothing is removed
            raise
        if locked is None:
            print(f"flowlib: warning: this filesystem does not support flock, so {path} guards "
                  "the run by its content only (see flowlib/core/runlock.py)", file=sys.stderr)
        if previous.get("pid"):
            print(f"flowlib: {folder} was left locked by {describe(previous)}, which no longer "
                  f"holds it{_why(previous, fd) or ' (it ended or was killed)'}: taking the "
                  "lock over", file=sys.stderr)
        lock = RunLock(folder, fd, inherited=False, created=created)
        lock.write_record()
        return lock
    raise RunLocked(f"{path} kept changing while flowlib tried to lock it: another process is "
                    "starting and ending runs in this folder; try again.", {})


def _inherited(folder: Path) -> RunLock | None:
    """The lock a parent process lent this one for ``folder`` (:meth:`RunLock.for_child`)."""
    spec = os.environ.get(INHERIT_ENV)
    if not spec:
        return None
    try:
        fd = int(spec)
    except ValueError:
        return None
    if not _is_at_path(fd, folder / LOCK_FILE) or _flock(fd) is False:
        return None  # lent for another folder, or not really held
    parent = _read(fd)
    lock = RunLock(folder, fd, inherited=True, created=False)
    lock.write_record(parent_pid=parent.get("pid"))
    return lock

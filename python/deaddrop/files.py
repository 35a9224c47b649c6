"""The agent's files on disk (PROTOCOL §1 "Files under $DEADDROP_HOME"), shared with the TypeScript
SDK: the home folder (0700), atomic writes (a temporary file in the same folder, written, fsynced
and set to 0600, renamed into place, then the folder fsynced), and the lock file every
read-modify-write takes, ``<file>.lock`` (``client/src/file-lock.ts``): created exclusively,
holding ``<hostname> <pid> <random> <pid namespace>``, touched every 10 s by its holder; one
untouched for 30 s, or whose holder is a process of this host and pid namespace that no longer
runs, is broken — by one process at a
time, under ``<lock>.break`` — so a TypeScript and a Python process of one agent take turns."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shlex
import socket
import stat
import threading
import time
from collections.abc import Iterator

from .errors import DeadDropError

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
STALE_LOCK_S = 30.0
_HEARTBEAT_S = STALE_LOCK_S / 3
_LOCK_RETRY_S = 0.005
DEFAULT_LOCK_WAIT_S = 10.0


def resolve_home(home: str | os.PathLike[str] | None = None) -> str:
    """The home folder: the given one, else ``DEADDROP_HOME``, else ``~/.deaddrop``."""
    if home is None:
        env = os.environ.get("DEADDROP_HOME", "").strip()
        home = env or os.path.join(os.path.expanduser("~"), ".deaddrop")
    return os.path.abspath(os.fspath(home))


def agents_dir(home: str) -> str:
    return os.path.join(home, "agents")


def identity_file_path(home: str, agent_id: str) -> str:
    return os.path.join(agents_dir(home), f"{agent_id}.json")


def state_file_path(home: str, agent_id: str) -> str:
    return os.path.join(agents_dir(home), f"{agent_id}.state.json")


def prekeys_file_path(home: str, agent_id: str) -> str:
    return os.path.join(agents_dir(home), f"{agent_id}.prekeys.json")


def ensure_home(home: str) -> None:
    """Creates the home and agents folders as 0700 (the agents folder is tightened if it exists)."""
    if not os.path.isdir(home):
        os.makedirs(home, mode=PRIVATE_DIR_MODE, exist_ok=True)
        # Only a folder we created is ours to chmod; DEADDROP_HOME may point at a shared parent.
        os.chmod(home, PRIVATE_DIR_MODE)
    agents = agents_dir(home)
    os.makedirs(agents, mode=PRIVATE_DIR_MODE, exist_ok=True)
    os.chmod(agents, PRIVATE_DIR_MODE)


def write_file_atomic(path: str, contents: str, *, exclusive: bool = False) -> None:
    """Writes ``contents`` (UTF-8) so that readers see the old file or the new one, never half.
    ``exclusive``: fail with FileExistsError instead of replacing an existing file."""
    folder = os.path.dirname(path)
    temp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    try:
        # The umask may have narrowed the mode: set it exactly.
        os.fchmod(fd, PRIVATE_FILE_MODE)
        data = contents.encode("utf-8", "surrogatepass")
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    os.close(fd)
    try:
        # link() fails with EEXIST when the target exists: an atomic "create only if absent".
        if exclusive:
            os.link(temp, path)
        else:
            os.rename(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    _sync_directory(folder)


def _sync_directory(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        # Some filesystems refuse to fsync a directory; the data is synced already.
        pass
    finally:
        os.close(fd)


def read_text(path: str) -> str | None:
    """The file's text, or None when it does not exist."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def file_stamp(path: str) -> str | None:
    """Tells one version of a file from another: every write renames a new file into place."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}"


def read_with_stamp(path: str) -> tuple[str, str] | None:
    """The text and stamp of one version of the file, however it is replaced meanwhile."""
    try:
        handle = open(path, encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        return None
    with handle:
        info = os.fstat(handle.fileno())
        stamp = f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}"
        return handle.read(), stamp


# ---- the lock ----------------------------------------------------------------------------------


def _pid_namespace() -> str:
    """This process's pid namespace (Linux: ``pid:[4026531836]``), or '' where there is none."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


PID_NAMESPACE = _pid_namespace()

_queues: dict[str, threading.Lock] = {}
_queues_guard = threading.Lock()


def _queue_for(path: str) -> threading.Lock:
    with _queues_guard:
        lock = _queues.get(path)
        if lock is None:
            lock = _queues[path] = threading.Lock()
        return lock


@contextlib.contextmanager
def file_lock(path: str, holder: str, wait_s: float = DEFAULT_LOCK_WAIT_S) -> Iterator[None]:
    """Holds ``path``'s lock: after every earlier holder in this process, with ``<path>.lock``
    taken. Not re-entrant."""
    queue = _queue_for(path)
    with queue:
        with hold_lock_file(f"{path}.lock", holder, wait_s):
            yield


@contextlib.contextmanager
def hold_lock_file(
    lock_path: str, holder: str, wait_s: float = DEFAULT_LOCK_WAIT_S
) -> Iterator[None]:
    """The lock file ``lock_path`` alone, without this process's queue."""
    token = f"{socket.gethostname()} {os.getpid()} {secrets.token_hex(12)} {PID_NAMESPACE}"
    _acquire(lock_path, token, holder, wait_s)
    stop = threading.Event()

    def heartbeat() -> None:
        # A slow holder keeps its lock from looking stale.
        while not stop.wait(_HEARTBEAT_S):
            with contextlib.suppress(OSError):
                os.utime(lock_path)

    beat = threading.Thread(target=heartbeat, name="deaddrop-lock-heartbeat", daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()
        _release(lock_path, token)


def _acquire(lock_path: str, token: str, holder: str, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        except FileExistsError:
            pass
        else:
            try:
                os.write(fd, token.encode("utf-8"))
            except BaseException:
                # Taken but not written (a full disk): removed, or everyone would wait it out.
                os.close(fd)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(lock_path)
                raise
            os.close(fd)
            return
        held = _look(lock_path)
        if held is None:
            continue
        stale = time.time() - held[2] > STALE_LOCK_S or _holder_is_gone(held[0])
        if stale and _break_stale(lock_path, held):
            continue
        if time.monotonic() > deadline:
            raise DeadDropError(
                "IDENTITY_CORRUPT",
                f"{lock_path} has been held for over {wait_s:g} s; if no {holder} runs, delete it",
            )
        time.sleep(_LOCK_RETRY_S)


def _look(path: str) -> tuple[str, int, float] | None:
    """``(token, inode, mtime)`` of the lock file as it is now, read through one handle."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        info = os.fstat(fd)
        chunks = []
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            chunks.append(chunk)
            if sum(map(len, chunks)) > 4096:
                break
        return b"".join(chunks).decode("utf-8", "replace"), info.st_ino, info.st_mtime
    finally:
        os.close(fd)


def _break_stale(lock_path: str, seen: tuple[str, int, float]) -> bool:
    """Removes the stale lock ``seen``, and only it; False when another process is breaking it."""
    break_path = f"{lock_path}.break"
    try:
        os.close(os.open(break_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        breaker = _look(break_path)
        if breaker is not None and time.time() - breaker[2] > STALE_LOCK_S:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(break_path)
        return False
    try:
        now = _look(lock_path)
        if now is not None and now == seen:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock_path)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(break_path)


def _holder_is_gone(token: str) -> bool:
    """Whether the lock's holder was a process of this host name and pid namespace that no longer
    runs (a Ctrl-C inside a change). A container may share the host name (and the folder) with its
    host, and a pid means something only in its own namespace: anything else is judged by age."""
    parts = token.split(" ")
    if len(parts) < 4 or parts[0] != socket.gethostname():
        return False
    if PID_NAMESPACE == "" or parts[3] != PID_NAMESPACE:
        return False
    pid_text = parts[1]
    if not pid_text.isascii() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid <= 0 or pid > 2**53:
        return False
    try:
        os.kill(pid, 0)
        return False
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, OSError) as error:
        return getattr(error, "errno", None) == errno.ESRCH


def _release(lock_path: str, token: str) -> None:
    held = _look(lock_path)
    if held is not None and held[0] == token:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock_path)


def mode_of(path: str) -> int | None:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def exposed_file_warnings(home: str, agent_ids: list[str]) -> list[str]:
    """One warning per exposed path (``client/src/exposed-files.ts``): a home others may write to
    (unless sticky), an agents folder or identity file open to group or others."""
    warnings: list[str] = []
    home_mode = mode_of(home)
    if home_mode is not None and home_mode & 0o022 and not home_mode & 0o1000:
        warnings.append(
            _warning(home, home_mode, "others could replace the identities in it", "go-w")
        )
    agents = agents_dir(home)
    agents_mode = mode_of(agents)
    if agents_mode is not None and agents_mode & 0o077:
        warnings.append(
            _warning(agents, agents_mode, "it holds the identities and their pins", "700")
        )
    for agent_id in agent_ids:
        path = identity_file_path(home, agent_id)
        mode = mode_of(path)
        if mode is not None and mode & 0o077:
            warnings.append(_warning(path, mode, f"it holds {agent_id}'s secret key", "600"))
    return warnings


def _warning(path: str, mode: int, why: str, chmod_mode: str) -> str:
    words = [word for bits, word in ((0o044, "readable"), (0o022, "writable")) if mode & bits]
    access = " and ".join(words) or "accessible"
    return (
        f"{path} is {access} by other users (mode {mode:04o}) and {why}; "
        f"fix with: chmod {chmod_mode} {shlex.quote(path)}"
    )

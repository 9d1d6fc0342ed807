"""A papermill engine whose kernels are forked, fresh for every notebook, from a warm interpreter.

Starting a kernel and importing pandas, numpy, matplotlib, seaborn, statsmodels and hsp_eval
costs more CPU than many a report's own cells (docs/performance.md has the measurements). The
``warm`` engine pays it once per worker process:

1. On the first notebook, the worker starts a **fork server**: a separate interpreter (same
   executable and options as the kernel spec's) that imports :data:`PRELOAD` and waits on a
   private Unix socket. It never runs notebook code itself. The batch runner starts one server
   for all its workers instead (:func:`shared_server`, :func:`attach`): the imports are then paid
   once per batch.
2. For each notebook, the kernel provisioner (:class:`WarmProvisioner`) asks the server for a
   kernel; the server ``fork()``\\ s a **new child** that starts a new session, changes to the
   notebook's folder, takes the environment the standard launcher would have given it, reseeds
   numpy's global random state and runs ``ipykernel``'s ``IPKernelApp`` on the connection
   file. Nothing a notebook does can reach the server or the next notebook's kernel: each child
   is a copy of the server as it was after the imports, and exits when its notebook ends.
   The server's objects (the imported libraries) are frozen out of the garbage collector
   (:func:`gc.freeze`) before each fork, so a kernel's full collections never walk them and the
   kernel copies fewer of the server's memory pages (their collector headers stay untouched).
3. The child is a kernel like any other to jupyter_client/nbclient: interrupt, kill and
   exit status go through the provisioner (signals to the child's process group; the exit
   status comes back from the server, which reaps its children).

No process is left behind: the server exits (killing its kernels) when the worker closes the
pipe to it, at the worker's exit or when the worker dies; a kernel whose client disconnects is
killed; a kernel whose server died exits (ipykernel's parent poller). Where ``os.fork`` is not
available (Windows) or not safe after these imports (macOS), or the kernel spec is not this
interpreter's ``ipykernel_launcher``, the engine says so in a warning and starts standard kernels.

**Quiet kernels.** Every kernel hsp_eval starts, forked or not (:func:`hsp_eval.run.execute.run_notebook`
gives papermill's standard engine :class:`QuietKernelManager`), is managed so that a report that
succeeds prints nothing to the terminal:

- it talks over Unix sockets (ZeroMQ's IPC transport) in a private folder where that transport
  exists, not over TCP on localhost: ipykernel warns about unencrypted TCP, and two kernels
  started at once can no longer be handed the same free port;
- it is not interrupted on its way out. jupyter_client's ``shutdown_kernel`` sends SIGINT
  before its shutdown request; a kernel still finishing its last reply (papermill's final
  ``kernel_info`` request) takes that as a ``KeyboardInterrupt`` and logs
  ``ERROR | KeyboardInterrupt caught in kernel``. :class:`QuietProvisioner` holds that SIGINT
  back and sends it only if the kernel has not ended :data:`SHUTDOWN_GRACE` seconds after the
  shutdown request (a kernel still running a cell then gets it as before).

What a kernel logs when something is really wrong (and every failed report) is still shown.

Use it with ``engine_name="warm"`` (registered as papermill's ``papermill.engine`` entry point
``warm``; :func:`hsp_eval.run.execute.run_notebook` also registers it, :func:`register_engine`)::

    run_notebook("notebooks/school_evaluation.ipynb", out, {"school_id": "0113"}, engine_name="warm")
    papermill --engine warm in.ipynb out.ipynb

Environment: ``HSP_EVAL_WARM_PRELOAD`` (comma-separated module names) changes what the server
imports; ``HSP_EVAL_WARM_STRICT`` (:data:`STRICT_ENV`, set by the test suite) makes a module of
that list that fails to import an error instead of a slower kernel.

Importing this module changes nothing: the exit and fork hooks that stop a process's fork
servers are installed when it first uses one.

**Beyond the documented APIs.** :data:`RELIES_ON` lists every private or undocumented name
and behaviour of jupyter_client, papermill and Python this module depends on, with what it
relies on; ``tests/test_warm.py`` checks each, so an upgrade that changes one fails a test
rather than a batch.

Examples
--------
>>> from hsp_eval.run import warm
>>> "pandas" in warm.PRELOAD and "hsp_eval" in warm.PRELOAD
True
>>> warm.kernel_prefix(["/usr/bin/python3", "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "k.json"])
('/usr/bin/python3', '-Xfrozen_modules=off')
>>> warm.kernel_prefix(["R", "--slave", "-f", "k.json"]) is None
True
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import gc
import importlib
import json
import logging
import multiprocessing.util
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

log = logging.getLogger(__name__)

#: modules the fork server imports before forking kernels (the libraries every report uses)
PRELOAD = (
    "ipykernel.kernelapp", "ipykernel.ipkernel", "IPython", "IPython.display", "zmq", "numpy", "pandas", "pyarrow",
    "pyarrow.parquet", "scipy.stats", "matplotlib", "matplotlib.pyplot", "seaborn", "statsmodels.api",
    "statsmodels.formula.api", "yaml", "hsp_eval", "hsp_eval.indicators.engine", "hsp_eval.indicators.registry", "hsp_eval.indicators.trends",
    "hsp_eval.indicators.params", "hsp_eval.reports.provenance", "hsp_eval.run.demo", "hsp_eval.reports.plots", "hsp_eval.reports.plots_national",
    "hsp_eval.reports.school", "hsp_eval.reports.summary", "hsp_eval.reports.national", "hsp_eval.reports.funnel", "hsp_eval.reports.multilevel",
    "hsp_eval.reports.inquiry_impact",
)
#: environment variable: when set (and not "0"), a :data:`PRELOAD` module that fails to import stops the server
STRICT_ENV = "HSP_EVAL_WARM_STRICT"
#: seconds to wait for the fork server to import :data:`PRELOAD` and listen
START_TIMEOUT = 180
#: seconds a kernel asked to shut down has to end before it gets the interrupt jupyter_client sent first
#: (1 s let a kernel slowed by a loaded machine get it while ending, and log
#: "ERROR:tornado.general:Uncaught exception in ZMQStream callback": docs/decisions.md)
SHUTDOWN_GRACE = 5.0
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
#: the longest Unix socket path this module gives ZeroMQ (the system limit is 104-108 bytes)
MAX_SOCKET_PATH = 100

#: Private or undocumented names and behaviours this module relies on, each checked by a test in
#: tests/test_warm.py. Dotted name -> what is relied on.
RELIES_ON = {
    "jupyter_client.manager.KernelManager.shutting_down":
        "True from the start of shutdown_kernel(), which interrupts the kernel (SIGINT through the "
        "provisioner's send_signal) before it sends the shutdown request, then calls the provisioner's "
        "shutdown_requested(), then waits for the kernel, polling it before it first sleeps",
    "jupyter_client.manager.KernelManager.provisioner":
        "a provisioner set before start_kernel() is used, not replaced by the provisioner factory's "
        "(jupyter_client keeps it so for restarts)",
    "jupyter_client.provisioning.LocalProvisioner.process":
        "LocalProvisioner uses its process only through poll(), wait(), send_signal(), kill(), terminate() "
        "and the stdin/stdout/stderr attributes, and signals the process group pgid (ForkedKernel has just these)",
    "papermill.engines.Engine.execute_notebook":
        "copied by the warm engine's execute_notebook to give papermill a subclass of its "
        "NotebookExecutionManager; a test holds the source it was copied from",
    "papermill.engines.NotebookExecutionManager.save":
        "the manager writes the notebook only through self.save(): at notebook_start(), cell_start(), "
        "cell_complete(), autosave_cell() and notebook_complete()",
    "atexit._run_exitfuncs":
        "runs this process's atexit handlers (the kernel's own) in a forked kernel that then leaves by os._exit",
    "multiprocessing.util.Finalize":
        "a finalizer with an exit priority runs when a multiprocessing or concurrent.futures worker "
        "exits (by os._exit, without atexit handlers)",
}


def fork_supported() -> bool:
    """True where kernels can be forked from a warm interpreter (POSIX with ``fork``, not macOS).

    >>> isinstance(fork_supported(), bool)
    True
    """
    return hasattr(os, "fork") and hasattr(socket, "AF_UNIX") and sys.platform != "darwin"


def strict() -> bool:
    """True when :data:`STRICT_ENV` is set: a :data:`PRELOAD` module that fails to import is an error.

    >>> import os
    >>> strict() == (os.environ.get(STRICT_ENV, "0") not in ("", "0"))
    True
    """
    return os.environ.get(STRICT_ENV, "0") not in ("", "0")


def kernel_prefix(cmd: list[str]) -> tuple[str, ...] | None:
    """The interpreter part of a kernel command (``python [options]``) if it runs ``-m ipykernel_launcher``.

    Returns None for any other command (another language, a wrapper script), which the warm
    engine then starts the standard way.
    """
    for i in range(1, len(cmd) - 1):
        if cmd[i] == "-m" and cmd[i + 1] == "ipykernel_launcher":
            prefix = tuple(cmd[:i])
            return prefix if all(a.startswith("-") for a in prefix[1:]) else None
    return None


def _kernel_args(cmd: list[str]) -> list[str]:
    i = cmd.index("ipykernel_launcher")
    return list(cmd[i + 1:])


# --------------------------------------------------------------------------------------------
# the fork server (runs in its own interpreter)
# --------------------------------------------------------------------------------------------

def _send(conn: socket.socket, message: dict) -> None:
    try:
        conn.sendall((json.dumps(message) + "\n").encode())
    except OSError:
        pass


def _read_line(conn: socket.socket, timeout: float) -> dict:
    conn.settimeout(timeout)
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before a full request")
        buf += chunk
    conn.settimeout(None)
    return json.loads(buf)


def _run_kernel_child(request: dict, close: list, status_w: int) -> None:
    """In the forked child: become a fresh kernel process and run IPKernelApp. Never returns."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for s in close:
            try:
                os.close(s) if isinstance(s, int) else s.close()
            except OSError:
                pass
        os.setsid()  # its own process group, as jupyter_client's launcher gives a kernel
        try:
            os.chdir(request["cwd"])
        except OSError as e:
            os.write(status_w, f"cannot start the kernel in {request['cwd']!r}: {e}".encode())
            os._exit(127)
        env = dict(request["env"])
        env["JPY_PARENT_PID"] = str(os.getppid())  # ipykernel exits if the server goes away
        # (given to IPKernelApp below too: its trait read JPY_PARENT_PID when the server imported it)
        os.environ.clear()
        os.environ.update(env)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        import ipykernel_launcher  # noqa: F401  (only for its path, as sys.argv[0] of a kernel)

        sys.argv = [ipykernel_launcher.__file__, *request["argv"]]
        if sys.path and sys.path[0] == "":
            del sys.path[0]  # as ipykernel_launcher does; IPython adds it back
        if "numpy" in sys.modules:  # a fresh interpreter seeds numpy's global state from the OS
            sys.modules["numpy"].random.seed()
        os.close(status_w)
        from ipykernel.kernelapp import IPKernelApp

        try:
            IPKernelApp.launch_instance(argv=request["argv"], parent_handle=os.getppid())
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        atexit._run_exitfuncs()  # the kernel's own handlers; os._exit below skips them (RELIES_ON)
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - best effort at exit
                pass
    except BaseException:  # noqa: BLE001 - report and exit, never fall back into the server loop
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def _kill_group(pid: int, sig: int) -> None:
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, sig)
            return
        except OSError:
            continue


def serve(sock_path: str, ready_fd: int, preload: tuple[str, ...]) -> None:
    """Run the fork server: import ``preload``, listen on ``sock_path``, fork a kernel per request.

    Exits (terminating its kernels) when its standard input reaches end of file, i.e. when the
    process that started it closes the pipe or dies. Reports readiness (or the import error)
    on ``ready_fd``.
    """
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)  # what ipykernel sets before any import
    failed = []
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - a missing optional module is not fatal
            failed.append(f"{name} ({type(e).__name__}: {e})")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(64)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *a: None)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the terminal is for the batch
    os.write(ready_fd, ("ok" + ("\nnot preloaded: " + "; ".join(failed) if failed else "")).encode())
    os.close(ready_fd)
    children: dict[int, socket.socket] = {}  # kernel pid -> its client's connection
    owners: dict[socket.socket, int] = {}
    try:
        while True:
            try:
                readable, _, _ = select.select([0, listener, wake_r, *owners], [], [], 10.0)
            except InterruptedError:
                readable = []
            if 0 in readable and not os.read(0, 4096):
                break  # the worker closed the pipe or died
            if wake_r in readable:
                try:
                    os.read(wake_r, 4096)
                except BlockingIOError:
                    pass
            while children:  # reap every kernel that ended and tell its client
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                conn = children.pop(pid, None)
                if conn is not None:
                    owners.pop(conn, None)
                    _send(conn, {"exit": os.waitstatus_to_exitcode(status)})
                    conn.close()
            for conn in [c for c in readable if c in owners]:
                try:
                    gone = not conn.recv(4096)
                except OSError:
                    gone = True
                if gone:  # its client went away without waiting for it: no orphan kernel
                    _kill_group(owners.pop(conn), signal.SIGKILL)
                    conn.close()
            if listener in readable:
                conn, _ = listener.accept()
                try:
                    request = _read_line(conn, 30)
                except (OSError, ValueError):
                    conn.close()
                    continue
                status_r, status_w = os.pipe()
                gc.freeze()  # the kernel's collections skip what the server holds (see the module's notes)
                pid = os.fork()
                if pid == 0:
                    os.close(status_r)
                    _run_kernel_child(request, [listener, conn, *owners, wake_r, wake_w], status_w)
                os.close(status_w)
                error = b""
                while chunk := os.read(status_r, 4096):
                    error += chunk
                os.close(status_r)
                if error:
                    os.waitpid(pid, 0)
                    _send(conn, {"error": error.decode(errors="replace")})
                    conn.close()
                    continue
                _send(conn, {"pid": pid})
                children[pid] = conn
                owners[conn] = pid
    finally:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for pid in children:
            _kill_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while children and time.monotonic() < deadline:
            for pid in list(children):
                if os.waitpid(pid, os.WNOHANG)[0]:
                    children.pop(pid).close()
            time.sleep(0.05)
        for pid in list(children):
            _kill_group(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        listener.close()
        try:
            os.unlink(sock_path)
        except OSError:
            pass


def _server_main() -> None:
    sock_path, ready_fd = sys.argv[1], int(sys.argv[2])
    preload = tuple(json.loads(sys.argv[3]))
    serve(sock_path, ready_fd, preload)


# --------------------------------------------------------------------------------------------
# the client side (in the process that runs papermill)
# --------------------------------------------------------------------------------------------

class ForkedKernel:
    """A kernel forked by a :class:`ForkServer`, with the part of :class:`subprocess.Popen` that jupyter_client uses."""

    stdin = stdout = stderr = None

    def __init__(self, conn: socket.socket, pid: int):
        self._conn, self.pid, self.returncode = conn, pid, None
        self._buf = b""

    def _read(self, timeout: float | None) -> None:
        if self.returncode is not None:
            return
        ready, _, _ = select.select([self._conn], [], [], timeout)
        if not ready:
            return
        chunk = self._conn.recv(4096)
        if not chunk:  # the server ended without reporting: it killed its kernels
            self.returncode = -signal.SIGKILL
            self._conn.close()
            return
        self._buf += chunk
        if self._buf.endswith(b"\n"):
            self.returncode = json.loads(self._buf)["exit"]
            self._conn.close()

    def poll(self) -> int | None:
        """The exit code once the kernel has ended (negative: the signal that ended it), else None."""
        self._read(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the kernel to end and return its exit code."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            self._read(left)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkServer:
    """A warm interpreter (started by and tied to this process) that forks kernels on request.

    Parameters
    ----------
    prefix : the interpreter and its options, e.g. ``("/path/python", "-Xfrozen_modules=off")``.
    preload : modules to import before forking (default :data:`PRELOAD`, or ``HSP_EVAL_WARM_PRELOAD``).

    Raises
    ------
    RuntimeError
        When the server does not start, or (with :data:`STRICT_ENV` set) a preload module fails to import.
    """

    def __init__(self, prefix: tuple[str, ...], preload: tuple[str, ...] | None = None):
        env_preload = os.environ.get("HSP_EVAL_WARM_PRELOAD")
        if preload is None:
            preload = tuple(m.strip() for m in env_preload.split(",") if m.strip()) if env_preload else PRELOAD
        self.prefix, self.preload = tuple(prefix), tuple(preload)
        self._dir = tempfile.mkdtemp(prefix="hsp-warm-")
        self.path = os.path.join(self._dir, "fork.sock")
        ready_r, ready_w = os.pipe()
        code = "from hsp_eval.run.warm import _server_main; _server_main()"
        self.process = subprocess.Popen([*self.prefix, "-c", code, self.path, str(ready_w), json.dumps(self.preload)],
                                        stdin=subprocess.PIPE, pass_fds=(ready_w,), start_new_session=True)
        os.close(ready_w)
        self.owner = os.getpid()
        message, deadline = b"", time.monotonic() + START_TIMEOUT
        try:
            while time.monotonic() < deadline:
                if select.select([ready_r], [], [], 1.0)[0]:
                    chunk = os.read(ready_r, 65536)
                    if not chunk:
                        break
                    message += chunk
                elif self.process.poll() is not None:
                    break
        finally:
            os.close(ready_r)
        text = message.decode(errors="replace")
        if not text.startswith("ok"):
            self.close()
            raise RuntimeError(f"the warm kernel server did not start (exit code {self.process.returncode}): "
                               f"{text or 'no message; see its error output above'}")
        if "not preloaded" in text:  # slower kernels (they import it themselves), not wrong ones...
            detail = text.split("\n", 1)[1]
            if strict():  # ...except where a module renamed or gone must fail (the test suite)
                self.close()
                raise RuntimeError(f"warm kernel server: {detail} ({STRICT_ENV} is set)")
            log.info("warm kernel server: %s", detail)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def launch(self, argv: list[str], cwd: str, env: dict) -> ForkedKernel:
        """Fork a fresh kernel running ``ipykernel_launcher argv`` in ``cwd`` with ``env``."""
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(self.path)
            conn.sendall((json.dumps({"argv": list(argv), "cwd": str(cwd), "env": dict(env)}) + "\n").encode())
            reply = _read_line(conn, START_TIMEOUT)
        except BaseException:
            conn.close()
            raise
        if "error" in reply:
            conn.close()
            raise RuntimeError(reply["error"])
        return ForkedKernel(conn, reply["pid"])

    def close(self, timeout: float = 10) -> None:
        """Stop the server (it terminates any kernel still running) and wait for it to exit."""
        if os.getpid() != self.owner:
            return
        if self.process.stdin and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for leftover in (self.path, self._dir):
            try:
                os.rmdir(leftover) if leftover == self._dir else os.unlink(leftover)
            except OSError:
                pass


class SharedServer:
    """A fork server started by another process (the batch runner's), reached through its socket.

    Worker processes of one batch share it (:func:`attach`): its imports are paid once per batch,
    not once per worker. Kernels are forked exactly as for a worker's own server, one fresh child
    per notebook, so sharing changes nothing a notebook sees.
    """

    def __init__(self, path: str, prefix: tuple[str, ...], pid: int):
        self.path, self.prefix, self.pid, self.owner = path, tuple(prefix), pid, os.getpid()
        self.gone = False

    def alive(self) -> bool:
        return not self.gone and os.path.exists(self.path)

    def launch(self, argv: list[str], cwd: str, env: dict) -> ForkedKernel:
        """As :meth:`ForkServer.launch`; a server that no longer answers is marked gone (and the error raised)."""
        try:
            return ForkServer.launch(self, argv, cwd, env)
        except (ConnectionError, FileNotFoundError):  # killed outright: its socket file may stay
            self.gone = True
            raise

    def close(self, timeout: float = 10) -> None:
        """Nothing to stop here: the process that started the server stops it."""


_servers: dict[tuple[str, ...], ForkServer | SharedServer] = {}
_lock = threading.Lock()
_exit_hooks_pid: int | None = None  # the process that installed the exit hooks
_fork_hook = False  # inherited by a forked child together with the hook itself


def _install_hooks() -> None:
    """Stop this process's fork servers when it exits; forget the parent's in a forked child.

    Done on first use of a server rather than on import. Called before :data:`_lock` is first
    taken, so a fork while another thread holds the lock always finds the fork hook installed.
    """
    global _exit_hooks_pid, _fork_hook
    if not _fork_hook and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_forget_after_fork)
        _fork_hook = True
    if _exit_hooks_pid != os.getpid():
        _exit_hooks_pid = os.getpid()
        atexit.register(shutdown)
        # multiprocessing's workers (the batch's pool, dask's) leave by os._exit without atexit
        # handlers, but run these finalizers: the worker then stops and reaps its server itself
        multiprocessing.util.Finalize(None, shutdown, exitpriority=10)


def server_for(prefix: tuple[str, ...]) -> ForkServer | SharedServer:
    """This process's fork server for the interpreter ``prefix``: the shared one it was given
    (:func:`attach`), else its own (started on first use, restarted if it died)."""
    _install_hooks()
    with _lock:
        server = _servers.get(prefix)
        if server is None or not server.alive() or server.owner != os.getpid():
            server = _servers[prefix] = ForkServer(prefix)
        return server


@contextlib.contextmanager
def shared_server(kernel_name: str = "python3"):
    """Start a fork server for worker processes to share; stop it on leaving the block.

    Yields the arguments of :func:`attach` (for a process pool's ``initializer``), or None
    where kernels cannot be forked or the kernel ``kernel_name`` is not this kind of Python
    kernel (the workers then use standard kernels or their own servers, as without it).

    Examples
    --------
    >>> from concurrent.futures import ProcessPoolExecutor
    >>> with shared_server() as shared:                                   # doctest: +SKIP
    ...     with ProcessPoolExecutor(2, initializer=attach, initargs=shared) as pool:
    ...         ...   # run_notebook(..., engine_name="warm") in the workers
    """
    prefix = None
    if fork_supported():
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

        try:
            prefix = kernel_prefix(KernelSpecManager().get_kernel_spec(kernel_name).argv)
        except NoSuchKernel:
            prefix = None
    if prefix is None:
        yield None
        return
    server = ForkServer(prefix)
    try:
        yield server.path, prefix, server.pid
    finally:
        server.close()


def attach(path: str, prefix: tuple[str, ...], pid: int) -> None:
    """In a worker: fork kernels for ``prefix`` from the shared server at ``path`` (see :func:`shared_server`).

    A worker whose shared server has gone starts its own, as without it.
    """
    _install_hooks()
    with _lock:
        _servers[tuple(prefix)] = SharedServer(path, tuple(prefix), pid)


def shutdown() -> None:
    """Stop this process's fork servers (also done at exit)."""
    with _lock:
        servers = [s for s in _servers.values() if s.owner == os.getpid()]
        _servers.clear()
    for server in servers:
        server.close()


def _forget_after_fork() -> None:
    # a forked worker starts its own server; the parent's pipe ends are closed in the child so
    # that the parent's server still sees end of file when the parent goes away
    global _lock
    _lock = threading.Lock()
    for server in _servers.values():
        try:
            server.process.stdin.close()
        except (OSError, AttributeError):
            pass
    _servers.clear()


_warned: set[str] = set()


def _fallback(reason: str) -> None:
    if reason not in _warned:
        _warned.add(reason)
        warnings.warn(f"warm engine: {reason}; starting standard kernels instead", RuntimeWarning, stacklevel=3)
        log.warning("warm engine: %s; starting standard kernels instead", reason)


# --------------------------------------------------------------------------------------------
# quiet kernels (every kernel hsp_eval starts) and the warm ones
# --------------------------------------------------------------------------------------------

def ipc_supported() -> bool:
    """True where ZeroMQ can talk over Unix sockets (its ``ipc`` transport): not on Windows.

    >>> isinstance(ipc_supported(), bool)
    True
    """
    import zmq

    return sys.platform != "win32" and hasattr(socket, "AF_UNIX") and zmq.has("ipc")


class QuietProvisioner(LocalProvisioner):
    """A :class:`~jupyter_client.provisioning.LocalProvisioner` for kernels that print nothing when all is well.

    The kernel talks over Unix sockets in a private folder (made here, removed at cleanup) where
    ZeroMQ has that transport, and the interrupt jupyter_client sends before every shutdown
    request waits until the kernel has had :data:`SHUTDOWN_GRACE` seconds to end by itself
    (see the module's notes).
    """

    _ipc_dir: str | None = None
    _interrupt_held = False

    async def pre_launch(self, **kwargs):
        km = self.parent
        self._interrupt_held = False
        if km is not None and self._ipc_dir is None and km.transport == "tcp" and ipc_supported():
            folder = tempfile.mkdtemp(prefix="hsp-kernel-")  # mode 0700: the sockets are this user's only
            ip = os.path.join(folder, "k")
            if len(ip) + 4 <= MAX_SOCKET_PATH:  # the sockets are "<ip>-<n>"
                km.cache_ports = False
                km.transport, km.ip = "ipc", ip
                self._ipc_dir = folder
            else:  # a temporary folder too deep for a socket path: TCP, as jupyter_client does by default
                os.rmdir(folder)
        return await super().pre_launch(**kwargs)

    async def send_signal(self, signum: int) -> None:
        if signum == signal.SIGINT and getattr(self.parent, "shutting_down", False) and self.has_process:
            self._interrupt_held = True  # the shutdown's interrupt: sent by shutdown_requested if still needed
            return
        await super().send_signal(signum)

    async def shutdown_requested(self, restart: bool = False) -> None:
        """Give the kernel :data:`SHUTDOWN_GRACE` seconds to end, then send it the interrupt held back."""
        await super().shutdown_requested(restart)
        deadline = time.monotonic() + SHUTDOWN_GRACE
        while await self.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if self._interrupt_held:
            self._interrupt_held = False
            if await self.poll() is None:  # still busy (a cell that would not end): interrupt it as before
                await super().send_signal(signal.SIGINT)

    async def cleanup(self, restart: bool = False) -> None:
        await super().cleanup(restart)
        if not restart and self._ipc_dir is not None:  # the kernel and the manager removed the sockets
            shutil.rmtree(self._ipc_dir, ignore_errors=True)
            self._ipc_dir = None


class WarmProvisioner(QuietProvisioner):
    """A :class:`QuietProvisioner` whose kernel is forked by this process's :class:`ForkServer`."""

    async def launch_kernel(self, cmd: list[str], **kwargs):
        prefix = kernel_prefix(cmd)
        if not fork_supported():
            _fallback(f"fork is not available or not safe here ({sys.platform})")
        elif prefix is None:
            _fallback(f"the kernel command {cmd[:3]} is not python -m ipykernel_launcher")
        else:
            cwd = str(kwargs.get("cwd") or os.getcwd())
            env = kwargs.get("env") or dict(os.environ)
            try:
                self.process = server_for(prefix).launch(_kernel_args(cmd), cwd, env)
            except (ConnectionError, FileNotFoundError):  # a shared server gone: this process's own
                self.process = server_for(prefix).launch(_kernel_args(cmd), cwd, env)
            self.pid = self.pgid = self.process.pid
            self.cwd = cwd
            return self.connection_info
        return await super().launch_kernel(cmd, **kwargs)

    async def wait(self):
        """Wait for the kernel to end, polling its server's report more often than jupyter_client polls a process."""
        while isinstance(self.process, ForkedKernel) and await self.poll() is None:
            await asyncio.sleep(0.02)
        return await super().wait()


class QuietKernelManager(AsyncKernelManager):
    """An :class:`~jupyter_client.manager.AsyncKernelManager` whose kernels use :class:`QuietProvisioner`.

    A kernel spec that names a provisioner of its own keeps it.
    """

    provisioner_class: type[LocalProvisioner] = QuietProvisioner

    async def start_kernel(self, **kw):
        metadata = getattr(self.kernel_spec, "metadata", None) or {}
        if self.provisioner is None and "kernel_provisioner" not in metadata:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or str(uuid.uuid4())
            self.provisioner = self.provisioner_class(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                                      parent=self)
        return await super().start_kernel(**kw)


class WarmKernelManager(QuietKernelManager):
    """A :class:`QuietKernelManager` whose kernels are forked (:class:`WarmProvisioner`)."""

    provisioner_class = WarmProvisioner


# --------------------------------------------------------------------------------------------
# the papermill engine
# --------------------------------------------------------------------------------------------

class WarmEngine:
    """papermill's nbclient engine with kernels from :class:`WarmKernelManager` (``engine_name="warm"``).

    papermill imports its engines' entry points while it is being imported itself, so this
    class does not subclass papermill's (that import would be circular); it hands each
    notebook to a subclass of ``papermill.engines.NBClientEngine`` made on first use.

    papermill rewrites the whole output notebook when every cell starts and ends (two JSON
    dumps of a growing notebook per cell); this engine writes it at the start, at most every
    ``autosave_cell_every`` seconds while it runs (papermill's autosave period, 30 s), and at
    the end, which papermill reaches also after an error or a dead kernel, so a failed report's
    notebook is complete up to the failure.
    """

    @classmethod
    def execute_notebook(cls, nb, kernel_name, **kwargs):
        return _nbclient_engine().execute_notebook(nb, kernel_name, **kwargs)

    @classmethod
    def nb_kernel_name(cls, nb, name=None):
        return _nbclient_engine().nb_kernel_name(nb, name)

    @classmethod
    def nb_language(cls, nb, language=None):
        return _nbclient_engine().nb_language(nb, language)


def register_engine() -> None:
    """Register :class:`WarmEngine` with papermill as ``warm`` (its entry point does so where hsp_eval is installed)."""
    from papermill.engines import papermill_engines

    papermill_engines.register("warm", WarmEngine)


@functools.cache
def _nbclient_engine():
    from papermill.engines import NBClientEngine, NotebookExecutionManager

    class SavedNowAndThen(NotebookExecutionManager):
        """papermill's execution manager, writing the running notebook only when :func:`_autosave_due`."""

        running = False

        def notebook_start(self, **kwargs):
            super().notebook_start(**kwargs)
            self.running = True

        def notebook_complete(self, **kwargs):
            self.running = False
            super().notebook_complete(**kwargs)

        def save(self, **kwargs):
            if not self.running or _autosave_due(self):
                super().save(**kwargs)

    class WarmNBClientEngine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                             autosave_cell_every=30, **kwargs):
            # papermill's Engine.execute_notebook, with its manager's subclass (RELIES_ON)
            nb_man = SavedNowAndThen(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                                     autosave_cell_every=autosave_cell_every)
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
            kwargs.setdefault("kernel_manager_class", WarmKernelManager)
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    return WarmNBClientEngine


def _autosave_due(nb_man) -> bool:
    """True once ``nb_man.autosave_cell_every`` seconds have passed since its last save (0: never).

    Examples
    --------
    >>> import datetime, types
    >>> now = datetime.datetime.now()
    >>> man = types.SimpleNamespace(autosave_cell_every=30, now=lambda: now, last_save_time=now)
    >>> _autosave_due(man)
    False
    >>> man.last_save_time = now - datetime.timedelta(seconds=31)
    >>> _autosave_due(man)
    True
    >>> man.autosave_cell_every = 0
    >>> _autosave_due(man)
    False
    """
    every = nb_man.autosave_cell_every
    return bool(every) and (nb_man.now() - nb_man.last_save_time).total_seconds() >= every

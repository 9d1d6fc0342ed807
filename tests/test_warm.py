"""The warm papermill engine: every notebook gets a fresh forked kernel, nothing passes between
reports, failures are reported as with the standard engine, several workers at once, and no
process is left behind. Real papermill runs, real kernels, real processes.

At the end: the preload list imports, and each private or undocumented API the engine relies on
(``warm.RELIES_ON``) is still there and behaves as relied on."""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import pytest
from jupyter_client.provisioning import LocalProvisioner

from hsp_eval.run import batch, warm
from hsp_eval.run.execute import NotebookFailed, run_notebook

pytestmark = pytest.mark.skipif(not warm.fork_supported(), reason="the warm engine needs fork")

# what a report's kernel looks like at the start of its first cell after the parameters
PROBE = """
import importlib, json, os, random, sys
import matplotlib, numpy, pandas, hsp_eval, hsp_eval.indicators.registry
from hsp_eval.run.warm import PRELOAD
for name in PRELOAD:  # what the server imported, imported here too (a fresh kernel runs its import side effects now)
    importlib.import_module(name)
import matplotlib.pyplot as plt
plt.close(plt.figure())  # activates the plotting backend
state = {
    "pid": os.getpid(), "ppid": os.getppid(),
    "names": sorted(k for k in globals() if not k.startswith("_") and k not in ("In", "Out")),
    "leakmod_imported": "leakmod" in sys.modules,
    "module_attrs": [hasattr(pandas, "LEAKED"), hasattr(hsp_eval, "LEAKED"), hasattr(numpy, "LEAKED")],
    "registry_size": len(hsp_eval.indicators.registry.REGISTRY),
    "max_rows": pandas.get_option("display.max_rows"),
    "rc": {k: str(v) for k, v in matplotlib.rcParams.items()},
    "options": {k: str(pandas.get_option(k)) for k in ("display.max_rows", "display.width", "mode.copy_on_write")},
    "backend": matplotlib.get_backend(),
    "cwd": os.getcwd(), "env_leak": os.environ.get("HSP_LEAK"), "jpy": "JPY_PARENT_PID" in os.environ,
    "path_leak": "/leak" in sys.path, "argv0": os.path.basename(sys.argv[0]),
    "draws": [random.random(), float(numpy.random.random())],
    "transport": __import__("ipykernel.kernelapp").kernelapp.IPKernelApp.instance().transport,
}
print(json.dumps(state))
"""

# a report that changes everything it can reach
POLLUTE = """
import os, sys
import matplotlib, numpy, pandas, seaborn, hsp_eval, hsp_eval.indicators.registry
leak_var = 42
pandas.LEAKED = hsp_eval.LEAKED = numpy.LEAKED = True
hsp_eval.indicators.registry.REGISTRY.pop(next(iter(hsp_eval.indicators.registry.REGISTRY)))
pandas.set_option("display.max_rows", 3)
matplotlib.rcParams["lines.linewidth"] = 9
seaborn.set_theme(style="darkgrid", font_scale=2)
sys.path.append("/leak")
sys.path.insert(0, LEAK_DIR)
import leakmod
os.environ["HSP_LEAK"] = "1"
os.chdir("/")
"""


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("LEAK_DIR = ''")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params] + [nbformat.v4.new_code_cell(textwrap.dedent(s)) for s in sources]
    nbformat.write(nb, path)
    return path


def _state(out: Path) -> dict:
    nb = nbformat.read(out, as_version=4)
    texts = [o["text"] for c in nb.cells for o in c.get("outputs", []) if o.get("name") == "stdout"]
    return json.loads(texts[-1])


@pytest.fixture(scope="module")
def nbs(tmp_path_factory):
    d = tmp_path_factory.mktemp("warm")
    (d / "mods").mkdir()
    (d / "mods" / "leakmod.py").write_text("import hsp_eval\nhsp_eval.LEAKED_BY_IMPORT = True\n")
    return {"dir": d, "probe": _notebook(d / "probe.ipynb", PROBE), "pollute": _notebook(d / "pollute.ipynb", POLLUTE),
            "raise": _notebook(d / "raise.ipynb", "x = 1", "raise ValueError('no such school: 9999')", "y = 2"),
            "die": _notebook(d / "die.ipynb", "import os\nos._exit(3)"),
            "sleep": _notebook(d / "sleep.ipynb", "import os, time\nopen(LEAK_DIR, 'w').write(f'{os.getpid()} {os.getppid()}')\n"
                                                  "time.sleep(600)")}


def _run(nbs, name, out, engine="warm", **params):
    return run_notebook(nbs[name], nbs["dir"] / "out" / out, params, html=False, engine_name=engine)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")  # a zombie has exited (only its entry waits to be reaped)


def _wait_gone(pids, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.2)
    return [p for p in pids if _alive(p)]


def test_each_report_gets_a_fresh_forked_kernel_and_nothing_passes_between_reports(nbs):
    standard = _state(_run(nbs, "probe", "standard.ipynb", engine=None)["ipynb"])
    first = _state(_run(nbs, "probe", "first.ipynb")["ipynb"])
    _run(nbs, "pollute", "pollute.ipynb", LEAK_DIR=str(nbs["dir"] / "mods"))
    after = _state(_run(nbs, "probe", "after.ipynb")["ipynb"])
    server = warm._servers[warm.kernel_prefix(warm_cmd())]

    # the warm kernels really are forked children of this process's fork server...
    assert first["ppid"] == after["ppid"] == server.pid != os.getpid()
    assert len({first["pid"], after["pid"], server.pid}) == 3
    assert standard["ppid"] == os.getpid()
    # ...and what a report sees is what a fresh standard kernel sees, however the report before it
    # changed variables, modules, imports, options, styles, folder, environment or sys.path
    for key in standard:
        if key not in ("pid", "ppid", "draws"):
            assert first[key] == standard[key] == after[key], key
    assert after["cwd"] == str(nbs["dir"]) and after["env_leak"] is None and not after["leakmod_imported"]
    assert after["module_attrs"] == [False, False, False] and after["max_rows"] == 60
    # both engines' kernels talk over Unix sockets where there are some (no TCP warning, no port race)
    assert first["transport"] == standard["transport"] == ("ipc" if warm.ipc_supported() else "tcp")
    # random state is not copied from the server into every report
    assert first["draws"][0] != after["draws"][0] and first["draws"][1] != after["draws"][1]


def warm_cmd():
    from jupyter_client.kernelspec import KernelSpecManager

    argv = KernelSpecManager().get_kernel_spec("python3").argv
    return [sys.executable if a == "python" else a for a in argv]


def test_the_servers_objects_are_frozen_out_of_a_kernels_garbage_collection(nbs, tmp_path):
    nb = _notebook(tmp_path / "gc.ipynb", "import gc, json\nprint(json.dumps([gc.get_freeze_count(), gc.isenabled()]))")
    frozen, enabled = _state(run_notebook(nb, tmp_path / "gc_out.ipynb", {}, html=False, engine_name="warm")["ipynb"])
    assert frozen > 10_000 and enabled  # the imported libraries are frozen; the kernel still collects its own


def test_the_running_notebook_is_written_at_its_start_and_end_and_kept_when_the_kernel_dies(nbs, monkeypatch):
    import papermill.engines

    writes = []
    write = papermill.engines.write_ipynb
    monkeypatch.setattr(papermill.engines, "write_ipynb", lambda nb, path: writes.append(path) or write(nb, path))
    _run(nbs, "probe", "saves.ipynb")
    assert len(writes) == 2  # not twice for each of the notebook's cells
    with pytest.raises(NotebookFailed, match="DeadKernelError") as err:
        _run(nbs, "die", "die_saved.ipynb")
    assert nbformat.read(err.value.failed_path, as_version=4).cells[-1].source.endswith("os._exit(3)")


def test_figures_come_out_as_with_the_standard_engine(nbs, tmp_path):
    nb = _notebook(tmp_path / "fig.ipynb", "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2])")
    outputs = {}
    for engine in (None, "warm"):
        out = run_notebook(nb, tmp_path / f"{engine}.ipynb", {}, engine_name=engine)
        cells = nbformat.read(out["ipynb"], as_version=4).cells
        outputs[engine] = [sorted(o.get("data", {})) for o in cells[-1].outputs]
        assert "<img" in out["html"].read_text()
    assert outputs["warm"] == outputs[None] and ["image/png", "text/plain"] in outputs["warm"]


def test_a_raising_notebook_fails_as_with_the_standard_engine(nbs):
    messages = {}
    for engine in (None, "warm"):
        with pytest.raises(NotebookFailed) as err:
            _run(nbs, "raise", f"raise_{engine}.ipynb", engine=engine)
        messages[engine] = str(err.value)
        failed = nbformat.read(err.value.failed_path, as_version=4)
        assert failed.cells[-2].outputs[-1]["ename"] == "ValueError"
        assert not (nbs["dir"] / "out" / f"raise_{engine}.ipynb").exists()
    assert messages["warm"] == messages[None] == "raise.ipynb failed: ValueError: no such school: 9999"


def test_a_dying_kernel_fails_the_report_and_the_next_report_still_runs(nbs):
    for engine in (None, "warm"):
        with pytest.raises(NotebookFailed, match="DeadKernelError"):
            _run(nbs, "die", f"die_{engine}.ipynb", engine=engine)
    assert _state(_run(nbs, "probe", "after_death.ipynb")["ipynb"])["leakmod_imported"] is False


def _pollute_and_probe(nbs, pool, tag: str) -> list[dict]:
    """Three polluting and three probing reports, interleaved, in ``pool``'s workers; the probes' states."""
    out = nbs["dir"] / "out"
    jobs = []  # run_notebook in the workers, as the batch runner does; papermill finds 'warm' by its entry point
    for i in range(3):
        jobs.append(pool.submit(run_notebook, nbs["pollute"], out / f"{tag}_p{i}.ipynb",
                                {"LEAK_DIR": str(nbs["dir"] / "mods")}, html=False, engine_name="warm"))
        jobs.append(pool.submit(run_notebook, nbs["probe"], out / f"{tag}_{i}.ipynb", {}, html=False,
                                engine_name="warm"))
    return [_state(job.result()["ipynb"]) for job in jobs[1::2]]


@pytest.mark.parametrize("method", ["forkserver", "fork"])  # forkserver: as hsp_eval.run.batch starts its workers
def test_several_workers_each_with_its_own_fork_server(nbs, method):
    _run(nbs, "probe", "parent.ipynb")  # this process has a server already (a forked worker must not use it)
    parent_server = warm._servers[warm.kernel_prefix(warm_cmd())].pid
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(method)) as pool:
        states = _pollute_and_probe(nbs, pool, method)
    servers = {s["ppid"] for s in states}
    assert parent_server not in servers and os.getpid() not in servers and 1 <= len(servers) <= 2
    assert len({s["pid"] for s in states}) == 3
    for state in states:
        assert not state["leakmod_imported"] and state["module_attrs"] == [False, False, False]
        assert state["max_rows"] == 60 and state["env_leak"] is None and state["cwd"] == str(nbs["dir"])
    assert _wait_gone(servers) == []  # the workers' servers ended with the workers


SCRIPT = """
import sys
from hsp_eval.run.execute import run_notebook
run_notebook(sys.argv[1], sys.argv[2], {"LEAK_DIR": sys.argv[3]}, html=False, engine_name="warm")
"""


def test_no_process_left_after_a_run(nbs, tmp_path):
    probe = tmp_path / "probe_ok.ipynb"
    _notebook(probe, "import os\nopen(LEAK_DIR, 'w').write(f'{os.getpid()} {os.getppid()}')")
    pids = tmp_path / "pids"
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(probe), str(tmp_path / "o.ipynb"), str(pids)], check=True,
                         timeout=300, capture_output=True, text=True)
    kernel, server = map(int, pids.read_text().split())
    assert _wait_gone([kernel, server]) == []
    # and the report that ran well printed nothing: no kernel warning, no error
    assert run.stdout == "" and run.stderr == "", run.stderr


def test_no_process_left_when_the_worker_is_killed_mid_report(nbs, tmp_path):
    pids = tmp_path / "pids"
    # what a killed worker cannot clean up (its kernel's socket folder) is left in tmp_path, not /tmp
    worker = subprocess.Popen([sys.executable, "-c", SCRIPT, str(nbs["sleep"]), str(tmp_path / "o.ipynb"), str(pids)],
                              env={**os.environ, "TMPDIR": str(tmp_path)})
    deadline = time.monotonic() + 240
    while not (pids.exists() and pids.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.2)
    kernel, server = map(int, pids.read_text().split())
    assert _alive(kernel) and _alive(server)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert _wait_gone([kernel, server]) == []


def test_falls_back_to_standard_kernels_where_fork_is_unavailable(nbs, monkeypatch):
    monkeypatch.setattr(warm, "fork_supported", lambda: False)
    monkeypatch.setattr(warm, "_warned", set())
    with pytest.warns(RuntimeWarning, match="starting standard kernels"):
        state = _state(_run(nbs, "probe", "fallback.ipynb")["ipynb"])
    assert state["ppid"] == os.getpid()


REAPER = """
import ctypes, json, multiprocessing, os, sys
from concurrent.futures import ProcessPoolExecutor
import nbformat
from hsp_eval.run.execute import run_notebook
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphaned descendants come to this process
with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver")) as pool:
    out = pool.submit(run_notebook, sys.argv[1], sys.argv[2], {}, html=False, engine_name="warm").result()["ipynb"]
texts = [o["text"] for c in nbformat.read(out, as_version=4).cells for o in c.get("outputs", []) if o.get("name") == "stdout"]
server = json.loads(texts[-1])["ppid"]
try:
    os.waitpid(server, os.WNOHANG)
    print("orphaned")   # the worker left its server behind (adopted here)
except ChildProcessError:
    print("reaped")     # the worker stopped and waited for its server before exiting
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses Linux's child subreaper")
def test_a_pool_worker_stops_and_reaps_its_own_server(nbs, tmp_path):
    result = subprocess.run([sys.executable, "-c", REAPER, str(nbs["probe"]), str(tmp_path / "o.ipynb")],
                            capture_output=True, text=True, timeout=300, check=True)
    assert result.stdout.split()[-1] == "reaped"


def test_the_batch_workers_share_one_fork_server_and_nothing_passes_between_their_reports(nbs):
    with warm.shared_server() as shared:
        path, prefix, server = shared
        assert prefix == warm.kernel_prefix(warm_cmd()) and _alive(server)
        ctx = multiprocessing.get_context("forkserver")  # as hsp_eval.run.batch starts its workers
        with ProcessPoolExecutor(2, mp_context=ctx, initializer=warm.attach, initargs=shared) as pool:
            states = _pollute_and_probe(nbs, pool, "shared")
        # every kernel, whichever worker ran its report, is a fresh child of the one shared server...
        assert {s["ppid"] for s in states} == {server} and len({s["pid"] for s in states}) == 3
        # ...that sees nothing of the reports before it
        for state in states:
            assert not state["leakmod_imported"] and state["module_attrs"] == [False, False, False]
            assert state["max_rows"] == 60 and state["env_leak"] is None and state["cwd"] == str(nbs["dir"])
    assert _wait_gone([server]) == []  # stopped on leaving the block


def test_a_worker_whose_shared_server_died_starts_its_own(nbs):
    with warm.shared_server() as shared:
        path, prefix, server = shared
        ctx = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(1, mp_context=ctx, initializer=warm.attach, initargs=shared) as pool:
            first = _state(pool.submit(run_notebook, nbs["probe"], nbs["dir"] / "out" / "dead_1.ipynb", {},
                                       html=False, engine_name="warm").result()["ipynb"])
            os.kill(server, signal.SIGKILL)  # its socket file stays behind
            assert _wait_gone([server]) == [] and os.path.exists(path)
            second = _state(pool.submit(run_notebook, nbs["probe"], nbs["dir"] / "out" / "dead_2.ipynb", {},
                                        html=False, engine_name="warm").result()["ipynb"])
    assert first["ppid"] == server and second["ppid"] not in (server, os.getpid())
    assert _wait_gone([second["ppid"]]) == []  # the worker's own server ended with the worker


# --------------------------------------------------------------------------------------------
# the warm engine's preload list, and importing it

@pytest.mark.parametrize("name", sorted(set(warm.PRELOAD) | set(batch.WORKER_PRELOAD)))
def test_every_preloaded_module_imports(name):
    # a fork server (or multiprocessing's) that cannot import a module only gets slower, so a
    # module renamed or moved must fail here
    importlib.import_module(name)


def test_a_module_that_fails_to_preload_is_an_error_in_strict_mode(monkeypatch):
    prefix = warm.kernel_prefix(warm_cmd())
    monkeypatch.setenv(warm.STRICT_ENV, "1")
    with pytest.raises(RuntimeError, match=r"not preloaded: hsp_eval\.no_such_module \(ModuleNotFoundError"):
        warm.ForkServer(prefix, preload=("json", "hsp_eval.no_such_module"))
    monkeypatch.setenv(warm.STRICT_ENV, "0")  # elsewhere the kernels import it themselves (slower, not wrong)
    server = warm.ForkServer(prefix, preload=("json", "hsp_eval.no_such_module"))
    assert server.alive()
    server.close()


IMPORT_ONLY = """
import atexit, multiprocessing.util
import jupyter_client.manager, jupyter_client.provisioning, hsp_eval.run  # what it imports
before = (atexit._ncallbacks(), len(multiprocessing.util._finalizer_registry))
from hsp_eval.run import warm
after = (atexit._ncallbacks(), len(multiprocessing.util._finalizer_registry))
print(before == after, warm._fork_hook, warm._exit_hooks_pid)
"""


def test_importing_the_module_installs_no_hooks():
    out = subprocess.run([sys.executable, "-c", IMPORT_ONLY], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    assert out.split() == ["True", "False", "None"]


def test_the_engine_is_registered_by_its_entry_point_and_on_request():
    import papermill.engines

    assert papermill.engines.papermill_engines.get_engine("warm").__name__ == "WarmEngine"
    warm.register_engine()
    assert papermill.engines.papermill_engines.get_engine("warm") is warm.WarmEngine


# --------------------------------------------------------------------------------------------
# what the module relies on beyond documented APIs (warm.RELIES_ON): each must still be there and
# behave as relied on

def _resolve(dotted: str):
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for name in parts[i:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(dotted)


@pytest.mark.parametrize("name", sorted(warm.RELIES_ON))
def test_every_name_relied_on_exists(name):
    _resolve(name)


class _Recorder(LocalProvisioner):
    """A provisioner whose 'kernel' ends when asked to shut down, noting what the manager does."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.events, self.running, self.reaped = [], True, False

    @property
    def has_process(self):
        return not self.reaped

    async def poll(self):
        self.events.append("poll")
        return None if self.running else 0

    async def wait(self):
        self.events.append("wait")
        self.reaped = True
        return 0

    async def send_signal(self, signum):
        self.events.append(("signal", signum, self.parent.shutting_down))

    async def kill(self, restart=False):
        self.events.append("kill")

    async def terminate(self, restart=False):
        self.events.append("terminate")

    async def shutdown_requested(self, restart=False):
        self.events.append("shutdown_requested")
        self.running = False

    async def cleanup(self, restart=False):
        self.events.append("cleanup")


def _manager_with(tmp_path):
    from jupyter_client.manager import AsyncKernelManager

    km = AsyncKernelManager(kernel_name="python3", connection_file=str(tmp_path / "kernel.json"))
    km.provisioner = _Recorder(kernel_id="k", kernel_spec=km.kernel_spec, parent=km)
    return km


def test_shutdown_interrupts_then_asks_then_polls_before_sleeping(tmp_path, monkeypatch):
    km = _manager_with(tmp_path)
    km.write_connection_file()
    sleeps, real_sleep = [], asyncio.sleep

    async def sleep(delay, *args, **kwargs):
        if delay >= 0.05:  # jupyter_client polls a kernel that is still alive every 0.1 s
            sleeps.append(delay)
        return await real_sleep(delay, *args, **kwargs)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    asyncio.run(km.shutdown_kernel())
    events = km.provisioner.events
    # the interrupt comes while shutting_down is set, before the request; a kernel that has ended
    # by the time the provisioner returns is not waited for
    assert events[:3] == [("signal", signal.SIGINT, True), "shutdown_requested", "poll"], events
    assert "terminate" not in events and "kill" not in events and sleeps == []


def test_a_provisioner_set_before_the_start_is_the_one_used(tmp_path):
    km = _manager_with(tmp_path)
    mine = km.provisioner
    cmd, _ = asyncio.run(km.pre_start_kernel())
    assert km.provisioner is mine and "ipykernel_launcher" in cmd
    km.cleanup_connection_file()


class _Watched(warm.ForkedKernel):
    """A ForkedKernel noting which of its public attributes are used."""

    def __getattribute__(self, name):
        if not name.startswith("_"):
            object.__getattribute__(self, "_used").add(name)
        return object.__getattribute__(self, name)


@pytest.mark.parametrize("method, sig", [("terminate", signal.SIGTERM), ("kill", signal.SIGKILL)])
def test_local_provisioner_uses_no_more_of_its_process_than_forked_kernels_have(method, sig):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    ours, servers = socket.socketpair()
    kernel = _Watched(ours, child.pid)
    kernel._used = set()
    prov = LocalProvisioner(kernel_id="k", kernel_spec=None, parent=None)
    prov.process, prov.pid, prov.pgid = kernel, child.pid, child.pid
    try:
        assert asyncio.run(prov.poll()) is None
        asyncio.run(getattr(prov, method)())
        assert child.wait(30) == -sig  # the signal went to the kernel's process group
        servers.sendall(json.dumps({"exit": -sig}).encode() + b"\n")  # as the fork server reports it
        assert asyncio.run(prov.wait()) == -sig and prov.process is None
    finally:
        child.kill()
        child.wait()
        servers.close()
    allowed = {"poll", "wait", "send_signal", "kill", "terminate", "stdin", "stdout", "stderr", "pid", "returncode"}
    assert kernel._used <= allowed, kernel._used - allowed


def _code(function) -> str:
    """A function's code without its docstring and comments."""
    node = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
    if ast.get_docstring(node) is not None:
        node.body = node.body[1:]
    return ast.unparse(node)


def test_the_warm_engine_runs_a_notebook_as_papermills_engine_does():
    from papermill.engines import Engine

    ours = _code(warm._nbclient_engine().execute_notebook).replace("SavedNowAndThen", "NotebookExecutionManager")
    assert ours == _code(Engine.execute_notebook), "papermill changed Engine.execute_notebook: copy it again"


def test_papermill_writes_the_running_notebook_only_through_save(tmp_path, monkeypatch):
    import datetime

    import papermill.engines

    written, saved = [], []
    monkeypatch.setattr(papermill.engines, "write_ipynb", lambda nb, path: written.append(path))

    class Saves(papermill.engines.NotebookExecutionManager):
        def save(self, **kwargs):
            saved.append(inspect.stack()[1].function)  # the method that saved

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    nb.metadata.papermill = {}
    man = Saves(nb, output_path=str(tmp_path / "o.ipynb"), progress_bar=False, autosave_cell_every=1)
    man.notebook_start()
    man.cell_start(nb.cells[0], 0)
    man.last_save_time -= datetime.timedelta(seconds=2)
    man.autosave_cell()
    man.cell_complete(nb.cells[0], 0)
    man.notebook_complete()
    assert saved == ["notebook_start", "cell_start", "autosave_cell", "cell_complete", "notebook_complete"]
    assert written == []


def test_atexit_handlers_run_on_request_before_os_exit():
    code = "import atexit, os\natexit.register(print, 'ran')\natexit._run_exitfuncs()\nos._exit(0)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout == "ran\n"


#: each name of warm.RELIES_ON -> the test of the behaviour relied on
BEHAVIOUR_TESTS = {
    "jupyter_client.manager.KernelManager.shutting_down": test_shutdown_interrupts_then_asks_then_polls_before_sleeping,
    "jupyter_client.manager.KernelManager.provisioner": test_a_provisioner_set_before_the_start_is_the_one_used,
    "jupyter_client.provisioning.LocalProvisioner.process":
        test_local_provisioner_uses_no_more_of_its_process_than_forked_kernels_have,
    "papermill.engines.Engine.execute_notebook": test_the_warm_engine_runs_a_notebook_as_papermills_engine_does,
    "papermill.engines.NotebookExecutionManager.save": test_papermill_writes_the_running_notebook_only_through_save,
    "atexit._run_exitfuncs": test_atexit_handlers_run_on_request_before_os_exit,
    "multiprocessing.util.Finalize": test_a_pool_worker_stops_and_reaps_its_own_server,
}


def test_every_reliance_has_a_test_of_its_behaviour():
    assert set(BEHAVIOUR_TESTS) == set(warm.RELIES_ON)

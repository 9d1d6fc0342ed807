"""A report that runs well prints nothing (issue 19): hsp_eval's kernels talk over Unix sockets,
are not interrupted on their way out, and the batch says how far it is in a way that suits where
its output goes. The whole batch's output is checked in tests/test_batch.py (``first_run``)."""

from __future__ import annotations

import asyncio
import io
import signal
import subprocess
import sys
import time

import pytest

from hsp_eval.run import batch, warm

# a stand-in for a kernel: it notes an interrupt in a file and ends after ``seconds`` (or on SIGTERM)
PROCESS = """
import signal, sys, time
signal.signal(signal.SIGINT, lambda *a: (open(sys.argv[1], "a").write("SIGINT\\n"), sys.exit(0)))
open(sys.argv[2], "w").close()  # ready: the handler is in place
time.sleep(float(sys.argv[3]))
"""


def _shut_down(tmp_path, seconds: float, shutting_down: bool = True) -> tuple[str, float]:
    """What a stand-in kernel ending after ``seconds`` saw when shut down as jupyter_client does it
    (interrupt, shutdown request); and how long the shutdown request took."""
    log, ready = tmp_path / "signals", tmp_path / "ready"
    log.write_text("")
    process = subprocess.Popen([sys.executable, "-c", PROCESS, str(log), str(ready), str(seconds)],
                               start_new_session=True)
    deadline = time.monotonic() + 60
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    km = warm.QuietKernelManager(kernel_name="python3")
    prov = warm.QuietProvisioner(kernel_id="k", kernel_spec=km.kernel_spec, parent=km)
    prov.process, prov.pid, prov.pgid = process, process.pid, process.pid
    km.shutting_down = shutting_down

    async def shutdown():
        await prov.send_signal(signal.SIGINT)  # jupyter_client's interrupt before its request
        t0 = time.monotonic()
        await prov.shutdown_requested()
        return time.monotonic() - t0

    try:
        took = asyncio.run(shutdown())
        process.wait(30)
    finally:
        process.kill()
        process.wait()
    ready.unlink()
    return log.read_text(), took


def test_a_kernel_that_ends_when_asked_is_not_interrupted(tmp_path, monkeypatch):
    monkeypatch.setattr(warm, "SHUTDOWN_GRACE", 5.0)
    signals, took = _shut_down(tmp_path, seconds=0.3)
    assert signals == "" and took < 4  # it ended by itself; the held-back interrupt was never sent


def test_a_kernel_that_does_not_end_is_interrupted_after_the_grace_period(tmp_path, monkeypatch):
    monkeypatch.setattr(warm, "SHUTDOWN_GRACE", 0.3)
    signals, took = _shut_down(tmp_path, seconds=60)
    assert signals == "SIGINT\n" and 0.3 <= took < 30


def test_an_interrupt_outside_a_shutdown_is_sent_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(warm, "SHUTDOWN_GRACE", 0.0)
    signals, _ = _shut_down(tmp_path, seconds=60, shutting_down=False)
    assert signals == "SIGINT\n"


def _transport(tmp_path, monkeypatch, tempdir) -> tuple[str, str]:
    """The transport and address a kernel would be given with ``tempdir`` as the temporary folder."""
    tempdir.mkdir(parents=True)
    monkeypatch.setattr("tempfile.tempdir", str(tempdir))
    km = warm.QuietKernelManager(kernel_name="python3")
    prov = warm.QuietProvisioner(kernel_id="k", kernel_spec=km.kernel_spec, parent=km)
    asyncio.run(prov.pre_launch())
    try:
        return km.transport, km.ip
    finally:
        km.cleanup_connection_file()
        asyncio.run(prov.cleanup())


@pytest.mark.skipif(not warm.ipc_supported(), reason="no Unix sockets for ZeroMQ here")
def test_kernels_talk_over_unix_sockets_in_a_private_folder(tmp_path, monkeypatch):
    transport, ip = _transport(tmp_path, monkeypatch, tmp_path / "t")
    assert transport == "ipc" and ip.startswith(str(tmp_path / "t" / "hsp-kernel-"))
    assert list((tmp_path / "t").iterdir()) == []  # the folder went at cleanup


def test_a_temporary_folder_too_deep_for_a_socket_path_keeps_tcp(tmp_path, monkeypatch):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    transport, ip = _transport(tmp_path, monkeypatch, deep)
    assert transport == "tcp" and ip == "127.0.0.1" and list(deep.iterdir()) == []


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_elsewhere():
    tty = _Terminal()
    with batch.Progress(2, stream=tty) as p:
        p.update("0113 school_evaluation", "ok")
        p.update("0827 school_evaluation", "failed", "school_evaluation.ipynb failed: ValueError: injected\nmore")
    said = tty.getvalue()
    assert "2/2" in said and "0827 school_evaluation: school_evaluation.ipynb failed: ValueError: injected\n" in said

    log, now = io.StringIO(), [0.0]
    with batch.Progress(4, stream=log, clock=lambda: now[0]) as p:
        for t in (10.0, 20.0, 40.0, 80.0):
            now[0] = t
            p.update(f"{t:.0f}", "ok")
    # a line at the start and one when 30 s have passed; the end is the caller's summary
    assert log.getvalue() == "reports: 4 to run\nreports: 3 of 4 done, 40 s\n"

    quiet = _Terminal()
    with batch.Progress(2, enabled=False, stream=quiet) as p:
        p.update("0827 school_evaluation", "failed", "ValueError")
    assert quiet.getvalue() == "" and p.failed == 1

"""The batch runner, run for real: papermill executes small notebooks (written here, with the same
parameters as the project's) on the demo data, in worker processes and on a dask LocalCluster.

One school (0827) raises in its notebook and one (1482) has a bad params file; the others must
complete, the manifest must say what failed and why, the exit code must be non-zero, and a
second run must skip what did not change.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from hsp_eval.run import batch, execute
from hsp_eval.run.index_page import render_index

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
PARAMS = ROOT / "params" / "demo"
FAILING = "0827"        # its notebooks raise
BAD_PARAMS = "1482"     # its params file is bad
SCHOOLS = ["0113", FAILING, "1426", BAD_PARAMS]

PARAMETERS_CELL = """school_id = None
years = None
indicators_path = None
trends_path = None
params_path = None
min_n = 5
region = None
measure = None"""

BODY = """from pathlib import Path
import os, time
import pandas as pd
# a run to kill: this school's report waits while the file named by HSP_EVAL_TEST_HOLD exists
if school_id is not None and school_id == os.environ.get("HSP_EVAL_TEST_HOLD_SCHOOL"):
    t0 = time.monotonic()
    while Path(os.environ["HSP_EVAL_TEST_HOLD"]).exists() and time.monotonic() - t0 < 300:
        time.sleep(0.2)
if school_id not in (None, "all"):
    assert isinstance(min_n, int) and (params_path is None or Path(params_path).is_file())
    assert Path(trends_path).is_file()
    assert years is None or all(isinstance(y, int) for y in years)
    if school_id == "%s":
        raise ValueError("injected failure for school %s")
else:
    assert region is None and measure is None and Path(indicators_path).with_name("schools.parquet").is_file()
t = pd.read_parquet(indicators_path)
national = school_id in (None, "all")
rows = t[t["level"] == "national"] if national else t[t["area_id"] == school_id]
print(f"REPORT {'national' if national else school_id}: {len(rows)} rows, years {years}")""" % (FAILING, FAILING)


def write_notebook(path: Path, body: str = BODY) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMETERS_CELL)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# A small report"), params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def cli(*args, cwd=ROOT, env=None):
    return subprocess.run([sys.executable, "-m", "hsp_eval.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=900, env=env)


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("notebooks")
    for name in ("school_evaluation", "whanau_board_summary", "national_overview", "inquiry_impact"):
        write_notebook(folder / f"{name}.ipynb")
    return folder


def copy_params(dest: Path) -> Path:
    shutil.copytree(PARAMS, dest)
    (dest / f"{BAD_PARAMS}.yaml").write_text(f"school_id: {int(BAD_PARAMS)}\ndisplay_name: Bad file\n",
                                             encoding="utf-8")
    return dest


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, notebooks):
    """One real batch through the command line, as `make demo` runs it (2 worker processes, the warm
    engine): 4 schools + the national overview."""
    base = tmp_path_factory.mktemp("run")
    params = copy_params(base / "params")
    reports = base / "reports"
    r = cli("batch", "--data", DEMO, "--params", params, "--out", reports, "--notebooks", notebooks,
            "--schools", ",".join(SCHOOLS), "--workers", 2, "--engine", "warm", "--no-summary")
    return {"base": base, "params": params, "reports": reports, "proc": r,
            "manifest": pd.read_csv(reports / "manifest.csv", dtype=str, keep_default_na=False)}


def reuse_data(first_run, dest: Path) -> Path:
    """A reports folder holding the first run's data tables (so a test does not recompute them)."""
    shutil.copytree(first_run["reports"] / "_data", dest / "_data")
    return dest


def status(manifest: pd.DataFrame) -> dict:
    return {(r.school, r.notebook): r.status for r in manifest.itertuples()}


def test_a_measurement_error_in_params_recomputes_the_indicators_and_only_then(first_run, tmp_path):
    # params that change only targets reuse the indicator tables; a standard error of measurement
    # changes what counts as accelerated progress, so the tables are made again
    reports = reuse_data(first_run, tmp_path / "reports")
    before = pd.read_parquet(reports / "_data" / "indicators.parquet")
    params = copy_params(tmp_path / "params")
    said = []
    batch.prepare_data(DEMO, params, reports, log=said.append)
    assert not any("read and validated" in m for m in said), said
    f = params / "0113.yaml"
    f.write_text(f.read_text(encoding="utf-8") + "measurement_error: {reading: 40}\n", encoding="utf-8")
    said.clear()
    batch.prepare_data(DEMO, params, reports, log=said.append)
    assert any("read and validated" in m for m in said), said
    after = pd.read_parquet(reports / "_data" / "indicators.parquet")

    def rate(t, school):
        r = t[(t["level"] == "school") & (t["area_id"] == school) & (t["indicator"] == "accelerated_rate")
              & (t["group"] == "reading")].set_index("year")
        return r["numerator"]

    both = pd.concat([rate(before, "0113"), rate(after, "0113")], axis=1, keys=["before", "after"]).dropna()
    assert len(both) and (both["after"] <= both["before"]).all() and (both["after"] < both["before"]).any()
    assert rate(after, "1426").equals(rate(before, "1426"))  # another school's bar is its own


def test_a_failing_school_does_not_stop_the_others(first_run):
    r, m = first_run["proc"], first_run["manifest"]
    assert r.returncode == 1, r.stderr
    assert status(m) == {("0113", "school_evaluation"): "ok", (FAILING, "school_evaluation"): "failed",
                         ("1426", "school_evaluation"): "ok", (BAD_PARAMS, "school_evaluation"): "failed",
                         ("national", "national_overview"): "ok", ("national", "inquiry_impact"): "ok"}
    failed = m.set_index("school")["error"]
    assert f"ValueError: injected failure for school {FAILING}" in failed[FAILING]
    assert "'school_id' must be a quoted text" in failed[BAD_PARAMS] and f"{BAD_PARAMS}.yaml" in failed[BAD_PARAMS]
    # the command names the failed reports at the end
    assert f"{FAILING} school_evaluation: " in r.stderr and f"{BAD_PARAMS} school_evaluation: " in r.stderr
    assert "4 made, 0 unchanged (skipped), 2 failed" in r.stdout


def test_a_run_says_how_far_it_is_and_no_more(first_run):
    r = first_run["proc"]
    # no kernel's warning or error for the reports that ran (issue 19: a newcomer reads ERROR as failure)
    noisy = [line for line in (r.stdout + r.stderr).splitlines()
             if re.search(r"\b(WARNING|ERROR)\b|\[IPKernelApp\]", line)]
    assert noisy == [], f"standard output:\n{r.stdout}\nstandard error:\n{r.stderr}"  # with its traceback
    # the progress as plain lines (standard error is not a terminal here), a failure when it happens...
    assert "reports: 5 to run" in r.stderr
    assert f"\n{FAILING} school_evaluation: school_evaluation.ipynb failed: ValueError: injected" in r.stderr
    # ...and a summary: what was made, how long it took, where to look
    assert re.search(r"^Reports: 4 made, 0 unchanged \(skipped\), 2 failed, in \d[\d a-z]*\.$", r.stdout, re.M)
    assert f"Open {first_run['reports'].resolve() / 'index.html'} for every report" in r.stdout


def test_manifest_records_provenance_of_every_report(first_run):
    m = first_run["manifest"]
    assert list(m.columns) == batch.MANIFEST_COLUMNS
    sidecar = json.loads((first_run["reports"] / "_data" / "indicators.provenance.json").read_text())
    assert (m["data_fingerprint"] == sidecar["data_fingerprint"]).all() and len(sidecar["data_fingerprint"]) == 64
    assert (m["data_read_at"] == sidecar["data_read_at"]).all()
    assert (m["hsp_eval_version"] != "").all() and (m["git_commit"] != "").all()
    ok = m[m["status"] == "ok"].set_index("school")
    params = json.loads(ok.loc["0113", "parameters"])
    assert params["school_id"] == "0113" and params["min_n"] == 5 and params["years"] is None
    assert params["indicators_path"].endswith("_data/indicators.parquet")
    assert json.loads(m.set_index("notebook").loc["national_overview", "parameters"])["indicators_path"].endswith("_data/publication.parquet")
    assert all(float(s) > 0 for s in ok["seconds"]) and (ok["inputs_hash"].str.len() == 64).all()
    assert ok.loc["0113", "display_name"] == "Rocky Point West Primary School"


def test_outputs_are_atomic_and_named_deterministically(first_run):
    reports = first_run["reports"]
    made = sorted(p.relative_to(reports).as_posix() for p in reports.rglob("*")
                  if p.is_file() and not p.parts[len(reports.parts)].startswith("_data"))
    assert made == ["0113/school_evaluation.html", "0113/school_evaluation.ipynb",
                    "0827/school_evaluation.failed.ipynb",
                    "1426/school_evaluation.html", "1426/school_evaluation.ipynb",
                    "index.html", "manifest.csv", "national/inquiry_impact.html", "national/inquiry_impact.ipynb",
                    "national/national_overview.html", "national/national_overview.ipynb"]
    assert not list(reports.rglob("*.tmp")) and not list(reports.rglob("*.running.*"))
    assert "REPORT 0113:" in (reports / "0113" / "school_evaluation.html").read_text(encoding="utf-8")
    assert "REPORT national:" in (reports / "national" / "national_overview.html").read_text(encoding="utf-8")
    m = first_run["manifest"].set_index("school")
    assert m.loc[FAILING, "html"] == "" and m.loc["0113", "html"] == "0113/school_evaluation.html"


def test_index_page_lists_every_report(first_run):
    page = (first_run["reports"] / "index.html").read_text(encoding="utf-8")
    m = first_run["manifest"]
    for r in m.itertuples():
        assert r.display_name in page
        if r.status == "ok":
            assert f'href="{r.html}"' in page and (first_run["reports"] / r.html).exists()
    assert FAILING + "/" not in page   # a failed report is not linked
    assert page.count("failed: not published") == 2
    assert m["data_fingerprint"].iloc[0] in page and '<html lang="en-NZ">' in page


def test_index_page_escapes_what_it_shows():
    m = pd.DataFrame([{"school": "0042", "notebook": "school_evaluation", "status": "ok",
                       "display_name": "<script>alert(1)</script> & Co", "html": '0042/a"b.html'}])
    page = render_index(m, {"data_fingerprint": "f" * 64})
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page
    assert 'href="0042/a&quot;b.html"' in page


def test_resume_skips_unchanged_and_reruns_a_changed_school(first_run, tmp_path, notebooks):
    reports = tmp_path / "reports"
    shutil.copytree(first_run["reports"], reports)
    params = copy_params(tmp_path / "params")
    ok_schools = ["0113", "1426"]
    again = batch.run_batch(DEMO, params, reports, schools=ok_schools, notebooks_dir=notebooks, summary=False,
                            progress=False, log=None)
    assert set(again.manifest["status"]) == {"skipped"} and len(again.manifest) == 4   # 2 schools + the two national reports
    # the manifest keeps the rows of schools not asked for this time
    assert status(batch.read_manifest(reports))[(FAILING, "school_evaluation")] == "failed"
    before = (reports / "0113" / "school_evaluation.ipynb").stat().st_mtime_ns

    p = params / "1426.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("value: 0.5", "value: 0.55"), encoding="utf-8")
    third = batch.run_batch(DEMO, params, reports, schools=ok_schools, notebooks_dir=notebooks, summary=False,
                            progress=False, log=None)
    assert status(third.manifest) == {("0113", "school_evaluation"): "skipped",
                                      ("1426", "school_evaluation"): "ok",
                                      ("national", "national_overview"): "skipped",
                                      ("national", "inquiry_impact"): "skipped"}
    assert (reports / "0113" / "school_evaluation.ipynb").stat().st_mtime_ns == before
    skipped = third.manifest.set_index("school").loc["0113"]
    assert skipped["inputs_hash"] == first_run["manifest"].set_index("school").loc["0113", "inputs_hash"]


def test_resume_reruns_a_report_whose_file_is_gone_or_notebook_changed(first_run, tmp_path, notebooks):
    reports = tmp_path / "reports"
    shutil.copytree(first_run["reports"], reports)
    (reports / "0113" / "school_evaluation.html").unlink()
    nb = tmp_path / "nb"
    shutil.copytree(notebooks, nb)
    write_notebook(nb / "national_overview.ipynb", BODY + "\nprint('changed')")
    res = batch.run_batch(DEMO, first_run["params"], reports, schools=["0113", "1426"], notebooks_dir=nb,
                          summary=False, progress=False, log=None)
    assert status(res.manifest) == {("0113", "school_evaluation"): "ok", ("1426", "school_evaluation"): "skipped",
                                    ("national", "national_overview"): "ok", ("national", "inquiry_impact"): "skipped"}


def test_report_command_runs_one_school_with_its_summary(first_run, tmp_path, notebooks):
    reports = reuse_data(first_run, tmp_path / "reports")
    r = cli("report", "--school", "1426", "--summary", "--data", DEMO, "--params", first_run["params"],
            "--out", reports, "--notebooks", notebooks, "--years", "2023-2025")
    assert r.returncode == 0, r.stderr
    m = batch.read_manifest(reports)
    assert status(m) == {("1426", "school_evaluation"): "ok", ("1426", "whanau_board_summary"): "ok"}
    assert json.loads(m["parameters"].iloc[0])["years"] == [2023, 2024, 2025]
    # tables for these years are made apart from the all-years ones
    assert "read and validated" in r.stdout
    assert sorted(pd.read_parquet(reports / "_data_2023-2025" / "indicators.parquet")["year"].unique()) == \
        [2023, 2024, 2025]
    assert json.loads(m["parameters"].iloc[0])["indicators_path"].endswith("_data_2023-2025/indicators.parquet")
    html = (reports / "1426" / "whanau_board_summary.html").read_text(encoding="utf-8")
    assert "REPORT 1426:" in html and "years [2023, 2024, 2025]" in html


def test_a_kernel_that_dies_fails_only_its_report(tmp_path):
    dies = write_notebook(tmp_path / "nb" / "dies.ipynb", "import os\nos._exit(3)")
    fine = write_notebook(tmp_path / "nb" / "fine.ipynb", "print('fine')")
    tasks = [batch.Task(sid, nb.stem, str(nb), str(tmp_path / "out" / sid / f"{nb.stem}.ipynb"), {}, "t", "x")
             for sid, nb in (("0001", dies), ("0002", fine))]
    results = {t.school: r for t, r in batch.execute(tasks, workers=2, progress=False)}
    assert results["0001"]["status"] == "failed" and "DeadKernelError" in results["0001"]["error"]
    assert results["0002"]["status"] == "ok" and (tmp_path / "out" / "0002" / "fine.html").exists()
    assert not (tmp_path / "out" / "0001" / "dies.html").exists()


def test_data_not_meeting_the_contract_stops_before_any_report(tmp_path, notebooks):
    data = tmp_path / "data"
    data.mkdir()
    (data / "schools.csv").write_text("school_id,school_name,region,school_type\n0042,A,Mars,Contributing\n")
    (data / "enrolments.csv").write_text("year,school_id,student_id,family_id,year_level,ethnicity\n"
                                         "2024,0042,1,F,3,Asian\n")
    r = cli("batch", "--data", data, "--params", PARAMS, "--out", tmp_path / "reports", "--notebooks", notebooks)
    assert r.returncode == 1
    assert "does not meet the data contract" in r.stderr and "'Mars' is not an allowed value" in r.stderr
    assert not (tmp_path / "reports" / "manifest.csv").exists()


def test_dask_scheduler_runs_the_same_tasks(first_run, tmp_path, notebooks):
    distributed = pytest.importorskip("distributed")
    reports = reuse_data(first_run, tmp_path / "reports")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        r = cli("batch", "--data", DEMO, "--params", first_run["params"], "--out", reports,
                "--notebooks", notebooks, "--schools", f"0113,1426,{FAILING}", "--no-summary", "--no-progress",
                "--scheduler", cluster.scheduler_address)
    assert r.returncode == 1 and f"{FAILING} school_evaluation" in r.stderr
    m = batch.read_manifest(reports)
    assert status(m) == {("0113", "school_evaluation"): "ok", (FAILING, "school_evaluation"): "failed",
                         ("1426", "school_evaluation"): "ok", ("national", "national_overview"): "ok", ("national", "inquiry_impact"): "ok"}
    # the same inputs give the same names and resume keys as the process pool's run
    first = first_run["manifest"].set_index(["school", "notebook"])
    for key, row in m.set_index(["school", "notebook"]).iterrows():
        if row["status"] == "ok":
            assert row["html"] == first.loc[key, "html"] and row["inputs_hash"] == first.loc[key, "inputs_hash"]
            assert (reports / row["html"]).exists()


@pytest.mark.slow
@pytest.mark.skipif(not all((ROOT / "notebooks" / f"{n}.ipynb").exists()
                            for n in ("school_evaluation", "whanau_board_summary", "national_overview", "inquiry_impact")),
                    reason="the project's report notebooks are not written yet")
def test_project_notebooks_run_in_the_batch(demo_batch):
    """The session's demo batch (tests/conftest.py) ran them; it fails there when a report failed."""
    m = batch.read_manifest(demo_batch)
    assert set(m["status"]) == {"ok"} and len(m) == 4, m[["school", "notebook", "status", "error"]].to_string()
    for p in ("0113/school_evaluation.html", "0113/whanau_board_summary.html", "national/national_overview.html", "national/inquiry_impact.html"):
        assert (demo_batch / p).stat().st_size > 0


def test_a_kernel_that_never_starts_is_started_again(tmp_path, monkeypatch):
    """A kernel that exits before it is ready (as one that lost a port race does) is replaced:
    a real kernel spec whose first launch exits at once and whose second runs ipykernel."""
    marker = tmp_path / "launched_once"
    launcher = tmp_path / "flaky_kernel.py"
    launcher.write_text(
        "import os, runpy, sys\n"
        f"marker = {str(marker)!r}\n"
        "if not os.path.exists(marker):\n"
        "    open(marker, 'w').close()\n"
        "    sys.exit(1)\n"
        "sys.argv = ['ipykernel_launcher'] + sys.argv[1:]\n"
        "runpy.run_module('ipykernel_launcher', run_name='__main__')\n", encoding="utf-8")
    spec = tmp_path / "jupyter" / "kernels" / "flaky"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(launcher), "-f", "{connection_file}"], "display_name": "flaky",
        "language": "python"}), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    nb = write_notebook(tmp_path / "nb" / "fine.ipynb", "print('fine')")
    out = execute.run_notebook(nb, tmp_path / "out" / "fine.ipynb", {}, kernel_name="flaky")
    assert marker.exists() and out["html"].exists()
    assert "fine" in out["ipynb"].read_text(encoding="utf-8")


def test_a_school_without_a_params_file_gets_the_defaults_and_the_manifest_says_so(first_run, tmp_path, notebooks):
    reports = reuse_data(first_run, tmp_path / "reports")
    params = tmp_path / "params"
    params.mkdir()
    shutil.copy(PARAMS / "0113.yaml", params / "0113.yaml")   # 1426 has no file
    r = cli("batch", "--data", DEMO, "--params", params, "--out", reports, "--notebooks", notebooks,
            "--schools", "0113,1426", "--no-summary", "--no-national", "--no-progress")
    assert r.returncode == 0, r.stderr
    m = batch.read_manifest(reports).set_index("school")
    assert list(batch.read_manifest(reports).columns) == batch.MANIFEST_COLUMNS
    assert m.loc["0113", "params"] == "0113.yaml" and m.loc["1426", "params"] == "defaults"
    assert json.loads(m.loc["1426", "parameters"])["params_path"] is None
    assert m.loc["1426", "status"] == "ok" and m.loc["1426", "display_name"] == "Puke Creek School"
    assert "Params: school 1426 has no params file, so its reports use the default settings" in r.stdout
    assert f"hsp-eval params init --all --data {DEMO} --out {params}" in r.stdout
    # the index page says which school uses the defaults, in its row and in a sentence above the table
    page = (reports / "index.html").read_text(encoding="utf-8")
    rows = {sid: row for sid in ("0113", "1426") for row in re.findall(r"<tr>.*?</tr>", page, re.S)
            if f"<td>{sid}</td>" in row}
    assert "<td>default settings (no params file)</td>" in rows["1426"] and "<td>its params file</td>" in rows["0113"]
    assert "1 of 2 schools have no params file" in page

    # no params folder at all (a name that does not exist): every school gets the defaults; 1426's inputs
    # did not change, so it is skipped
    r = cli("batch", "--data", DEMO, "--params", tmp_path / "nothing_here", "--out", reports,
            "--notebooks", notebooks, "--schools", "0113,1426", "--no-summary", "--no-national", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "nothing_here does not exist; every school gets the default settings" in r.stdout
    m = batch.read_manifest(reports).set_index("school")
    assert dict(m["params"]) == {"0113": "defaults", "1426": "defaults"}
    assert dict(m["status"]) == {"0113": "ok", "1426": "skipped"}


def test_report_makes_a_first_report_with_no_school_id_params_or_key(tmp_path):
    """The first run of a school with one school's data: the project's real notebook, the defaults."""
    from hsp_eval.synthetic import build

    data = tmp_path / "my_school"
    build.write_dataset(data, n_schools=1, years=[2024, 2025], seed=3)
    sid, name = pd.read_csv(data / "schools.csv", dtype=str).iloc[0][["school_id", "school_name"]]
    env = {k: v for k, v in os.environ.items() if k != "HSP_EVAL_KEY_FILE"}   # no publication key anywhere
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])  # run elsewhere
    r = cli("report", "--data", data, "--out", "reports", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "reports" / sid / "school_evaluation.html").read_text(encoding="utf-8")
    assert "This report uses the default settings: no targets were set" in html
    assert f"<title>{name}: " in html
    assert f"Report: reports/{sid}/school_evaluation.html" in r.stdout
    assert f"No params file for school {sid}, so its reports use the default settings" in r.stdout
    assert f"hsp-eval params init {sid} --data {data} --out params" in r.stdout
    assert batch.read_manifest(tmp_path / "reports")["params"].tolist() == ["defaults"]
    assert not (tmp_path / "reports" / "_data" / "publication.parquet").exists()
    # the starter file for the one school, without naming it
    r = cli("params", "init", "--data", data, "--out", tmp_path / "params", cwd=tmp_path, env=env)
    assert r.returncode == 0 and (tmp_path / "params" / f"{sid}.yaml").exists(), r.stderr


def test_report_asks_which_school_when_the_data_hold_several(first_run, tmp_path):
    reports = reuse_data(first_run, tmp_path / "reports")
    r = cli("report", "--data", DEMO, "--out", reports)
    assert r.returncode == 1
    assert "holds 24 schools (0113, 0827, 1426," in r.stderr and "--school ID, for example --school 0113" in r.stderr


def running_files(reports: Path) -> list[str]:
    return sorted(p.relative_to(reports).as_posix() for p in reports.rglob(".*")
                  if p.name.endswith((".running.ipynb", ".tmp")))


def test_a_rerun_after_a_kill_cleans_the_hidden_running_files(first_run, tmp_path, notebooks):
    """A real batch killed outright (SIGKILL, every process of it) while a report runs, then run again:
    it resumes, removes the dead run's hidden files (not a live process's) and makes the same pages."""
    import signal
    import time

    reports = reuse_data(first_run, tmp_path / "reports")
    params = copy_params(tmp_path / "params")
    hold = tmp_path / "hold"
    hold.touch()
    args = ["batch", "--data", DEMO, "--params", params, "--out", reports, "--notebooks", notebooks,
            "--schools", "0113,1426", "--no-summary", "--no-national", "--no-progress"]
    proc = subprocess.Popen([sys.executable, "-m", "hsp_eval.cli", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "HSP_EVAL_TEST_HOLD": str(hold), "HSP_EVAL_TEST_HOLD_SCHOOL": "1426"})
    try:
        deadline = time.monotonic() + 300
        while not list((reports / "1426").glob(".school_evaluation.*.running.ipynb")):
            assert proc.poll() is None and time.monotonic() < deadline, "the batch never reached 1426"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        hold.unlink()
    left = running_files(reports)
    assert [f for f in left if f.startswith("1426/.school_evaluation.")], left   # what the kill left
    live = reports / "0113" / f".school_evaluation.{os.getpid()}.running.ipynb"   # a live process's file
    live.write_text("{}", encoding="utf-8")

    r = cli(*args)
    assert r.returncode == 0, r.stderr
    assert running_files(reports) == [live.relative_to(reports).as_posix()]
    assert status(batch.read_manifest(reports))[("1426", "school_evaluation")] == "ok"
    for sid in ("0113", "1426"):   # the same pages as the uninterrupted first run's
        page = f"{sid}/school_evaluation.html"
        assert same_page(reports / page) == same_page(first_run["reports"] / page), page


def same_page(path: Path) -> str:
    """A page's HTML without the id papermill gives its injected-parameters cell afresh on every run."""
    html = path.read_text(encoding="utf-8")
    return re.sub(r'(celltag_injected-parameters" id="cell-id=)[0-9a-f-]+"', r'\1"', html)

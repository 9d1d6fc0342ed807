"""The bad-input catalogue: tiny datasets under ``tests/bad_inputs/<case>/``, each with the
problems it must produce (``expected.json``), plus a few good edge cases that must load.

A bad case must raise :class:`DataContractError` with exactly the listed problems (file, row,
column, value and a fragment of the reason; no more, no fewer). A non-fatal bad case is also
loaded with a quarantine folder and the row accounting is checked. A case whose
``expected.json`` has ``xfail_reason`` describes behaviour the loader should have but does not
have yet: it is a strict xfail, so it starts failing the suite once the loader is fixed.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import unicodedata
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hsp_eval import DataContractError, load_dataset
from hsp_eval.data.contract import TABLES

CASES_DIR = Path(__file__).parent / "bad_inputs"
CASE_NAMES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "expected.json").is_file())


def expected_of(name: str) -> dict:
    return json.loads((CASES_DIR / name / "expected.json").read_text(encoding="utf-8"))


BAD = [n for n in CASE_NAMES if not expected_of(n).get("good")]
GOOD = [n for n in CASE_NAMES if expected_of(n).get("good")]
NON_FATAL_BAD = [n for n in BAD if not expected_of(n)["fatal"]]


XFAIL_TESTS = {"problems", "quarantine", "fatal_quarantine", "messages", "good"}


def _params(names, test: str):
    """One param per case; a strict xfail where the case's ``xfail_tests`` names ``test``."""
    assert test in XFAIL_TESTS
    out = []
    for n in names:
        exp = expected_of(n)
        reason = exp.get("xfail_reason")
        hit = reason and test in exp.get("xfail_tests", sorted(XFAIL_TESTS))
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if hit else []
        out.append(pytest.param(n, id=n, marks=marks))
    return out


def materialise(name: str, dest: Path) -> Path:
    """Copy case ``name`` to ``dest`` (a fresh folder) and build any Parquet file it asks for."""
    src = CASES_DIR / name
    folder = dest / name
    folder.mkdir(parents=True)
    for f in src.iterdir():
        if f.name != "expected.json":
            shutil.copy(f, folder / f.name)
    spec = expected_of(name).get("to_parquet")
    if spec:
        csv_path = folder / f"{spec['table']}.csv"
        df = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
        columns = {}
        for col in df.columns:
            if col in spec.get("int_columns", []):
                columns[col] = pa.array(df[col].astype("int64"))
            elif col in spec.get("bool_columns", []):
                columns[col] = pa.array(df[col].str.lower().eq("true"))
            else:
                columns[col] = pa.array(df[col], type=pa.string())
        pq.write_table(pa.table(columns), folder / f"{spec['table']}.parquet")
        csv_path.unlink()
    return folder


def _load_error(folder: Path, **kwargs) -> DataContractError:
    with pytest.raises(DataContractError) as info:
        load_dataset(folder, **kwargs)
    return info.value


def _matches(problem, exp: dict) -> bool:
    return (problem.file == exp["file"] and problem.row == exp["row"]
            and problem.column == exp["column"]
            and ("value" not in exp or problem.value == exp["value"])
            and exp["reason_contains"] in problem.reason)


def assert_problems(report, expected: dict) -> None:
    got = list(report.problems)
    listing = "\n".join(f"  {p.file} row={p.row} column={p.column!r} value={p.value!r}: {p.reason}"
                        for p in got)
    unmatched = list(got)
    for exp in expected["problems"]:
        hit = next((p for p in unmatched if _matches(p, exp)), None)
        assert hit is not None, f"expected problem not reported: {exp}\nthe loader reported:\n{listing}"
        unmatched.remove(hit)
    assert len(got) == expected["n_problems"], (
        f"expected {expected['n_problems']} problems, got {len(got)}:\n{listing}")


# ---------------------------------------------------------------------------------------
# the catalogue itself


def test_catalogue_is_complete_and_consistent():
    assert len(BAD) >= 24 and len(GOOD) >= 3
    for name in CASE_NAMES:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+", name), name
        exp = expected_of(name)
        assert exp["description"], name
        assert exp["n_problems"] == len(exp["problems"]), f"{name}: n_problems must count the list"
        assert (CASES_DIR / name / "schools.csv").exists() or exp["fatal"], name
        for p in exp["problems"]:
            assert set(p) >= {"file", "row", "column", "reason_contains"}, (name, p)
            assert p["reason_contains"], (name, p)
        if exp.get("good"):
            assert not exp["problems"] and exp["loaded"], name
        for n in exp.get("notices", []):
            assert set(n) == {"file", "contains"} and n["contains"], (name, n)
        if "clean_twin" in exp:
            assert exp.get("good") and expected_of(exp["clean_twin"]).get("good"), name


# ---------------------------------------------------------------------------------------
# bad cases


@pytest.mark.parametrize("name", _params(BAD, "problems"))
def test_bad_case_reports_exactly_the_expected_problems(name, tmp_path):
    expected = expected_of(name)
    err = _load_error(materialise(name, tmp_path))
    assert err.report.fatal is expected["fatal"], err.report.format()
    assert_problems(err.report, expected)


@pytest.mark.parametrize("name", _params(NON_FATAL_BAD, "quarantine"))
def test_bad_case_quarantine_accounting(name, tmp_path):
    expected = expected_of(name)
    folder = materialise(name, tmp_path / "in")
    qdir = tmp_path / "quarantine"
    ds = load_dataset(folder, quarantine=qdir)
    report = ds.report
    # the same problems as without quarantine
    assert_problems(report, expected)
    bad_rows: dict[str, set] = {}
    for p in expected["problems"]:
        bad_rows.setdefault(p["file"], set()).add(p["row"])
    bad_rows.update({f: set(rows) for f, rows in expected.get("quarantine_rows", {}).items()})
    files = {p.name: p for p in folder.iterdir()}
    assert set(report.accounts) == {Path(f).stem for f in files if Path(f).stem in TABLES}
    for table, acc in report.accounts.items():
        assert acc.read == acc.accepted + acc.quarantined, acc
        assert len(ds[table]) == acc.accepted, table
        qfile = qdir / f"{table}.csv"
        rows = bad_rows.get(acc.file, set())
        assert acc.quarantined == len(rows), (table, acc, rows)
        if acc.quarantined:
            assert qfile.exists(), qfile
            q = pd.read_csv(qfile, dtype=str, keep_default_na=False)
            assert {"row", "reason"} <= set(q.columns), q.columns
            assert len(q) == acc.quarantined
            assert set(q["row"].astype(int)) == rows
            assert (q["reason"].str.strip() != "").all()
        else:
            assert not qfile.exists(), qfile
    # the accepted rows are exactly the rows of the file that were not quarantined
    for table, acc in report.accounts.items():
        if acc.file.endswith(".csv"):
            ids = [c.name for c in TABLES[table].columns if c.kind == "id" and c.required]
            records = csv_records(folder / acc.file)
            kept = [tuple(unicodedata.normalize("NFC", rec[c]).strip() for c in ids)
                    for row, rec in records.items() if row not in bad_rows.get(acc.file, set())]
            loaded = [tuple(r) for r in ds[table][ids].itertuples(index=False)]
            assert sorted(loaded) == sorted(kept), table


def csv_records(path: Path) -> dict[int, dict]:
    """Well-formed records of a CSV by file row (header = row 1; a blank line is a row, as a
    spreadsheet shows it; a quoted line break does not start a new row)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader)]
        out, row = {}, 1
        for rec in reader:
            row += 1
            if len(rec) == len(header):
                out[row] = dict(zip(header, rec))
    return out


@pytest.mark.parametrize("name", _params([n for n in BAD if expected_of(n)["fatal"]], "fatal_quarantine"))
def test_fatal_case_is_fatal_with_quarantine_too(name, tmp_path):
    err = _load_error(materialise(name, tmp_path / "in"), quarantine=tmp_path / "q")
    assert err.report.fatal
    assert_problems(err.report, expected_of(name))


JARGON = re.compile(
    r"\bnan\b|<NA>|\bNaT\b|\bNone\b|dtype|Traceback|\bobject\b|isin\(|Int64|int64|float64|"
    r"\bSeries\b|DataFrame|pandas|pandera|pyarrow|Arrow|Exception|Error\b|\bcheck\b|lambda|"
    r"failure_case|\bstr\b|\bbool\b",
    re.IGNORECASE)


@pytest.mark.parametrize("name", _params(BAD, "messages"))
def test_messages_are_plain_words(name, tmp_path):
    """What a school administrator reads carries no Python, pandas or Arrow words."""
    err = _load_error(materialise(name, tmp_path / "in"))
    texts = [p.reason for p in err.report.problems]
    texts += [p.value for p in err.report.problems if p.value is not None]
    texts.append(str(err))
    if not expected_of(name)["fatal"]:
        qdir = tmp_path / "q"
        load_dataset(materialise(name, tmp_path / "again"), quarantine=qdir)
        for f in qdir.glob("*.csv"):
            texts += pd.read_csv(f, dtype=str, keep_default_na=False)["reason"].tolist()
    for text in texts:
        assert not JARGON.search(text), f"jargon in: {text!r}"
        # a reason is words, not a bare code
        assert re.search(r"[a-z]{3,}", text) or text in (p.value for p in err.report.problems), text


def assert_notices(got: list[str], expected: list[dict]) -> None:
    """Exactly the expected notices: each about its file (the notice starts with the file's name)
    and holding its fragment, each once (a repair is reported once per file)."""
    unmatched = list(got)
    for exp in expected:
        hit = next((n for n in unmatched if n.startswith(exp["file"]) and exp["contains"] in n), None)
        assert hit is not None, f"expected notice not given: {exp}\nthe loader gave:\n" + "\n".join(got)
        unmatched.remove(hit)
    assert not unmatched, "notices not expected:\n" + "\n".join(unmatched)


# ---------------------------------------------------------------------------------------
# good edge cases


def _as(value, kind):
    if kind == "timestamp":
        return pd.Timestamp(value)
    return value


@pytest.mark.parametrize("name", _params(GOOD, "good"))
def test_good_case_loads_with_the_expected_values(name, tmp_path):
    expected = expected_of(name)
    ds = load_dataset(materialise(name, tmp_path))
    assert ds.report.ok, ds.report.format()
    assert ds.report.problems == []
    for table, n in expected.get("rows", {}).items():
        assert len(ds[table]) == n, table
    for check in expected["loaded"]:
        got = ds[check["table"]][check["column"]].iloc[check["index"]]
        want = _as(check["equals"], check["as"])
        assert got == want, (check, got)
        if check["as"] == "value" and isinstance(want, str):
            assert isinstance(got, str), (check, type(got))
    if "notice_contains" in expected:
        assert any(expected["notice_contains"] in n for n in ds.report.notices), ds.report.notices
    if "notices" in expected:
        assert_notices(ds.report.notices, expected["notices"])
    for table, acc in ds.report.accounts.items():
        assert acc.read == acc.accepted and acc.quarantined == 0, acc


@pytest.mark.parametrize("name", [n for n in GOOD if "clean_twin" in expected_of(n)])
def test_repaired_case_loads_exactly_as_its_clean_twin(name, tmp_path):
    """A messy export that is repaired loads to the very tables its clean twin loads to."""
    messy = load_dataset(materialise(name, tmp_path / "messy"))
    clean = load_dataset(materialise(expected_of(name)["clean_twin"], tmp_path / "clean"))
    assert messy.report.notices and not clean.report.notices
    assert set(messy.tables) <= set(clean.tables)
    for table in messy.tables:
        pd.testing.assert_frame_equal(messy[table], clean[table], obj=table)

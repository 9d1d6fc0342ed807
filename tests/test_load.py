"""Unit tests of the loader: parsing, aliases, schemas, cross-table checks, quarantine, fingerprint."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hsp_eval import DataContractError, load_dataset
from hsp_eval.data import vocab
from hsp_eval.data.contract import TABLES
from hsp_eval.data.parse import parse_column
from hsp_eval.data.problems import Problem, ValidationReport
from hsp_eval.data.read import read_raw
from hsp_eval.data.schemas import failures
from hsp_eval.testing import write_csv_texts

SCHOOLS = "school_id,school_name,region,school_type,eqi\n0042,Kura A,Otago,Contributing,400\n0007,Kura B,Auckland,Full Primary,\n"
ENROL = (
    "year,school_id,student_id,family_id,year_level,ethnicity,target\n"
    "2024,0042,00001,F01,3,Māori,true\n"
    "2024,0042,00002,F01,5,European;Māori,false\n"
    "2024,0007,00003,F01,8,European,false\n"  # sibling at another school
    "2024,0042,00004,F02,4,Pacific,\n"
)


def write(folder, **tables):
    return write_csv_texts(folder, tables)


@pytest.fixture
def base(tmp_path):
    return write(tmp_path, schools=SCHOOLS, enrolments=ENROL)


# --- parsing -------------------------------------------------------------------------


@pytest.mark.parametrize("raw,expected", [
    ("2024-03-07", "2024-03-07"), ("7/03/2024", "2024-03-07"), ("07/03/2024", "2024-03-07"),
    ("7/3/2024", "2024-03-07"), (" 2024-12-31 ", "2024-12-31"),
])
def test_dates_iso_and_nz_day_first(raw, expected):
    values, bad = parse_column(pd.Series([raw]), "date")
    assert bad.empty
    assert values.iloc[0] == pd.Timestamp(expected)


@pytest.mark.parametrize("raw", ["2024-02-30", "31/04/2024", "03/25/2024", "March 7", "2024/03/07", "1999-05-01"])
def test_bad_dates_are_reasons(raw):
    values, bad = parse_column(pd.Series([raw]), "date")
    assert values.isna().all()
    assert list(bad.index) == [0]


@pytest.mark.parametrize("raw,expected", [
    ("true", True), ("Yes", True), ("Y", True), ("1", True), ("FALSE", False), ("no", False),
    ("n", False), ("0", False),
])
def test_booleans(raw, expected):
    values, bad = parse_column(pd.Series([raw]), "bool")
    assert bad.empty and values.iloc[0] == expected


def test_blank_is_missing_not_a_reason():
    for kind in ("bool", "int", "float", "date", "id", "month"):
        values, bad = parse_column(pd.Series(["", "  "]), kind)
        assert values.isna().all() and bad.empty, kind


def test_ids_keep_leading_zeros_and_nfc():
    values, bad = parse_column(pd.Series(["0042", " 007 ", "Ma\u0304ori"]), "id")
    assert values.tolist() == ["0042", "007", "M\u0101ori"]


@pytest.mark.parametrize("raw,expected", [
    ("Maori", "Māori"), ("Ma\u0304ori", "Māori"), ("NZ European", "European"), ("Pākehā", "European"),
    ("pakeha", "European"), ("Pacific Peoples", "Pacific"), ("2", "Māori"), ("4;1", "European;Asian"),
    ("Māori;Māori", "Māori"), ("Not stated", "Not stated"), ("MELAA; Other ;Asian", "Asian;MELAA;Other"),
])
def test_ethnicity_aliases_and_codes(raw, expected):
    values, bad = parse_column(pd.Series([raw]), "ethnicity")
    assert bad.empty and values.iloc[0] == expected


@pytest.mark.parametrize("raw", ["Klingon", "Not stated;Māori", "1;2;3;4", "7"])
def test_bad_ethnicity(raw):
    _, bad = parse_column(pd.Series([raw]), "ethnicity")
    assert list(bad.index) == [0]


@pytest.mark.parametrize("vocabulary,raw,expected", [
    ("region", "Manawatu-Wanganui", "Manawatū-Whanganui"), ("region", "manawatu-whanganui", "Manawatū-Whanganui"),
    ("region", "Hawkes Bay", "Hawke's Bay"), ("channel", "TXT", "text"), ("role", "whānau", "whanau"),
    ("activity_type", " Learning_Conference ", "learning_conference"),
])
def test_category_aliases(vocabulary, raw, expected):
    values, bad = parse_column(pd.Series([raw]), "category", vocabulary)
    assert bad.empty and values.iloc[0] == expected
    assert tuple(values.cat.categories) == vocab.VOCABULARIES[vocabulary][0]  # fixed vocabulary


def test_unknown_category_lists_allowed_values():
    _, bad = parse_column(pd.Series(["disco"]), "category", "activity_type")
    assert "learning_conference" in bad.iloc[0] and "allowed" in bad.iloc[0]


def test_int_parsing():
    values, bad = parse_column(pd.Series(["3", "4.0", "4.5", "x"]), "int")
    assert values.tolist()[:2] == [3, 4]
    assert list(bad.index) == [2, 3]


# --- schemas ---------------------------------------------------------------------------


def test_schema_reports_range_and_blank_in_plain_words():
    df = pd.DataFrame({
        "school_id": pd.Categorical(["0042", None]),  # a coded column (contract.Column.coded)
        "school_name": pd.Series(["A", "B"], dtype="str"),
        "region": pd.Categorical(["Otago", "Otago"], categories=vocab.REGIONS),
        "school_type": pd.Categorical(["Contributing"] * 2, categories=vocab.SCHOOL_TYPES),
        "eqi": pd.array([300, 400], dtype="Int64"),
    })
    f = failures(df, "schools")
    got = {(r.index, r.column, r.reason) for r in f.itertuples()}
    assert got == {(0, "eqi", "must be between 344 and 569"), (1, "school_id", "is blank but a value is required")}


# --- files -----------------------------------------------------------------------------


def test_bom_is_accepted(tmp_path):
    (tmp_path / "schools.csv").write_bytes(b"\xef\xbb\xbf" + SCHOOLS.encode())
    raw = read_raw(tmp_path / "schools.csv", "schools")
    assert not raw.problems and raw.frame["school_id"].tolist() == ["0042", "0007"]


@pytest.mark.parametrize("column", ["first_name", "Email", "Phone Number", "address", "surname", "caregiver_name"])
def test_personal_information_columns_are_refused(tmp_path, column):
    (tmp_path / "schools.csv").write_text(SCHOOLS.replace("eqi", column, 1), encoding="utf-8")
    raw = read_raw(tmp_path / "schools.csv", "schools")
    assert [p.column for p in raw.problems] == [column]
    assert "personal information" in raw.problems[0].reason


def test_extra_column_is_noted_not_silently_dropped(tmp_path):
    (tmp_path / "schools.csv").write_text(SCHOOLS.replace("eqi", "eqi,decile"), encoding="utf-8")
    raw = read_raw(tmp_path / "schools.csv", "schools")
    assert not raw.problems and any("decile" in n for n in raw.notices)


def test_optional_columns_may_be_absent(tmp_path):
    write(tmp_path, schools="school_id,school_name,region,school_type\n0042,A,Otago,Contributing\n",
          enrolments="year,school_id,student_id,family_id,year_level,ethnicity\n2024,0042,1,F,3,Asian\n")
    ds = load_dataset(tmp_path)
    assert ds["schools"]["eqi"].isna().all() and ds["enrolments"]["target"].isna().all()


def test_row_numbers_count_the_header_and_skip_nothing(tmp_path):
    bad = ENROL + "2024,0042,00005,F03,99,Asian,false\n2024,0042,00006,F03,2,Asian,false\n"
    write(tmp_path, schools=SCHOOLS, enrolments=bad)
    with pytest.raises(DataContractError) as e:
        load_dataset(tmp_path)
    [p] = e.value.report.problems
    assert (p.file, p.row, p.column, p.value) == ("enrolments.csv", 6, "year_level", "99")


def test_row_numbers_after_a_malformed_record(tmp_path):
    text = ENROL.replace("2024,0042,00002,F01,5,European;Māori,false\n", "2024,0042\n") + "2024,0042,00009,F02,77,Asian,false\n"
    write(tmp_path, schools=SCHOOLS, enrolments=text)
    with pytest.raises(DataContractError) as e:
        load_dataset(tmp_path)
    rows = sorted((p.row, p.column) for p in e.value.report.problems)
    assert rows == [(3, None), (6, "year_level")]


# --- the dataset -----------------------------------------------------------------------


def test_loaded_types(base):
    ds = load_dataset(base)
    e = ds["enrolments"]
    assert e["student_id"].tolist()[0] == "00001"
    assert str(e["year"].dtype) == "int64" and str(e["year_level"].dtype) == "int64"
    assert str(e["target"].dtype) == "boolean"  # one blank: stays nullable
    assert isinstance(ds["schools"]["region"].dtype, pd.CategoricalDtype)
    assert ds.report.ok and ds.report.accounts["enrolments"].read == 4


def test_missing_optional_table_is_not_an_error(base):
    ds = load_dataset(base)
    assert not ds.has("contacts") and sorted(ds.tables) == ["enrolments", "schools"]


def test_required_table_missing_is_fatal(tmp_path):
    write(tmp_path, schools=SCHOOLS)
    with pytest.raises(DataContractError) as e:
        load_dataset(tmp_path)
    assert e.value.report.fatal and "enrolments" in str(e.value)


def test_cross_table_family_enrolled_at_that_school_that_year(base):
    write(base,
          activities="activity_id,school_id,date,activity_type\nA1,0042,2024-03-07,learning_conference\n"
                     "A2,0007,2025-03-07,celebration\n",
          attendance="activity_id,family_id,invited,attended\nA1,F01,true,true\nA1,F02,,true\n"
                     "A2,F01,,true\nA1,F99,,false\n")
    with pytest.raises(DataContractError) as e:
        load_dataset(base)
    got = [(p.row, p.column, p.value) for p in e.value.report.problems]
    # F01 has a child at 0007 in 2024 but the activity is in 2025; F99 is nobody
    assert got == [(4, "family_id", "F01"), (5, "family_id", "F99")]
    assert "2025" in e.value.report.problems[0].reason


def test_inquiry_steps_must_be_target_students(base):
    write(base, inquiry_steps="year,school_id,student_id,whanau_identified,whanau_codesigned,"
                              "family_goal_included,whanau_reviewed\n2024,0042,00001,y,y,n,y\n2024,0042,00002,y,n,n,n\n")
    with pytest.raises(DataContractError) as e:
        load_dataset(base)
    [p] = e.value.report.problems
    assert (p.row, p.column, p.value) == (3, "student_id", "00002") and "target" in p.reason


def test_quarantine_accounting(base, tmp_path):
    bad = ENROL + "2024,0099,00005,F03,3,Asian,false\n2024,0042,00006,F03,30,Asian,false\n2024,0042\n"
    write(base, enrolments=bad)
    q = tmp_path / "q"
    ds = load_dataset(base, quarantine=q)
    acc = ds.report.accounts["enrolments"]
    assert (acc.read, acc.accepted, acc.quarantined) == (7, 4, 3) and acc.balanced()
    qf = pd.read_csv(q / "enrolments.csv", dtype=str)
    assert qf["row"].tolist() == ["6", "7", "8"]
    assert "schools table" in qf["reason"][0] and "between 0 and 13" in qf["reason"][1]
    assert len(ds["enrolments"]) == 4 and not (q / "schools.csv").exists()


def test_quarantine_cascades_to_rows_that_refer_to_quarantined_rows(base, tmp_path):
    write(base, enrolments=ENROL + "2024,0042,00005,F03,30,Asian,false\n",
          contacts="contact_id,school_id,date,family_id,initiated_by,channel,purpose\n"
                   "C1,0042,2024-05-01,F03,school,phone,good_news\nC2,0042,2024-05-01,F02,family,email,learning\n")
    ds = load_dataset(base, quarantine=tmp_path / "q")
    assert ds["contacts"]["contact_id"].tolist() == ["C2"]
    assert ds.report.accounts["contacts"].quarantined == 1


def test_each_family_row_keeps_the_enrolment_row_its_check_found(base, tmp_path):
    """The loader remembers, for each accepted attendance, contact and portal row, the row of the
    accepted enrolments with its school, year and family (and each attendance row's activity);
    it forgets them once a table is replaced."""
    write(base, enrolments="year,school_id,student_id,family_id,year_level,ethnicity,target\n"
                           "2024,0042,00009,F09,30,Asian,false\n" + ENROL.split("\n", 1)[1],  # row 2 is bad
          activities="activity_id,school_id,date,activity_type\nA1,0042,2024-03-07,learning_conference\n"
                     "A2,0007,2024-03-07,celebration\n",
          attendance="activity_id,family_id,invited,attended\nA2,F01,,true\nA1,F09,,true\n"
                     "A1,F02,true,true\nA1,F01,,false\n",
          contacts="contact_id,school_id,date,family_id,initiated_by,channel,purpose\n"
                   "C1,0042,2024-05-01,F02,school,phone,good_news\nC2,0007,2024-06-01,F01,family,email,learning\n",
          portal_usage="school_id,family_id,month,logins\n0042,F01,2024-02,3\n0042,F01,2025-02,1\n"
                       "0042,F02,2024-11,0\n")
    ds = load_dataset(base, quarantine=tmp_path / "q")
    # accepted enrolments: 0 = (0042, F01), 1 = (0042, F01), 2 = (0007, F01), 3 = (0042, F02)
    assert ds["enrolments"]["student_id"].tolist() == ["00001", "00002", "00003", "00004"]
    assert ds.enrolment_rows("attendance").tolist() == [2, 3, 0]  # A1/F09 quarantined
    assert ds.rows_in("attendance", "activities").tolist() == [1, 0, 0]
    assert ds.enrolment_rows("contacts").tolist() == [3, 2]
    assert ds.enrolment_rows("portal_usage").tolist() == [0, 3]  # F01 has no child there in 2025
    assert ds.report.accounts["portal_usage"].quarantined == 1
    sub = ds.for_schools(["0042"])
    assert sub.enrolment_rows("attendance").tolist() == [2, 0] and sub.enrolment_rows("contacts").tolist() == [2]
    assert sub.rows_in("attendance", "activities").tolist() == [0, 0]
    ds.tables["contacts"] = ds["contacts"].iloc[::-1]
    assert ds.enrolment_rows("contacts") is None and ds.enrolment_rows("attendance") is not None


def test_report_lists_all_problems_with_a_cap(base):
    rows = "".join(f"2024,0042,9{i:04d},F9,{20 + i},Asian,false\n" for i in range(80))
    write(base, enrolments=ENROL + rows)
    with pytest.raises(DataContractError) as e:
        load_dataset(base)
    assert len(e.value.report.problems) == 80
    text = e.value.report.format(cap=50)
    assert text.count("\n  - ") == 50 and "and 30 more (enrolments: 30)" in text


def test_problem_str_names_file_row_column_value():
    p = Problem("attendance", "attendance.csv", 12, "activity_id", "A9", "is not in the activities table")
    assert str(p) == "attendance.csv, row 12, column 'activity_id': 'A9' is not in the activities table"
    assert "0 problems" not in ValidationReport().format()


# --- Parquet and the fingerprint --------------------------------------------------------


def _to_parquet(csv_dir, pq_dir):
    pq_dir.mkdir()
    for p in csv_dir.glob("*.csv"):
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
        typed = {}
        for c in df.columns:
            col = TABLES[p.stem].column(c)
            s = df[c].replace("", None)
            if col.kind == "int":
                typed[c] = pa.array(pd.to_numeric(s).astype("Int64"), type=pa.int32())
            elif col.kind == "bool":
                typed[c] = pa.array(s.map({"true": True, "false": False, None: None}), type=pa.bool_())
            else:
                typed[c] = pa.array(s, type=pa.string())
        pq.write_table(pa.table(typed), pq_dir / f"{p.stem}.parquet")


def test_parquet_loads_like_csv_and_fingerprints_agree(base, tmp_path):
    _to_parquet(base, tmp_path / "pq")
    a, b = load_dataset(base), load_dataset(tmp_path / "pq")
    for name in a.tables:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert a.fingerprint() == b.fingerprint()


PORTAL = ("school_id,family_id,month,logins\n0042,F01,2024-03,4\n 0042 ,F02,2024-13,2\n0042,F02,2024-04,2\n"
          "0042,F01,2024-05,1\n0007,F01,2024-05,0\n0042,F09,2024-05,3\n")


@pytest.mark.parametrize("how", ["dictionary per row group", "no dictionary"])
def test_parquet_text_read_as_dictionaries_loads_and_quarantines_like_csv(base, tmp_path, how):
    # the loader reads Parquet text columns as Arrow dictionaries: with several row groups (one
    # dictionary each) or none, cells needing cleaning and bad cells, it finds what it finds in the CSV
    write(base, portal_usage=PORTAL)
    _to_parquet(base, tmp_path / "pq")
    for p in (tmp_path / "pq").glob("*.parquet"):
        pq.write_table(pq.read_table(p), p, row_group_size=2, use_dictionary=how != "no dictionary")
    a = load_dataset(base, quarantine=tmp_path / "qa")
    b = load_dataset(tmp_path / "pq", quarantine=tmp_path / "qb")
    for name in a.tables:
        pd.testing.assert_frame_equal(a[name], b[name])
    problems = [(p.table, p.row, p.column, p.value, p.reason) for p in a.report.problems]
    # a Parquet file's rows are counted from its first record; a CSV's from its header line
    assert problems == [(p.table, p.row + 1, p.column, p.value, p.reason) for p in b.report.problems]
    assert {(p[1], p[2], p[3]) for p in problems} == {(3, "month", "2024-13"), (7, "family_id", "F09")}
    qa, qb = (pd.read_csv(tmp_path / q / "portal_usage.csv", dtype=str) for q in ("qa", "qb"))
    pd.testing.assert_frame_equal(qa.drop(columns="row"), qb.drop(columns="row"))


def test_fingerprint_changes_with_any_value(base, tmp_path):
    f0 = load_dataset(base).fingerprint()
    write(base, enrolments=ENROL.replace("00004,F02,4", "00004,F02,5"))
    assert load_dataset(base).fingerprint() != f0


def test_parquet_numeric_ids_are_refused(base, tmp_path):
    d = tmp_path / "pq"
    d.mkdir()
    (d / "enrolments.csv").write_text(ENROL, encoding="utf-8")
    pq.write_table(pa.table({"school_id": [42], "school_name": ["A"], "region": ["Otago"],
                             "school_type": ["Contributing"]}), d / "schools.parquet")
    with pytest.raises(DataContractError) as e:
        load_dataset(d)
    assert any(p.column == "school_id" and "leading zeros" in p.reason for p in e.value.report.problems)


def test_both_csv_and_parquet_of_one_table_is_an_error(base):
    pq.write_table(pa.table({"school_id": ["1"]}), base / "schools.parquet")
    with pytest.raises(DataContractError, match="keep only one"):
        load_dataset(base)


def test_threads_change_nothing_the_loader_finds(tmp_path, monkeypatch):
    """Columns are parsed, and a table's cross-table checks run, in threads: with one thread or
    four, the same tables, the same problems in the same order and the same quarantine files."""
    from hsp_eval.data import load
    from hsp_eval.synthetic import build as synthetic

    d = tmp_path / "data"
    synthetic.write_dataset(d, n_schools=3, years=[2024], seed=1)
    att = pd.read_csv(d / "attendance.csv", dtype=str, keep_default_na=False)
    att.loc[0, "activity_id"] = "NO-SUCH-ACTIVITY"
    att.loc[1, "family_id"] = "NO-SUCH-FAMILY"
    att = pd.concat([att, att.iloc[[5]]])  # a repeated (activity, family)
    att.to_csv(d / "attendance.csv", index=False)
    con = pd.read_csv(d / "contacts.csv", dtype=str, keep_default_na=False)
    con.loc[0, "channel"] = "pigeon"
    con.loc[1, "family_id"] = "NO-SUCH-FAMILY"
    con.loc[2, "student_id"] = "NO-SUCH-STUDENT"
    con.to_csv(d / "contacts.csv", index=False)
    res = pd.read_csv(d / "survey_responses.csv", dtype=str, keep_default_na=False)
    res.loc[0, "response"] = "9"
    res.loc[1, "respondent_id"] = "NO-SUCH-RESPONDENT"
    res.loc[2, "item_id"] = "NO-SUCH-ITEM"
    res.to_csv(d / "survey_responses.csv", index=False)
    runs = []
    for threads in (1, 4):
        monkeypatch.setattr(load, "PARSE_THREADS", threads)
        q = tmp_path / f"q{threads}"
        ds = load_dataset(d, quarantine=q)
        runs.append(([str(p) for p in ds.report.problems], ds, {p.name: p.read_text() for p in sorted(q.iterdir())}))
    (p1, ds1, q1), (p4, ds4, q4) = runs
    assert p1 == p4 and q1 == q4
    assert len(p1) == 9 and {"attendance.csv", "contacts.csv", "survey_responses.csv"} <= set(q1)
    for name in ds1.tables:
        pd.testing.assert_frame_equal(ds1[name], ds4[name])
    for key in ("attendance", "enrolments"), ("survey_responses", "survey_items"):
        assert (ds1.rows_in(*key) == ds4.rows_in(*key)).all()


def test_coded_columns_hold_the_accepted_rows_values_as_sorted_categories(base, tmp_path):
    # school_id, month (contract.Column.coded) are categoricals: the categories are exactly the
    # values of the accepted rows, sorted as text; a cell that only differed before cleaning
    # (" 0042 ") shares its category; a value seen only in a quarantined row is not a category
    write(base, portal_usage=PORTAL + "0099,F01,2024-06,1\n")
    ds = load_dataset(base, quarantine=tmp_path / "q")
    portal = ds["portal_usage"]
    assert portal["school_id"].tolist() == ["0042", "0042", "0042", "0007"]
    assert portal["month"].tolist() == ["2024-03", "2024-04", "2024-05", "2024-05"]
    for name, df in ds.tables.items():
        for col in TABLES[name].columns:
            if col.coded:
                s = df[col.name]
                assert isinstance(s.dtype, pd.CategoricalDtype), (name, col.name)
                assert s.cat.categories.tolist() == sorted(s.dropna().unique().tolist()), (name, col.name)
    assert {p.value for p in ds.report.problems if p.column == "school_id"} == {"0099"}
    # the fingerprint counts values, not how a column is stored
    text = {n: df.astype({c: "str" for c in df.columns if TABLES[n].column(c).coded}) for n, df in ds.tables.items()}
    from hsp_eval.data.fingerprint import fingerprint
    assert fingerprint(text) == ds.fingerprint()


# --- spreadsheet exports: repaired when the file settles them, refused when not ----------------


def _tables(ds):
    return {t: ds[t] for t in ds.tables}


def test_utf16_big_endian_with_byte_order_mark_loads_as_utf8(base, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    write(other, enrolments=ENROL)
    (other / "schools.csv").write_bytes(b"\xfe\xff" + SCHOOLS.replace(",", "\t").encode("utf-16-be"))
    ds = load_dataset(other)
    for table, frame in _tables(load_dataset(base)).items():
        pd.testing.assert_frame_equal(ds[table], frame)
    assert [n for n in ds.report.notices if n.startswith("schools.csv")] == [
        "schools.csv: the file is saved as UTF-16 text (Excel's 'Unicode Text') rather than UTF-8; read as such",
        "schools.csv: the values are separated by tabs rather than commas; read as such"]


def test_how_a_file_was_read_is_noted_even_when_another_file_is_refused(tmp_path):
    write(tmp_path, schools=SCHOOLS.replace("region,", "area,"), enrolments=ENROL.replace(",", ";"))
    with pytest.raises(DataContractError) as e:
        load_dataset(tmp_path)
    assert [p.column for p in e.value.report.problems] == ["region"]
    assert any(n.startswith("enrolments.csv: the values are separated by ';'") for n in e.value.report.notices)
    assert "Note: enrolments.csv" in str(e.value)


def test_a_header_of_no_contract_column_is_read_at_commas_and_its_columns_reported(tmp_path):
    (tmp_path / "schools.csv").write_text("code;label;area\n0042;A;Otago\n", encoding="utf-8")
    raw = read_raw(tmp_path / "schools.csv", "schools")
    assert [p.column for p in raw.problems] == ["school_id", "school_name", "region", "school_type"]
    assert "the header has: code;label;area" in raw.problems[0].reason
    assert not any("separated" in n for n in raw.notices)


def test_a_repeated_header_row_keeps_the_row_numbers_of_the_rows_after_it(tmp_path):
    header = ENROL.splitlines()[0]
    write(tmp_path, schools=SCHOOLS,
          enrolments=f"{header}\n2024,0042,00001,F01,3,Māori,true\n {header} \n2024,0042,00002,F01,99,Asian,\n")
    with pytest.raises(DataContractError) as e:
        load_dataset(tmp_path)
    [p] = e.value.report.problems
    assert (p.row, p.column, p.value) == (4, "year_level", "99")
    assert any("repeated at row 3" in n for n in e.value.report.notices)


def test_column_names_in_words_are_matched_in_csv_only(base, tmp_path):
    """A Parquet file's names are a program's, not a person's: they are taken as they are."""
    df = pd.read_csv(base / "schools.csv", dtype=str, keep_default_na=False).rename(columns={"region": "Region"})
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "schools.parquet")
    raw = read_raw(tmp_path / "schools.parquet", "schools", header_only=True)
    assert [p.column for p in raw.problems] == ["region"]


@pytest.mark.parametrize("raw,expected", [
    ("2024-03-07 00:00:00", "2024-03-07"), ("2024-03-07T00:00:00", "2024-03-07"), ("7/03/2024 0:00", "2024-03-07"),
    ("07/03/2024 00:00", "2024-03-07"), ("7/03/2024 12:00:00 AM", "2024-03-07"),
])
def test_dates_with_a_time_of_midnight_are_the_date(raw, expected):
    values, bad = parse_column(pd.Series([raw]), "date")
    assert bad.empty and values.iloc[0] == pd.Timestamp(expected)


@pytest.mark.parametrize("raw", ["2024-03-07 09:15", "7/03/2024 14:30:00", "7/03/2024 12:00:00 PM"])
def test_dates_with_another_time_of_day_are_refused(raw):
    values, bad = parse_column(pd.Series([raw]), "date")
    assert values.isna().all() and bad.iloc[0].startswith("has a time of day")


def test_serial_dates_are_dates_only_when_the_whole_column_is_serials():
    values, bad = parse_column(pd.Series(["45334", "", "45334", "34700"]), "date")
    assert values.iloc[0] == pd.Timestamp("2024-02-12") and values.iloc[1:3].isna().tolist() == [True, False]
    assert bad.to_dict() == {3: "is a spreadsheet serial number for 1995-01-01, a year outside 2000-2100"}
    values, bad = parse_column(pd.Series(["45334", "2024-02-13", "12345"]), "date")
    assert values.iloc[1] == pd.Timestamp("2024-02-13") and sorted(bad.index) == [0, 2]
    assert bad[0].startswith("looks like a spreadsheet serial number") and bad[2].startswith("is not a real date")


def test_a_column_with_one_month_first_date_refuses_its_swappable_dates():
    values, bad = parse_column(pd.Series(["03/25/2024", "04/03/2024", "05/05/2024", "15/08/2024"]), "date")
    assert sorted(bad.index) == [0, 1]
    assert values.iloc[2] == pd.Timestamp("2024-05-05") and values.iloc[3] == pd.Timestamp("2024-08-15")
    # without a month-first date, the contract's day-first reading stands
    values, bad = parse_column(pd.Series(["04/03/2024"]), "date")
    assert bad.empty and values.iloc[0] == pd.Timestamp("2024-03-04")


def test_family_ids_that_lost_their_zeros_are_one_problem_and_other_unknown_ids_keep_theirs(tmp_path):
    write(tmp_path, schools=SCHOOLS, enrolments=ENROL.replace("F01", "0101").replace("F02", "0102"),
          contacts="contact_id,school_id,date,family_id,initiated_by,channel,purpose\n"
                   "C1,0042,2024-03-01,101,school,phone,learning\nC2,0042,2024-03-02,102,school,phone,learning\n"
                   "C3,0042,2024-03-03,0101,school,phone,learning\nC4,0042,2024-03-04,999,school,phone,learning\n")
    with pytest.raises(DataContractError) as e:
        load_dataset(tmp_path, quarantine=tmp_path / "q")
    assert e.value.report.fatal
    lost, other = sorted(e.value.report.problems, key=lambda p: p.row or 0)
    assert (lost.row, lost.column, lost.value) == (None, "family_id", None)
    assert lost.reason.startswith("2 IDs of this column, such as '101' (row 2) and '102' (row 3), look like IDs "
                                  "of enrolments.csv with their leading zeros dropped ('0101', '0102' there)")
    assert (other.row, other.value) == (5, "999") and "has no child enrolled" in other.reason


def test_rows_the_same_in_meaning_are_exact_repeats(tmp_path):
    write(tmp_path, schools=SCHOOLS, enrolments=ENROL + "2024,0042,00001,F01,3,Maori,yes\n"
                                                       "2024,0042,00002,F01,6,European;Māori,false\n")
    with pytest.raises(DataContractError) as e:
        load_dataset(tmp_path)
    reasons = [p.reason for p in e.value.report.problems]
    assert reasons[0].startswith("repeats row 2 exactly") and reasons[1].startswith("repeats row 3: the same")

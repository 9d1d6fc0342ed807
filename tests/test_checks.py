"""The cross-table rules (hsp_eval.data.checks): each rule's own finding on a tiny hand-made
dataset, when a rule runs, and the list of rules against the data contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hsp_eval.data.checks import LINK_KEYS, RULES, CheckedTable, Listed, Refers
from hsp_eval.data.contract import TABLES
from hsp_eval.data.keys import CodedTable
from hsp_eval.data.load import _NEEDS

N = None  # a blank cell


def frame(columns: str, *rows) -> pd.DataFrame:
    """A parsed table as the loader holds it: the columns' dtypes as the contract's kinds make them."""
    df = pd.DataFrame(list(rows), columns=columns.split())
    for col in df.columns:
        if col in ("year", "response_min", "response_max"):
            df[col] = df[col].astype("int64")
        elif col == "response":
            df[col] = df[col].astype("Int64")
        elif col == "target":
            df[col] = df[col].astype("boolean")
        elif col == "date":
            df[col] = pd.to_datetime(df[col]).astype("datetime64[s]")
        else:
            df[col] = df[col].astype("str")
    return df


# Each table has one good row first, then one row that breaks each of its rules (and no other).
DATA = {
    "schools": frame("school_id", ["0042"], ["0007"]),
    "enrolments": frame("year school_id student_id family_id target",
                        [2024, "0042", "S1", "F1", True], [2024, "0042", "S2", "F1", False],
                        [2024, "0007", "S3", "F2", False], [2024, "0099", "S4", "F3", False]),
    "activities": frame("activity_id school_id date",
                        ["A1", "0042", "2024-03-07"], ["A2", "0007", "2025-03-07"], ["A3", "0098", "2024-01-01"]),
    "attendance": frame("activity_id family_id student_id",
                        ["A1", "F1", "S1"], ["A9", "F1", N], ["A2", "F2", N], ["A1", "F1", "S3"]),
    "contacts": frame("school_id date family_id student_id",
                      ["0042", "2024-05-01", "F1", "S2"], ["0097", "2024-05-01", N, N],
                      ["0042", "2025-05-01", "F1", N], ["0042", "2024-06-01", "F1", "S3"]),
    "portal_usage": frame("school_id family_id month",
                          ["0042", "F1", "2024-02"], ["0096", N, "2024-02"], ["0007", "F1", "2024-03"]),
    "survey_items": frame("instrument item_id response_min response_max",
                          ["whanau", "Q1", 1, 5], ["whanau", "Q2", 1, 4]),
    "survey_respondents": frame("instrument year school_id respondent_id family_id",
                                ["whanau", 2024, "0042", "R1", "F1"], ["whanau", 2024, "0095", "R2", N],
                                ["staff", 2024, "0042", "R3", N], ["whanau", 2024, "0007", "R4", "F1"]),
    "survey_responses": frame("instrument year school_id respondent_id item_id response",
                              ["whanau", 2024, "0042", "R1", "Q1", 5], ["whanau", 2024, "0042", "R9", "Q1", 3],
                              ["whanau", 2024, "0042", "R1", "Q7", 3], ["whanau", 2024, "0042", "R1", "Q2", 5]),
    "inquiry_steps": frame("year school_id student_id", [2024, "0042", "S1"], [2024, "0094", N], [2024, "0042", "S2"]),
    "progress": frame("year school_id student_id", [2024, "0042", "S1"], [2024, "0094", N], [2024, "0042", "S2"]),
    "self_review": frame("year school_id", [2024, "0042"], [2024, "0093"]),
    "reported_participation": frame("year school_id", [2024, "0042"], [2024, N], [2024, "0092"]),
}

NOT_TARGET = ("'S2' is not a target student at school 0042 in 2024 (the enrolments table must mark the "
              "student as a target student that year)")
#: (table, rule name) -> the one problem the rule finds in DATA
FINDINGS = {
    ("enrolments", "school_id in schools"): "row 5, column 'school_id': '0099' is not in the schools table",
    ("activities", "school_id in schools"): "row 4, column 'school_id': '0098' is not in the schools table",
    ("attendance", "activity_id in activities"): "row 3, column 'activity_id': 'A9' is not in the activities table",
    ("attendance", "family_id enrolled"):
        "row 4, column 'family_id': 'F2' has no child enrolled at school 0007 in 2025 (the year of this activity)",
    ("attendance", "student_id enrolled"): "row 5, column 'student_id': 'S3' is not enrolled at school 0042 in 2024",
    ("contacts", "school_id in schools"): "row 3, column 'school_id': '0097' is not in the schools table",
    ("contacts", "family_id enrolled"):
        "row 4, column 'family_id': 'F1' has no child enrolled at school 0042 in 2025 (the year of this contact)",
    ("contacts", "student_id enrolled"): "row 5, column 'student_id': 'S3' is not enrolled at school 0042 in 2024",
    ("portal_usage", "school_id in schools"): "row 3, column 'school_id': '0096' is not in the schools table",
    ("portal_usage", "family_id enrolled"):
        "row 4, column 'family_id': 'F1' has no child enrolled at school 0007 in 2024 (the year of this month)",
    ("survey_respondents", "school_id in schools"): "row 3, column 'school_id': '0095' is not in the schools table",
    ("survey_respondents", "instrument in survey_items"):
        "row 4, column 'instrument': 'staff' is not an instrument in the survey_items table",
    ("survey_respondents", "family_id enrolled"):
        "row 5, column 'family_id': 'F1' has no child enrolled at school 0007 in 2024 (the survey year)",
    ("survey_responses", "respondent_id in survey_respondents"):
        "row 3, column 'respondent_id': 'R9' is not in survey_respondents for this instrument, year and school",
    ("survey_responses", "item_id in survey_items"):
        "row 4, column 'item_id': 'Q7' is not an item of this instrument in survey_items",
    ("survey_responses", "response in its item's range"):
        "row 5, column 'response': '5' is outside this item's answer range 1-4",
    ("inquiry_steps", "school_id in schools"): "row 3, column 'school_id': '0094' is not in the schools table",
    ("inquiry_steps", "student_id a target student"): "row 4, column 'student_id': " + NOT_TARGET,
    ("progress", "school_id in schools"): "row 3, column 'school_id': '0094' is not in the schools table",
    ("progress", "student_id a target student"): "row 4, column 'student_id': " + NOT_TARGET,
    ("self_review", "school_id in schools"): "row 3, column 'school_id': '0093' is not in the schools table",
    ("reported_participation", "school_id in schools"):
        "row 4, column 'school_id': '0092' is not in the schools table",
}

REFERENCED = ("schools", "enrolments", "activities", "survey_items", "survey_respondents")


def checked(name: str, tables=REFERENCED, **replace) -> CheckedTable:
    """Table ``name`` of DATA (or ``replace[name]``), checked against ``tables`` of DATA; CSV row numbers."""
    df = replace.get(name, DATA[name])
    refs = {n: CodedTable(DATA[n]) for n in tables if n != name}
    return CheckedTable(name, CodedTable(df), refs, f"{name}.csv", np.arange(2, len(df) + 2))


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.table}: {r.name}")
def test_each_rule_finds_exactly_its_own_problem(rule):
    t = checked(rule.table)
    assert rule.applies(t)
    assert [str(p) for p in rule.check(t)] == [f"{rule.table}.csv, " + FINDINGS[rule.table, rule.name]]


def test_every_rule_has_a_finding_in_the_tiny_dataset():
    assert sorted((r.table, r.name) for r in RULES) == sorted(FINDINGS)


def test_a_finding_is_a_problem_with_the_value_as_text_and_none_for_a_blank():
    # an attendance row with no activity names no activity: the value is None, as for a blank cell
    att = frame("activity_id family_id student_id", ["A1", "F1", N], [N, "F1", N])
    [p] = Refers("attendance", "activity_id", "activities", "is not in the activities table").check(
        checked("attendance", attendance=att))
    assert (p.table, p.file, p.row, p.column, p.value) == ("attendance", "attendance.csv", 3, "activity_id", None)


def test_a_table_that_was_not_loaded_has_no_rows_to_find():
    # a rule naming a row of another table runs without it, and finds none; the family and
    # student rules of attendance need the activities (where and when the row happened) and do not
    t = checked("attendance", tables=("schools", "enrolments"))
    runs = {r.name: r.applies(t) for r in RULES if r.table == "attendance"}
    assert runs == {"activity_id in activities": True, "family_id enrolled": False, "student_id enrolled": False}
    [activity_known] = [r for r in RULES if (r.table, r.name) == ("attendance", "activity_id in activities")]
    assert [p.row for p in activity_known.check(t)] == [2, 3, 4, 5]


def test_a_column_that_may_be_blank_is_checked_only_when_some_row_fills_it_in():
    blank = DATA["contacts"].assign(student_id=pd.Series([N] * 4, dtype="str"))
    t = checked("contacts", contacts=blank)
    assert [r.name for r in RULES if r.table == "contacts" and r.applies(t)] == [
        "school_id in schools", "family_id enrolled"]


def test_rules_share_one_lookup_and_the_links_are_the_rows_found():
    rules = [r for r in RULES if r.table == "attendance"]
    t, backwards = checked("attendance"), checked("attendance")
    for rule in rules:
        rule.check(t)
    for rule in rules[::-1]:
        rule.check(backwards)
    assert t.link("activities") is t.link("activities")
    links = t.links()
    assert list(links) == list(backwards.links()) == ["activities", "enrolments"]  # whichever rule ran first
    assert links["activities"].tolist() == [0, -1, 1, 0]
    assert links["enrolments"].tolist() == [0, -1, -1, 0]  # F2 is enrolled at A2's school in 2024, not 2025


# --- the list of rules against the data contract ---------------------------------------------------


def test_rules_are_grouped_by_table_in_the_contracts_order_and_read_only_earlier_tables():
    order = list(TABLES)
    tables = [r.table for r in RULES]
    assert tables == sorted(tables, key=order.index)
    for rule in RULES:
        assert rule.column in TABLES[rule.table].column_names, rule
        assert all(order.index(n) < order.index(rule.table) for n in rule.needs), rule
        assert rule.description and rule.name


def test_every_school_is_checked_against_the_schools_table():
    # every table with a school_id, but schools itself and the survey answers (whose school is
    # part of the respondent they name)
    with_school = {n for n, t in TABLES.items() if "school_id" in t.column_names} - {"schools", "survey_responses"}
    assert {r.table for r in RULES if r.name == "school_id in schools"} == with_school


def test_links_name_rows_by_the_referenced_tables_key():
    for ref, key in LINK_KEYS.items():
        if ref != "enrolments":  # a family's enrolment: any of its children's rows at that school that year
            assert key == TABLES[ref].key, ref
    for rule in RULES:
        if isinstance(rule, Refers):
            assert rule.column == LINK_KEYS[rule.ref][-1], rule  # the problem names the last key column


def test_a_table_the_loader_requires_with_another_is_one_its_rules_need():
    for name, needs in _NEEDS.items():
        assert set(needs) <= {n for r in RULES if r.table == name for n in r.needs}, name


def test_the_rules_are_those_docs_decisions_lists():
    """The contract: attendance comes from an enrolled family; beyond it (docs/decisions.md,
    "Cross-table checks beyond the spec's list"): contacts, portal usage and linked whānau
    respondents come from enrolled families, students in attendance and contacts are enrolled,
    inquiry and progress students are target students, respondents' instruments have items."""
    got = {(r.table, r.name) for r in RULES if not isinstance(r, Listed) or r.ref != "schools"}
    assert got == {
        ("attendance", "activity_id in activities"), ("attendance", "family_id enrolled"),
        ("attendance", "student_id enrolled"),
        ("contacts", "family_id enrolled"), ("contacts", "student_id enrolled"),
        ("portal_usage", "family_id enrolled"),
        ("survey_respondents", "instrument in survey_items"), ("survey_respondents", "family_id enrolled"),
        ("survey_responses", "respondent_id in survey_respondents"), ("survey_responses", "item_id in survey_items"),
        ("survey_responses", "response in its item's range"),
        ("inquiry_steps", "student_id a target student"), ("progress", "student_id a target student"),
    }

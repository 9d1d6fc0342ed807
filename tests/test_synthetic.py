"""The synthetic generator: determinism, the contract, referential integrity, realism, known effects.

Everything is computed directly with pandas from the generated tables (not with the indicator
engine), so these tests say what the raw data holds.
"""

from __future__ import annotations

import json
import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import statsmodels.api as sm
from scipy.special import expit

from hsp_eval.synthetic import build as synthetic
from hsp_eval.data import vocab
from hsp_eval.data.contract import TABLES
from hsp_eval.synthetic.roll import LEVELS

YEARS = [2022, 2023, 2024]


@pytest.fixture(scope="module")
def small():
    return synthetic.generate(n_schools=6, years=YEARS, seed=11)


@pytest.fixture(scope="module")
def medium():
    """A modest dataset for the known effects (30 schools, 4 years)."""
    return synthetic.generate(n_schools=30, years=range(2021, 2025), seed=2024)


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# ---------------------------------------------------------------------------
# determinism


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path, fmt):
    a = synthetic.write_dataset(tmp_path / "a", 3, [2023, 2024], seed=5, fmt=fmt)
    synthetic.write_dataset(tmp_path / "b", 3, [2023, 2024], seed=5, fmt=fmt)
    synthetic.write_dataset(tmp_path / "c", 3, [2023, 2024], seed=6, fmt=fmt)
    fa, fb, fc = _files(tmp_path / "a"), _files(tmp_path / "b"), _files(tmp_path / "c")
    assert sorted(fa) == sorted([f"{t}.{fmt}" for t in TABLES] + ["generator.json"])
    assert fa == fb
    differ = [n for n in fa if fa[n] != fc[n]]
    # only the instrument table is the same whatever the seed
    assert sorted(set(fa) - set(differ)) == [f"survey_items.{fmt}"]
    assert all(n > 0 for n in a.values())


def test_csv_bytes_do_not_depend_on_the_chunk_size(tmp_path):
    synthetic.write_dataset(tmp_path / "a", 5, [2024], seed=3, fmt="csv", chunk_size=1)
    synthetic.write_dataset(tmp_path / "b", 5, [2024], seed=3, fmt="csv", chunk_size=4)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_generate_does_not_depend_on_the_chunk_size(small):
    other = synthetic.generate(n_schools=6, years=YEARS, seed=11, chunk_size=4)
    one = synthetic.generate(n_schools=6, years=YEARS, seed=11, chunk_size=1)
    for t in TABLES:
        pd.testing.assert_frame_equal(small[t], other[t])
        pd.testing.assert_frame_equal(small[t], one[t])


def test_written_files_hold_the_generated_tables(tmp_path, small):
    synthetic.write_dataset(tmp_path, 6, YEARS, seed=11, fmt="parquet", chunk_size=4)
    for t in TABLES:
        back = synthetic._to_pandas(t, pq.read_table(tmp_path / f"{t}.parquet"))
        pd.testing.assert_frame_equal(back, small[t])


# ---------------------------------------------------------------------------
# the contract


def test_every_table_is_populated_with_exactly_the_contract_columns(small):
    assert list(small) == list(TABLES)
    for name, spec in TABLES.items():
        assert list(small[name].columns) == list(spec.column_names), name
        assert len(small[name]) > 0, name


def test_ids_are_strings_that_keep_leading_zeros(small):
    for name, spec in TABLES.items():
        for col in spec.columns:
            if col.kind == "id":
                assert pd.api.types.is_string_dtype(small[name][col.name].dtype), (name, col.name)
    e = small["enrolments"]
    assert small["schools"]["school_id"].str.fullmatch(r"\d{4}").all()
    for col in ("student_id", "family_id"):
        assert e[col].str.fullmatch(r"\d{8}").all()
        assert e[col].str.startswith("0").any()  # leading zeros are there and kept
    assert small["activities"]["activity_id"].str.fullmatch(r"\d{4}-\d{4}-A\d{3}").all()
    assert small["contacts"]["contact_id"].str.fullmatch(r"\d{4}-\d{4}-C\d{6}").all()
    assert small["survey_respondents"]["respondent_id"].str.fullmatch(r"\d{4}-\d{4}-[WS]\d{4}").all()


def test_parquet_types_and_csv_formats(tmp_path):
    synthetic.write_dataset(tmp_path / "p", 2, [2024], seed=1, fmt="parquet")
    synthetic.write_dataset(tmp_path / "c", 2, [2024], seed=1, fmt="csv")
    for name, spec in TABLES.items():
        t = pq.read_table(tmp_path / "p" / f"{name}.parquet")
        assert t.schema.metadata is None or b"pandas" not in t.schema.metadata
        want = {"id": pa.string(), "text": pa.string(), "category": pa.string(), "ethnicity": pa.string(),
                "month": pa.string(), "int": pa.int32(), "float": pa.float64(), "bool": pa.bool_(),
                "date": pa.date32()}
        assert [t.schema.field(c.name).type for c in spec.columns] == [want[c.kind] for c in spec.columns], name
    text = (tmp_path / "c" / "attendance.csv").read_text(encoding="utf-8").splitlines()
    assert text[0] == "activity_id,family_id,student_id,invited,attended"
    cells = {c for line in text[1:] for c in line.split(",")[3:]}
    assert cells <= {"true", "false", ""}
    progress = (tmp_path / "c" / "progress.csv").read_text().splitlines()[1:]
    assert all(len(x.split(".")[1]) == 1 for line in progress for x in line.split(",")[4:])
    respondents = pd.read_csv(tmp_path / "c" / "survey_respondents.csv", dtype=str)
    assert respondents["weight"].str.fullmatch(r"\d+\.\d{3}").all()
    dates = pd.read_csv(tmp_path / "c" / "contacts.csv", dtype=str)["date"]
    assert dates.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()


def test_values_respect_vocabularies_and_ranges(small):
    d = small
    s = d["schools"]
    assert s["region"].isin(vocab.REGIONS).all() and s["school_type"].isin(vocab.SCHOOL_TYPES).all()
    assert s["eqi"].between(344, 569).all()
    assert s["school_id"].is_monotonic_increasing
    e = d["enrolments"]
    assert e["year"].isin(YEARS).all()
    levels = e.merge(s[["school_id", "school_type"]], on="school_id")
    lo = levels["school_type"].map(lambda t: LEVELS[t][0])
    hi = levels["school_type"].map(lambda t: LEVELS[t][1])
    assert levels["year_level"].between(lo, hi).all()
    for value in e["ethnicity"].unique():
        assert vocab.parse_ethnicity(value) == (value, None), value
        assert unicodedata.is_normalized("NFC", value)
    assert e["ethnicity"].str.contains("Māori").any()
    a = d["activities"]
    assert a["activity_type"].isin(vocab.ACTIVITY_TYPES).all()
    assert a["mode"].dropna().isin(vocab.MODES).all()
    assert a["date"].dt.year.isin(YEARS).all() and a["date"].dt.month.between(2, 12).all()
    c = d["contacts"]
    assert c["channel"].isin(vocab.CHANNELS).all() and c["purpose"].isin(vocab.PURPOSES).all()
    assert c["initiated_by"].isin(vocab.INITIATED_BY).all()
    assert c["response_received"][c["initiated_by"] == "family"].isna().all()
    assert c["response_received"][c["initiated_by"] == "school"].notna().mean() > 0.8
    p = d["portal_usage"]
    assert (p["logins"] >= 0).all() and (p["logins"] == 0).any()
    assert p["month"].str.slice(5).astype(int).between(2, 12).all()
    items = d["survey_items"]
    assert set(items["instrument"]) == {"whanau_partnership", "staff_partnership"}
    assert (items["response_min"] == 1).all() and (items["response_max"] == 5).all()
    assert (items["favourable_min"] == 4).all()
    scales = items.dropna(subset=["scale"])
    assert scales.groupby("instrument")["scale"].agg(set).map(sorted).tolist() == [sorted(
        ["true_partnership", "inclusive_culture", "two_way_communication", "learning_at_home"])] * 2
    assert scales[scales["reverse"]].groupby("instrument")["scale"].nunique().min() >= 2
    assert items.loc[items["scale"].isna(), "instrument"].eq("whanau_partnership").all()
    assert items["scale"].isna().sum() >= 5  # barriers inventory
    r = d["survey_responses"]
    assert r["response"].dropna().between(1, 5).all() and r["response"].isna().any()
    resp = d["survey_respondents"]
    assert resp["role"].isin(vocab.ROLES).all() and (resp["weight"] > 0).all()
    sr = d["self_review"]
    assert sr["rating"].between(1, 4).all() and sr["rater_group"].isin(vocab.RATER_GROUPS).all()
    assert (sr["framework"] == "partnership_self_review").all()
    assert d["reported_participation"]["activity_type"].isin(vocab.REPORTED_ACTIVITY_TYPES).all()
    assert "learning_at_home" in set(d["reported_participation"]["activity_type"])
    pr = d["progress"]
    assert pr["measure"].isin(["reading", "writing", "maths"]).all() and (pr["expected_gain"] > 0).all()


def test_no_table_carries_personal_information(small):
    from hsp_eval.data.contract import PII_ALLOWED, PII_COLUMN_WORDS
    for t in small.values():
        for col in t.columns:
            assert col in PII_ALLOWED or not set(col.split("_")) & set(PII_COLUMN_WORDS)
    assert not small["activities"]["title"].str.contains(r"@|\d{6,}").any()


def test_even_one_school_in_one_year_fills_every_table(tmp_path):
    counts = synthetic.write_dataset(tmp_path, 1, [2024], seed=4, fmt="csv")
    assert list(counts) == list(TABLES) and all(n > 0 for n in counts.values()), counts
    synthetic.write_dataset(tmp_path, 1, [2024], seed=4, fmt="parquet")  # replaces the CSV files
    assert not list(tmp_path.glob("*.csv"))


def test_keys_are_unique(small):
    for name, spec in TABLES.items():
        if spec.key:
            assert not small[name].duplicated(list(spec.key)).any(), name


# ---------------------------------------------------------------------------
# referential integrity


def _enrolled(e, cols):
    return set(map(tuple, e[cols].drop_duplicates().to_numpy().tolist()))


def _keys(df, cols):
    return list(map(tuple, df[cols].to_numpy().tolist()))


def test_references_hold(small):
    d = small
    e = d["enrolments"]
    assert set(e["school_id"]) <= set(d["schools"]["school_id"])
    fam = _enrolled(e, ["school_id", "year", "family_id"])
    stu = _enrolled(e, ["school_id", "year", "student_id"])
    targets = _enrolled(e[e["target"]], ["school_id", "year", "student_id"])
    acts = d["activities"].assign(year=d["activities"]["date"].dt.year)
    att = d["attendance"].merge(acts[["activity_id", "school_id", "year"]], on="activity_id", how="left")
    assert att["school_id"].notna().all()
    assert all(k in fam for k in _keys(att, ["school_id", "year", "family_id"]))
    withs = att.dropna(subset=["student_id"])
    assert len(withs) and all(k in stu for k in _keys(withs, ["school_id", "year", "student_id"]))
    c = d["contacts"].assign(year=d["contacts"]["date"].dt.year)
    assert all(k in fam for k in _keys(c, ["school_id", "year", "family_id"]))
    assert all(k in stu for k in _keys(c.dropna(subset=["student_id"]), ["school_id", "year", "student_id"]))
    p = d["portal_usage"].assign(year=d["portal_usage"]["month"].str.slice(0, 4).astype(int))
    assert all(k in fam for k in _keys(p, ["school_id", "year", "family_id"]))
    resp = d["survey_respondents"]
    linked = resp.dropna(subset=["family_id"])
    assert all(k in fam for k in _keys(linked, ["school_id", "year", "family_id"]))
    rkey = ["instrument", "year", "school_id", "respondent_id"]
    assert set(_keys(d["survey_responses"], rkey)) <= set(_keys(resp, rkey))
    ikey = ["instrument", "item_id"]
    assert set(_keys(d["survey_responses"], ikey)) <= set(_keys(d["survey_items"], ikey))
    for t in ("inquiry_steps", "progress"):
        assert all(k in targets for k in _keys(d[t], ["school_id", "year", "student_id"])), t
    inq = set(_keys(d["inquiry_steps"], ["school_id", "year", "student_id"]))
    assert inq == targets  # every target student has inquiry steps
    assert set(_keys(d["progress"], ["school_id", "year", "student_id"])) == targets
    rp = d["reported_participation"]
    assert set(_keys(rp, ["year", "school_id", "respondent_id"])) <= set(
        _keys(linked[linked["role"] == "whanau"], ["year", "school_id", "respondent_id"]))
    # linked whānau carry their family's ethnicity (the union of its children's groups), at most
    # the 3 groups first in priority order, since a person reports 1-3 groups
    def union_capped(g):
        top3 = [x for x in vocab.PRIORITY_ORDER if x in set(g)][:3]
        return ";".join(x for x in vocab.ETHNIC_GROUPS if x in top3)

    fam_eth = (e.assign(g=e["ethnicity"].str.split(";")).explode("g").query("g != 'Not stated'")
               .groupby(["school_id", "year", "family_id"])["g"].agg(union_capped))
    joined = linked.join(fam_eth, on=["school_id", "year", "family_id"])
    has_groups = joined["g"].notna()
    assert (joined.loc[has_groups, "ethnicity"] == joined.loc[has_groups, "g"]).all()


def test_the_loader_accepts_the_generated_files(tmp_path):
    from hsp_eval import load_dataset
    synthetic.write_dataset(tmp_path, 3, [2023, 2024], seed=8, fmt="csv")
    ds = load_dataset(tmp_path)
    assert ds.report.ok


# ---------------------------------------------------------------------------
# a realistic roll and records


def test_the_roll_behaves_like_a_school_roll(medium):
    e = medium["enrolments"]
    nxt = e[["school_id", "year", "student_id", "year_level"]].assign(year=e["year"] - 1)
    both = e.merge(nxt, on=["school_id", "year", "student_id"], suffixes=("", "_next"))
    assert len(both) and (both["year_level_next"] == both["year_level"] + 1).all()
    kids = e.groupby("family_id")["student_id"].nunique()
    assert kids.between(1, 4).all() and (kids >= 2).mean() > 0.2
    at_schools = e.groupby(["year", "family_id"])["school_id"].nunique()
    assert (at_schools > 1).sum() > 50  # siblings at two schools (e.g. primary and secondary)
    movers = e.groupby(["year", "student_id"])["school_id"].nunique()
    assert 0.002 < (movers > 1).mean() < 0.01  # ~0.5% change school mid-year
    groups = e["ethnicity"].str.count(";") + 1
    assert 0.10 <= (groups == 2).mean() <= 0.20 and 0.005 <= (groups == 3).mean() <= 0.03
    target = e.groupby("year")["target"].mean()
    assert target.between(0.05, 0.10).all()
    # the mix varies by school: some schools are majority Māori, others mostly European
    maori = e.assign(m=e["ethnicity"].str.contains("Māori")).groupby("school_id")["m"].mean()
    assert maori.max() > 0.5 and maori.min() < 0.15
    roll = e[e["year"] == 2021].groupby("school_id").size()
    assert roll.min() < 100 and roll.max() > 600


def test_invitations_open_events_and_records(medium):
    d = medium
    a = d["activities"]
    att = d["attendance"].merge(a[["activity_id", "activity_type"]], on="activity_id")
    open_rows = att[att["invited"].isna()]
    assert open_rows["attended"].all()  # open activities: a row only for who came
    listed = att[att["invited"].notna()]
    assert (~listed["attended"]).any() and (~listed["invited"]).any()  # no-shows and walk-ins
    with_student = att["activity_type"].isin(["learning_conference", "goal_setting", "iep_meeting"])
    assert att.loc[with_student & att["invited"].fillna(False).astype(bool), "student_id"].notna().all()
    assert att.loc[~with_student, "student_id"].isna().all()
    assert set(a["activity_type"]) == set(vocab.ACTIVITY_TYPES)
    p = d["portal_usage"]
    assert (p.assign(y=p["month"].str.slice(0, 4)).groupby(["school_id", "family_id", "y"]).size() == 11).all()
    resp = d["survey_respondents"]
    wh = resp[resp["role"] == "whanau"]
    years_per_school = wh.groupby("school_id")["year"].nunique()
    assert (years_per_school < 4).any()  # some school skips its whānau survey in a year
    assert wh["family_id"].isna().mean() > 0.03  # some respondents are not linked
    fam = d["enrolments"].groupby(["school_id", "year"])["family_id"].nunique()
    rate = wh.dropna(subset=["family_id"]).groupby(["school_id", "year"])["family_id"].nunique() / fam
    assert 0.15 <= rate.median() <= 0.45
    staff = resp[resp["role"] == "staff"].groupby(["school_id", "year"]).size()
    assert staff.min() >= 5 and staff.max() <= 60
    items = d["survey_items"]
    r = d["survey_responses"].merge(items, on=["instrument", "item_id"]).dropna(subset=["scale"])
    answered = r.groupby(["instrument", "year", "school_id", "respondent_id", "scale"])["response"].agg(
        lambda x: x.notna().mean())
    assert ((answered > 0) & (answered < 0.5)).any()  # a few answer under half of a scale


# ---------------------------------------------------------------------------
# the known effects, in the raw tables


def _families(d):
    e = d["enrolments"]
    fam = e.groupby(["school_id", "year", "family_id"])["ethnicity"].agg(";".join).reset_index()
    fam["prio"] = fam["ethnicity"].map(lambda s: next((g for g in vocab.PRIORITY_ORDER if g in s), "Not stated"))
    a = d["activities"].assign(year=d["activities"]["date"].dt.year)
    att = d["attendance"][d["attendance"]["attended"]].merge(a[["activity_id", "school_id", "year", "activity_type"]],
                                                            on="activity_id")
    came = att[["school_id", "year", "family_id", "activity_type"]].drop_duplicates().assign(x=1.0)
    wide = came.pivot_table(index=["school_id", "year", "family_id"], columns="activity_type", values="x",
                            fill_value=0.0)
    fam = fam.join(wide, on=["school_id", "year", "family_id"]).fillna(0.0)
    fam["reached"] = fam[list(wide.columns)].max(axis=1) > 0
    return fam


def test_known_effects_are_documented():
    assert len(synthetic.KNOWN_EFFECTS) >= 6
    for name, e in synthetic.KNOWN_EFFECTS.items():
        assert e["description"] and e["applies_to"] and e["parameters"], name
    rules = [e["applies_to"] for e in synthetic.KNOWN_EFFECTS.values()]
    assert "school index 0" in rules and "school index 1" in rules


def test_generator_json_names_the_effect_schools(tmp_path, small):
    synthetic.write_dataset(tmp_path, 6, YEARS, seed=11, fmt="csv")
    meta = json.loads((tmp_path / "generator.json").read_text(encoding="utf-8"))
    assert meta["seed"] == 11 and meta["n_schools"] == 6 and meta["years"] == YEARS
    assert meta["package_version"]
    effects = meta["known_effects"]
    assert effects["school0_maori_reach_rises"]["school_ids"] == [small["schools"]["school_id"][0]]
    assert effects["school1_one_way_deficit_contact"]["school_ids"] == [small["schools"]["school_id"][1]]


def test_school0_reaches_more_maori_whanau_each_year_while_others_stay_flat(medium):
    fam = _families(medium)
    s0 = fam[fam["school_id"] == medium["schools"]["school_id"][0]]
    maori = s0["ethnicity"].str.contains("Māori")
    m = s0[maori].groupby("year")["reached"].mean()
    other = s0[~maori].groupby("year")["reached"].mean()
    assert s0[maori].groupby("year").size().min() >= 100
    assert (m.diff().dropna() > 0).all(), m
    assert m.iloc[0] < 0.40 and m.iloc[-1] > 0.55
    assert abs(other.iloc[-1] - other.iloc[0]) < 0.12 and (other > 0.6).all()
    # at every other school Māori reach did not climb like that
    rest = fam[(fam["school_id"] != s0["school_id"].iloc[0]) & fam["ethnicity"].str.contains("Māori")]
    r = rest.groupby("year")["reached"].mean()
    assert abs(r.iloc[-1] - r.iloc[0]) < 0.1


def test_school_run_formats_reach_maori_and_pacific_families_unequally(medium):
    fam = _families(medium)
    share = fam.groupby("prio")[["information_evening", "fundraising", "community_event", "consultation"]].mean()
    for g in ("Māori", "Pacific"):
        for t in ("information_evening", "fundraising"):
            assert share.loc[g, t] < 0.75 * share.loc["European", t], (g, t)
        for t in ("community_event", "consultation"):
            assert share.loc[g, t] >= share.loc["European", t], (g, t)
    # ...while reach as a whole is similar: they are not families that care less
    reach = fam[fam["school_id"] != medium["schools"]["school_id"][0]].groupby("prio")["reached"].mean()
    assert abs(reach["Māori"] - reach["European"]) < 0.08


def test_school1_contact_is_one_way_and_problem_focused(medium):
    c = medium["contacts"]
    s1 = medium["schools"]["school_id"][1]
    school = c[c["initiated_by"] == "school"]
    two_way = c.groupby("school_id")["initiated_by"].agg(lambda x: (x == "family").mean())
    deficit = school.groupby("school_id")["purpose"].agg(lambda x: x.isin(vocab.DEFICIT_PURPOSES).mean())
    good = school.groupby("school_id")["purpose"].agg(lambda x: (x == "good_news").mean())
    assert two_way[s1] < 0.15 and two_way.drop(s1).min() > 0.25
    assert deficit[s1] > 0.5 and deficit.drop(s1).max() < 0.4
    assert good[s1] < 0.06 and good.drop(s1).median() > 0.12


def test_codesigned_goals_go_with_accelerated_progress():
    d = synthetic.generate(n_schools=120, years=[2023, 2024], seed=99)
    p = (d["progress"].merge(d["inquiry_steps"], on=["year", "school_id", "student_id"])
         .merge(d["enrolments"][["year", "school_id", "student_id", "year_level"]],
                on=["year", "school_id", "student_id"]))
    y = (p["end_score"] - p["start_score"] > p["expected_gain"]).astype(float)
    X = sm.add_constant(p[["whanau_codesigned", "start_score", "year_level"]].astype(float))
    fit = sm.Logit(y, X).fit(disp=0)
    odds, (low, high) = np.exp(fit.params["whanau_codesigned"]), np.exp(fit.conf_int().loc["whanau_codesigned"])
    assert low > 1 and 1.8 < odds < 3.5, (odds, low, high)
    assert 0.25 < y.mean() < 0.6


def test_staff_and_leaders_see_partnership_more_favourably_than_whanau(medium):
    items = medium["survey_items"]
    r = medium["survey_responses"].merge(items, on=["instrument", "item_id"]).dropna(subset=["scale", "response"])
    scored = np.where(r["reverse"], r["response_min"] + r["response_max"] - r["response"], r["response"])
    fav = r.assign(f=scored >= r["favourable_min"]).groupby(["scale", "instrument"])["f"].mean().unstack()
    gap = fav["staff_partnership"] - fav["whanau_partnership"]
    assert gap.between(0.08, 0.25).all(), gap
    sr = medium["self_review"].groupby("rater_group")["rating"].mean()
    assert 0.45 < sr["leaders"] - sr["whanau"] < 1.0
    assert sr["whanau"] < sr["staff"] < sr["leaders"]


def test_new_families_are_reached_less_and_invitations_work(medium):
    fam = _families(medium)
    prev = fam[["school_id", "year", "family_id"]].assign(year=fam["year"] + 1, returning=True)
    f = fam.merge(prev, on=["school_id", "year", "family_id"], how="left")
    f = f[f["year"] > f["year"].min()]
    by = f.groupby(f["returning"].fillna(False).astype(bool))["reached"].mean()
    assert by[True] - by[False] > 0.08
    att = medium["attendance"]
    uptake = att.loc[att["invited"].fillna(False).astype(bool), "attended"].mean()
    a = medium["activities"].assign(year=medium["activities"]["date"].dt.year)
    n_fam = medium["enrolments"].groupby(["school_id", "year"])["family_id"].nunique().rename("families")
    came = att[att["invited"].isna()].groupby("activity_id").size().rename("came")
    open_share = (a.join(came, on="activity_id").dropna(subset=["came"])
                  .join(n_fam, on=["school_id", "year"]).eval("came / families"))
    assert 0.6 < uptake < 0.8
    assert uptake > 3 * open_share.mean()


def test_families_report_learning_at_home_whatever_they_attend(medium):
    rp = medium["reported_participation"]
    resp = medium["survey_respondents"].dropna(subset=["family_id"])
    fam = _families(medium)
    rp = (rp.merge(resp[["year", "school_id", "respondent_id", "family_id"]], on=["year", "school_id", "respondent_id"])
          .merge(fam[["school_id", "year", "family_id", "prio", "reached"]], on=["school_id", "year", "family_id"]))
    home = rp[rp["activity_type"] == "learning_at_home"]
    assert home["participated"].mean() > 0.75
    by = home.groupby("prio")["participated"].mean()
    assert by["Māori"] >= by["European"] - 0.02 and by["Pacific"] >= by["European"] - 0.02
    not_reached = home[~home["reached"]]["participated"].mean()
    assert not_reached > 0.7  # families no register saw still support learning at home


def _icc_within_school_year(frame: pd.DataFrame, y: str) -> float:
    """One-way ANOVA intraclass correlation of ``y`` within families (after each school-year's mean)."""
    d = frame.assign(_y=frame[y].astype(float) - frame.groupby("_sy")[y].transform("mean"))
    g = d.groupby("_fam")["_y"]
    n_i, m_i = g.size(), g.mean()
    N, k = len(d), len(n_i)
    msb = (n_i * (m_i - d["_y"].mean()) ** 2).sum() / (k - 1)
    msw = ((d["_y"] - d["_fam"].map(m_i)) ** 2).sum() / (N - k)
    n0 = (N - (n_i ** 2).sum() / N) / (k - 1)
    return (msb - msw) / (msb + (n0 - 1) * msw)


def test_contacts_hang_together_in_families_as_in_real_schools(medium):
    # families have their own propensities to start contacts, reply and hear about problems
    # (docs/synthetic.md, "Clustering"): the intra-family correlation within a school and year
    c = medium["contacts"].copy()
    year = pd.to_datetime(c["date"]).dt.year.astype(str)
    c["_sy"] = c["school_id"].astype(str) + ":" + year
    c["_fam"] = c["_sy"] + ":" + c["family_id"].astype(str)
    c["start"] = (c["initiated_by"] == "family").astype(float)
    school = c[c["initiated_by"] == "school"].copy()
    school["deficit"] = school["purpose"].isin(vocab.DEFICIT_PURPOSES).astype(float)
    known = school[school["response_received"].notna()].copy()
    known["reply"] = known["response_received"].astype(bool).astype(float)
    assert _icc_within_school_year(c, "start") > 0.1
    assert _icc_within_school_year(school, "deficit") > 0.1
    assert _icc_within_school_year(known, "reply") > 0.05
    # and a family's propensity lasts: its share of family-started contacts correlates across years
    share = c.assign(_y=year).groupby(["school_id", "family_id", "_y"])["start"].mean().unstack()
    both = share[["2021", "2022"]].dropna()
    assert both.corr().iloc[0, 1] > 0.15


def test_family_traits_keep_the_schools_averages():
    from hsp_eval.synthetic.school import _centred

    z = np.random.default_rng(0).normal(0, 1, 400_000)
    for q, sd in ((0.05, 1.2), (0.4, 1.0), (0.9, 0.8)):
        assert expit(_centred(q, sd) + sd * z).mean() == pytest.approx(q, abs=0.01)

"""Inquiry-cycle indicators on a hand-built dataset, every count worked out by hand; the codesign model.

The hand-built dataset (2024; 0001 and 0002 in Otago, 0003 in Canterbury):

- 0001: target students t1 (F1, Māori, year 3), t2 (F2, European, year 5), t3 (F3,
  Pacific;European, year 6, **no inquiry_steps row**) and t4 (F4, Asian, year 8); non-target
  n1 (F1, Māori, year 2, no inquiry row either) and n2 (F5, European, year 4).
- t4 **changes school** during 2024: a target student at 0001 and at 0002, with an inquiry
  row and progress at each.
- 0002: target students t4 and t5 (F6, Māori, year 10); non-target n3.
- 0003: target student t6 (F8, European, year 1), every step false.

inquiry_steps (identified, codesigned, family goal, reviewed):

====  =======  ====  ====  ====  ====
who   school   id    co    goal  rev
====  =======  ====  ====  ====  ====
t1    0001     T     T     T     F
t2    0001     T     F     F     F
t4    0001     F     F     F     T
t4    0002     T     T     T     T
t5    0002     T     F     F     T
t6    0003     F     F     F     F
====  =======  ====  ====  ====  ====

progress (gain = end - start against expected_gain):

- 0001: t1 reading 10 -> 13 (gain 3 > 2: accelerated); t1 maths 50 -> 54 (gain 4 == 4:
  **not** accelerated, the boundary); t2 reading 12 -> 13 (1: no); t3 reading 8 -> 11.5
  (3.5: accelerated); t4 maths 40 -> 46 (6 > 4: accelerated).
- 0002: t4 maths 46 -> 47 (1: no); t5 reading 20 -> 21 (1: no).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from hsp_eval.indicators import engine as indicators
from hsp_eval.indicators.topics import inquiry
from hsp_eval.testing import load_csv_texts, one_row

FILES = {
    "schools": """school_id,school_name,region,school_type
0001,Kura A,Otago,Full Primary
0002,Kura B,Otago,Secondary (Year 7-15)
0003,Kura C,Canterbury,Contributing
""",
    "enrolments": """year,school_id,student_id,family_id,year_level,ethnicity,target
2024,0001,t1,F1,3,Māori,true
2024,0001,t2,F2,5,European,true
2024,0001,t3,F3,6,Pacific;European,true
2024,0001,t4,F4,8,Asian,true
2024,0001,n1,F1,2,Māori,false
2024,0001,n2,F5,4,European,false
2024,0002,t4,F4,8,Asian,true
2024,0002,t5,F6,10,Māori,true
2024,0002,n3,F7,9,European,false
2024,0003,t6,F8,1,European,true
""",
    "inquiry_steps": """year,school_id,student_id,whanau_identified,whanau_codesigned,family_goal_included,whanau_reviewed
2024,0001,t1,true,true,true,false
2024,0001,t2,yes,no,no,no
2024,0001,t4,false,false,false,true
2024,0002,t4,true,true,true,true
2024,0002,t5,1,0,0,1
2024,0003,t6,false,false,false,false
""",
    "progress": """year,school_id,student_id,measure,start_score,end_score,expected_gain
2024,0001,t1,reading,10,13,2
2024,0001,t1,maths,50,54,4
2024,0001,t2,reading,12,13,2
2024,0001,t3,reading,8,11.5,2
2024,0001,t4,maths,40,46,4
2024,0002,t4,maths,46,47,4
2024,0002,t5,reading,20,21,2
""",
}


write = load_csv_texts


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write(tmp_path_factory.mktemp("inquiry"), FILES)


@pytest.fixture(scope="module")
def table(dataset):
    return indicators.compute(dataset, min_n=1)


def row(table, indicator, group_type="all", group="all", area="0001", year=2024, level="school"):
    return one_row(table, indicator, group_type, group, area, year, level)


def counts(table, *args, **kw):
    r = row(table, *args, **kw)
    return int(r["numerator"]), int(r["denominator"]), round(float(r["value"]), 6)


# --- the inquiry steps ------------------------------------------------------------------------

def test_steps_count_target_students_and_a_missing_row_as_not_done(table):
    # 0001: target t1, t2, t3 (no row: counted as not done), t4; n1 and n2 are not target
    assert counts(table, "target_whanau_identified") == (2, 4, 0.5)       # t1, t2
    assert counts(table, "target_whanau_codesigned") == (1, 4, 0.25)      # t1
    assert counts(table, "target_family_goal") == (1, 4, 0.25)            # t1
    assert counts(table, "target_whanau_reviewed") == (1, 4, 0.25)        # t4


def test_student_changing_school_counts_with_each_schools_row(table):
    assert counts(table, "target_whanau_identified", area="0002") == (2, 2, 1.0)   # t4, t5
    assert counts(table, "target_whanau_codesigned", area="0002") == (1, 2, 0.5)   # t4 at 0002
    assert counts(table, "target_whanau_reviewed", area="0002") == (2, 2, 1.0)
    assert counts(table, "target_whanau_identified", area="0003") == (0, 1, 0.0)   # t6


def test_steps_by_group(table):
    ind = "target_whanau_identified"
    assert counts(table, ind, "ethnicity", "Māori") == (1, 1, 1.0)                 # t1 (n1 not target)
    assert counts(table, ind, "ethnicity", "European") == (1, 2, 0.5)              # t2, t3
    assert counts(table, ind, "ethnicity", "Pacific") == (0, 1, 0.0)               # t3
    assert counts(table, ind, "ethnicity_prioritised", "Pacific") == (0, 1, 0.0)   # t3
    assert counts(table, ind, "ethnicity_prioritised", "European") == (1, 1, 1.0)  # t2
    assert counts(table, ind, "year_band", "4-6") == (1, 2, 0.5)                   # t2, t3
    assert counts(table, ind, "year_band", "7-8") == (0, 1, 0.0)                   # t4
    # group types outside the registry's list are not made
    assert not ((table["indicator"] == ind) & table["group_type"].isin(["target", "new_family"])).any()


def test_step_gap_vs_rest(table):
    r = row(table, "target_whanau_identified_gap_vs_rest", "ethnicity", "Māori")
    # Māori 1/1 minus the rest (t2 yes, t3 no, t4 no) 1/3
    assert (r["numerator"], r["denominator"]) == (1, 1)
    assert r["value"] == pytest.approx(1 - 1 / 3)


def test_steps_roll_up(table):
    assert counts(table, "target_whanau_identified", area="Otago", level="region") == (4, 6, round(4 / 6, 6))
    assert counts(table, "target_whanau_identified", area="Canterbury", level="region") == (0, 1, 0.0)
    assert counts(table, "target_whanau_identified", area="NZ", level="national") == (4, 7, round(4 / 7, 6))


# --- progress --------------------------------------------------------------------------------

def test_accelerated_rate_per_measure_with_the_boundary_not_accelerated(table):
    assert counts(table, "accelerated_rate", "measure", "reading") == (2, 3, round(2 / 3, 6))  # t1, t3
    assert counts(table, "accelerated_rate", "measure", "maths") == (1, 2, 0.5)  # t4; t1's gain == expected
    assert counts(table, "accelerated_rate", "measure", "maths", area="0002") == (0, 1, 0.0)
    assert counts(table, "accelerated_rate", "measure", "reading", area="NZ", level="national") == (2, 4, 0.5)
    assert not ((table["indicator"] == "accelerated_rate") & (table["group_type"] != "measure")).any()


def test_a_schools_measurement_error_raises_the_bar_for_accelerated_progress(dataset):
    # 0001 gives reading a standard error of measurement of 1: t1's gain of 3 is no longer above
    # the bar (2 + 1); t3's 3.5 still is. Maths and school 0002 are unchanged.
    margins = pd.DataFrame({"school_id": ["0001"], "measure": ["reading"], "margin": [1.0]})
    t = indicators.compute(inquiry.with_margins(dataset, margins), min_n=1)
    assert counts(t, "accelerated_rate", "measure", "reading") == (1, 3, round(1 / 3, 6))  # t3 only
    assert counts(t, "accelerated_rate", "measure", "maths") == (1, 2, 0.5)
    assert counts(t, "accelerated_rate", "measure", "reading", area="0002") == (0, 1, 0.0)
    assert "margin" not in dataset["progress"]  # the given dataset is unchanged
    assert inquiry.with_margins(dataset, margins.iloc[:0]) is dataset


def test_measurement_error_in_params_is_checked():
    from hsp_eval.indicators.params import ParamsError, margins_frame, parse_params

    p = parse_params({"school_id": "0001", "measurement_error": {"reading": 12, "maths": 9.5}}, "0001.yaml")
    assert p["measurement_error"] == {"reading": 12.0, "maths": 9.5}
    assert margins_frame({"0001": p})["margin"].tolist() == [9.5, 12.0]  # sorted by measure
    assert parse_params({"school_id": "0001"}, "x")["measurement_error"] == {}
    with pytest.raises(ParamsError, match="score points"):
        parse_params({"school_id": "0001", "measurement_error": {"reading": "high"}}, "x")
    with pytest.raises(ParamsError, match="map each progress measure"):
        parse_params({"school_id": "0001", "measurement_error": 12}, "x")


def test_accelerated_by_codesign_pools_measures(table):
    # 0001 codesigned: t1 reading (yes), t1 maths (no); not codesigned: t2 (no), t3 (no inquiry row, yes),
    # t4 maths (yes, codesigned false at 0001)
    assert counts(table, "accelerated_by_codesign", "codesign", "codesigned") == (1, 2, 0.5)
    assert counts(table, "accelerated_by_codesign", "codesign", "not_codesigned") == (2, 3, round(2 / 3, 6))
    # 0002: t4 codesigned there (not accelerated), t5 not codesigned (not accelerated)
    assert counts(table, "accelerated_by_codesign", "codesign", "codesigned", area="0002") == (0, 1, 0.0)
    assert counts(table, "accelerated_by_codesign", "codesign", "codesigned", area="Otago",
                  level="region") == (1, 3, round(1 / 3, 6))
    assert counts(table, "accelerated_by_codesign", "codesign", "not_codesigned", area="Otago",
                  level="region") == (2, 4, 0.5)


def test_small_data_gives_no_odds_ratio_row(table, dataset):
    assert not (table["group"] == "adjusted_odds_ratio").any()
    with pytest.raises(ValueError, match="cannot fit"):
        inquiry.codesign_model(dataset)


def test_default_min_n_suppresses_small_rows(dataset):
    t = indicators.compute(dataset)
    r = row(t, "target_whanau_identified")                      # 4 target students at 0001
    assert r["suppressed"] and np.isnan(r["numerator"]) and np.isnan(r["value"])
    assert np.isnan(r["denominator"]) and np.isnan(r["people"])  # 4 students: the count is withheld too (v2)
    # Otago has 6 target students, but the nation's 7 minus Otago's 6 would give Canterbury's one
    # (withheld): Otago goes too (disclosure spec v2: linked levels). The nation's 7 go as well: its
    # ethnic groups are all small, and with 7 in all each would be proven to hold at most 4
    assert row(t, "target_whanau_identified", area="Canterbury", level="region")["suppressed"]
    r = row(t, "target_whanau_identified", area="Otago", level="region")
    assert r["suppressed"] and np.isnan(r["denominator"])
    assert row(t, "target_whanau_identified", area="NZ", level="national")["suppressed"]
    assert row(indicators.compute(dataset, min_n=1), "target_whanau_identified", area="NZ",
               level="national")["denominator"] == 7
    r = row(t, "accelerated_rate", "measure", "reading", area="NZ", level="national")  # 4: suppressed
    assert r["suppressed"] and np.isnan(r["value"])


def test_without_progress_only_the_steps(tmp_path):
    ds = write(tmp_path, {k: v for k, v in FILES.items() if k != "progress"})
    t = indicators.compute(ds, min_n=1)
    assert "target_whanau_identified" in set(t["indicator"])
    assert not t["indicator"].isin(["accelerated_rate", "accelerated_by_codesign"]).any()
    assert {"accelerated_rate", "accelerated_by_codesign"} <= set(indicators.not_available(ds))


def test_without_inquiry_steps_accelerated_rate_only(tmp_path):
    ds = write(tmp_path, {k: v for k, v in FILES.items() if k != "inquiry_steps"})
    t = indicators.compute(ds, min_n=1)
    assert counts(t, "accelerated_rate", "measure", "reading") == (2, 3, round(2 / 3, 6))
    assert not t["indicator"].str.startswith("target_").any()
    assert not (t["indicator"] == "accelerated_by_codesign").any()


# --- the codesign model on generated data ------------------------------------------------------

TRUE_OR = 2.5


def generated_files(seed: int = 20240601, n: int = 3000, separated: bool = False) -> dict[str, str]:
    """Target students at three schools (two regions) with a known adjusted odds ratio.

    Co-design is more likely for students who start low (a confounder: accelerated progress is
    more likely for those who start high), so the crude odds ratio is below the adjusted one.
    Every student has reading progress; about half also maths (a different scale).
    ``separated``: accelerated exactly when the start score is above the measure's median.
    """
    rng = np.random.default_rng(seed)
    sid = np.array([f"g{i:05d}" for i in range(n)])
    school = rng.choice(["0001", "0002", "0003"], n)
    year_level = rng.integers(1, 9, n)
    eth = rng.choice(["Māori", "European", "Pacific", "Asian"], n)
    enrol = pd.DataFrame({"year": 2024, "school_id": school, "student_id": sid, "family_id": "F" + sid,
                          "year_level": year_level, "ethnicity": eth, "target": "true"})
    z_read = rng.normal(size=n)
    codesigned = rng.random(n) < 1 / (1 + np.exp(-(-0.3 - 1.0 * z_read)))
    steps = pd.DataFrame({"year": 2024, "school_id": school, "student_id": sid, "whanau_identified": "true",
                          "whanau_codesigned": np.where(codesigned, "true", "false"),
                          "family_goal_included": "false", "whanau_reviewed": "false"})
    parts = []
    for measure, mean, sd, expected, share in (("reading", 100, 15, 10, 1.0), ("maths", 500, 80, 50, 0.5)):
        has = rng.random(n) < share
        z = z_read if measure == "reading" else rng.normal(size=n)
        eta = -0.5 + np.log(TRUE_OR) * codesigned + 0.8 * z - 0.05 * (year_level - 4)
        acc = rng.random(n) < 1 / (1 + np.exp(-eta))
        if separated:
            acc = z > np.median(z)
        start = mean + sd * z
        gain = np.where(acc, expected + rng.uniform(0.5, 5, n), expected - rng.integers(0, 4, n))
        parts.append(pd.DataFrame({"year": 2024, "school_id": school, "student_id": sid, "measure": measure,
                                   "start_score": start.round(3), "end_score": (start + gain).round(3),
                                   "expected_gain": expected})[has])
    progress = pd.concat(parts, ignore_index=True)
    return {"schools": FILES["schools"], "enrolments": enrol.to_csv(index=False),
            "inquiry_steps": steps.to_csv(index=False), "progress": progress.to_csv(index=False)}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    ds = write(tmp_path_factory.mktemp("generated"), generated_files())
    return ds, indicators.compute(ds, min_n=1)


def test_model_recovers_the_true_odds_ratio(generated):
    ds, _ = generated
    fit = inquiry.codesign_model(ds).set_index("term")
    assert list(fit.columns) == ["odds_ratio", "ci_low", "ci_high", "p_value", "n"]
    # the three schools get a fixed effect each (not reported): students compared within schools
    assert {"codesigned", "start_score_z", "year_level", "measure[T.reading]"} == set(fit.index)
    c = fit.loc["codesigned"]
    assert c["ci_low"] < TRUE_OR < c["ci_high"]
    assert c["ci_high"] / c["ci_low"] < 2            # a few thousand rows: a narrow interval
    assert c["n"] == len(ds["progress"])             # every student x measure row used
    assert "not proof of cause" in inquiry.codesign_model.__doc__
    assert "not proof of cause" in inquiry.__doc__


def test_fixed_effects_fit_equals_statsmodels_logit_with_a_dummy_per_school(generated):
    # the same model as statsmodels' Logit with an intercept, a dummy per school after the first and
    # cluster-robust covariance by student: estimates and standard errors agree
    import statsmodels.api as sm

    ds, _ = generated
    rows = inquiry.model_rows(ds)
    arrays = inquiry._model_arrays(rows)
    z = inquiry.standardise(rows, [])
    ours = inquiry._fit_rows(arrays, z)
    x, names = inquiry._design(arrays["codesigned"], z, arrays["year_level"], arrays["measure"])
    school = arrays["school"]
    dummies = (school[:, None] == np.arange(1, school.max() + 1)[None, :]).astype(float)
    ref = sm.Logit(arrays["accelerated"], np.column_stack([x, dummies])).fit(
        disp=0, cov_type="cluster", cov_kwds={"groups": arrays["student"]})
    k = len(ours.term_names)
    assert ours.term_names == names[1:]
    assert np.allclose(ours.params, np.asarray(ref.params)[1:1 + k], atol=1e-7)
    assert np.allclose(ours.bse, np.asarray(ref.bse)[1:1 + k], rtol=1e-6)
    assert np.allclose(ours.conf_int(), np.asarray(ref.conf_int())[1:1 + k], atol=1e-6)
    assert ours.nobs == ref.nobs


def test_odds_ratio_rows_match_the_model_and_differ_from_the_crude_ratio(generated):
    ds, t = generated
    ors = t[t["group"] == "adjusted_odds_ratio"]
    assert set(zip(ors["level"], ors["area_id"])) == {("school", "0001"), ("school", "0002"), ("school", "0003"),
                                                     ("region", "Otago"), ("region", "Canterbury"),
                                                     ("national", "NZ")}
    assert (ors["indicator"] == "accelerated_by_codesign").all() and (ors["group_type"] == "codesign").all()
    assert ors["numerator"].isna().all()
    nat = row(t, "accelerated_by_codesign", "codesign", "adjusted_odds_ratio", area="NZ", level="national")
    fit = inquiry.codesign_model(ds).set_index("term").loc["codesigned"]
    assert nat["value"] == pytest.approx(fit["odds_ratio"])
    assert (nat["ci_low"], nat["ci_high"]) == pytest.approx((fit["ci_low"], fit["ci_high"]))
    assert nat["denominator"] == len(ds["progress"])
    school = row(t, "accelerated_by_codesign", "codesign", "adjusted_odds_ratio", area="0002")
    fit2 = inquiry.codesign_model(ds, school_id="0002", years=2024).set_index("term").loc["codesigned"]
    assert school["value"] == pytest.approx(fit2["odds_ratio"])
    assert school["denominator"] == (ds["progress"]["school_id"] == "0002").sum()
    # the crude (unadjusted) odds ratio from the split rows is confounded by the start score
    yes = row(t, "accelerated_by_codesign", "codesign", "codesigned", area="NZ", level="national")
    no = row(t, "accelerated_by_codesign", "codesign", "not_codesigned", area="NZ", level="national")
    crude = (yes["value"] / (1 - yes["value"])) / (no["value"] / (1 - no["value"]))
    assert crude < nat["ci_low"]
    assert yes["denominator"] + no["denominator"] == len(ds["progress"])


def test_codesign_model_filters(generated):
    ds, _ = generated
    assert inquiry.codesign_model(ds, school_id=["0001", "0003"])["n"].iloc[0] == \
        ds["progress"]["school_id"].isin(["0001", "0003"]).sum()
    with pytest.raises(ValueError):
        inquiry.codesign_model(ds, years=[2023])


def test_separated_data_gives_no_row_and_no_error(tmp_path):
    ds = write(tmp_path, generated_files(n=300, separated=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no statsmodels warning escapes
        t = indicators.compute(ds, min_n=1)
    assert not (t["group"] == "adjusted_odds_ratio").any()
    assert (t["indicator"] == "accelerated_by_codesign").any()   # the split rows are still there
    with pytest.raises(ValueError, match="cannot fit"):
        inquiry.codesign_model(ds)


def test_all_codesigned_accelerated_gives_no_row(tmp_path):
    files = generated_files(n=200)
    p = pd.read_csv(pd.io.common.StringIO(files["progress"]), dtype={"school_id": str})
    s = pd.read_csv(pd.io.common.StringIO(files["inquiry_steps"]), dtype={"school_id": str})
    co = set(s.loc[s["whanau_codesigned"], "student_id"])
    bump = p["student_id"].isin(co)
    p.loc[bump, "end_score"] = p.loc[bump, "start_score"] + p.loc[bump, "expected_gain"] + 1
    files["progress"] = p.to_csv(index=False)
    ds = write(tmp_path, files)
    rows = inquiry.model_rows(ds).assign(k=0)
    assert not inquiry.fittable(rows, ["k"]).any()                # quasi-separation caught before fitting
    t = indicators.compute(ds, min_n=1)
    assert not (t["group"] == "adjusted_odds_ratio").any()
    assert row(t, "accelerated_by_codesign", "codesign", "codesigned", area="NZ",
               level="national")["value"] == 1.0

"""Family-voice indicators on hand-built datasets, every count worked out by hand.

The main dataset (schools 0001 and 0002 in Otago, 0003 in Canterbury):

- Roll 2024 at 0001: F1 (s1 Māori, year 3; s2 European, year 6: two children of different
  ethnicities), F2 (European, year 5), F3 (Pacific, year 1), F4 (Asian, year 4). At 0002:
  F5 (European, year 9), F6 (Māori, year 10). At 0003: F7 (Pacific). In 2023 0001 has F1 and
  F2 and no survey.
- Items: whānau instrument ``whanau_partnership``, scale ``comm`` W1-W4 (1-5, favourable >= 4;
  W2 reverse scored: 6 - response) and barrier items B1, B2 (1-2, favourable = 2, no scale);
  staff instrument ``staff_partnership``, scale ``comm`` T1, T2 (T2 reverse scored).
- Answers 2024 (raw; "-" blank; after reverse scoring in brackets):

  ======  ======  ====  =========  ===  ===  ===  ===  =============================
  school  resp.   fam.  W1         W2   W3   W4   B1   B2
  ======  ======  ====  =========  ===  ===  ===  ===  =============================
  0001    R1      F1    5          1(5) 4    -    2    1
  0001    R2      F2    2          -    -    -    1    -   (1 of 4 scale items)
  0001    R3      -     4          4(2) 3    5    2    2   (unlinked; weight 3)
  0001    R4      F3    -          -    -    -    -    -   (answered nothing)
  0001    R5      F1    3          3(3) 3    3    -    -   (F1's second whānau member)
  0002    R6      F5    4          2(4) 2    1    2    -
  ======  ======  ====  =========  ===  ===  ===  ===  =============================

  Staff: 0001 S1 T1 5, T2 2(4); S2 T1 3, T2 5(1); S3 T1 4, T2 - (1 of 2 items: exactly
  half, kept; S3 is also F4's parent, but a staff respondent is no whānau response).
  0003 S4 T1 4, T2 4(2): a staff-only survey.
"""

from __future__ import annotations

import numpy as np
import statsmodels.api as sm
import pytest
from scipy import stats as sps

from hsp_eval.indicators import engine as indicators, stats
from hsp_eval.testing import load_csv_texts

SCHOOLS = """school_id,school_name,region,school_type
0001,Kura A,Otago,Full Primary
0002,Kura B,Otago,Secondary (Year 7-15)
0003,Kura C,Canterbury,Full Primary
"""

ITEMS = """instrument,item_id,scale,text,response_min,response_max,favourable_min,reverse
whanau_partnership,W1,comm,The school tells me how my child is doing,1,5,4,false
whanau_partnership,W2,comm,It is hard to talk with my child's teacher,1,5,4,true
whanau_partnership,W3,comm,Teachers ask what I know about my child,1,5,4,false
whanau_partnership,W4,comm,I can raise a concern and it is acted on,1,5,4,false
whanau_partnership,B1,,Work hours make it hard to come to school,1,2,2,false
whanau_partnership,B2,,Transport makes it hard to come to school,1,2,2,false
staff_partnership,T1,comm,We tell families how their child is doing,1,5,4,false
staff_partnership,T2,comm,Families find it hard to talk with us,1,5,4,true
"""

FILES = {
    "schools": SCHOOLS,
    "enrolments": """year,school_id,student_id,family_id,year_level,ethnicity,target
2023,0001,s1,F1,2,Māori,false
2023,0001,s3,F2,4,European,false
2024,0001,s1,F1,3,Māori,false
2024,0001,s2,F1,6,European,false
2024,0001,s3,F2,5,European,false
2024,0001,s4,F3,1,Pacific,false
2024,0001,s5,F4,4,Asian,false
2024,0002,s6,F5,9,European,false
2024,0002,s7,F6,10,Māori,false
2024,0003,s8,F7,2,Pacific,false
""",
    "survey_items": ITEMS,
    "survey_respondents": """instrument,year,school_id,respondent_id,role,family_id,ethnicity,weight
whanau_partnership,2024,0001,R1,whanau,F1,Māori,1
whanau_partnership,2024,0001,R2,whanau,F2,,
whanau_partnership,2024,0001,R3,whanau,,,3
whanau_partnership,2024,0001,R4,whanau,F3,,
whanau_partnership,2024,0001,R5,whanau,F1,,
staff_partnership,2024,0001,S1,staff,,,
staff_partnership,2024,0001,S2,staff,,,
staff_partnership,2024,0001,S3,staff,F4,,
whanau_partnership,2024,0002,R6,whanau,F5,,
staff_partnership,2024,0003,S4,staff,,,
""",
    "survey_responses": """instrument,year,school_id,respondent_id,item_id,response
whanau_partnership,2024,0001,R1,W1,5
whanau_partnership,2024,0001,R1,W2,1
whanau_partnership,2024,0001,R1,W3,4
whanau_partnership,2024,0001,R1,W4,
whanau_partnership,2024,0001,R1,B1,2
whanau_partnership,2024,0001,R1,B2,1
whanau_partnership,2024,0001,R2,W1,2
whanau_partnership,2024,0001,R2,W2,
whanau_partnership,2024,0001,R2,B1,1
whanau_partnership,2024,0001,R3,W1,4
whanau_partnership,2024,0001,R3,W2,4
whanau_partnership,2024,0001,R3,W3,3
whanau_partnership,2024,0001,R3,W4,5
whanau_partnership,2024,0001,R3,B1,2
whanau_partnership,2024,0001,R3,B2,2
whanau_partnership,2024,0001,R4,W1,
whanau_partnership,2024,0001,R4,B1,
whanau_partnership,2024,0001,R5,W1,3
whanau_partnership,2024,0001,R5,W2,3
whanau_partnership,2024,0001,R5,W3,3
whanau_partnership,2024,0001,R5,W4,3
staff_partnership,2024,0001,S1,T1,5
staff_partnership,2024,0001,S1,T2,2
staff_partnership,2024,0001,S2,T1,3
staff_partnership,2024,0001,S2,T2,5
staff_partnership,2024,0001,S3,T1,4
staff_partnership,2024,0001,S3,T2,
whanau_partnership,2024,0002,R6,W1,4
whanau_partnership,2024,0002,R6,W2,2
whanau_partnership,2024,0002,R6,W3,2
whanau_partnership,2024,0002,R6,W4,1
whanau_partnership,2024,0002,R6,B1,2
staff_partnership,2024,0003,S4,T1,4
staff_partnership,2024,0003,S4,T2,4
""",
}

VOICE = ("survey_response_rate", "survey_response_rate_gap_vs_rest", "respondent_representation",
         "scale_score", "scale_favourable", "scale_alpha", "perception_gap", "barrier_prevalence")


write = load_csv_texts


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return write(tmp_path_factory.mktemp("voice"), FILES)


@pytest.fixture(scope="module")
def table(ds):
    return indicators.compute(ds, min_n=1)


def find(table, indicator, group_type="all", group="all", area="0001", year=2024, level=None):
    level = level or {"NZ": "national", "Otago": "region", "Canterbury": "region"}.get(area, "school")
    return table[(table["level"] == level) & (table["area_id"] == area) & (table["year"] == year)
                 & (table["indicator"] == indicator) & (table["group_type"] == group_type)
                 & (table["group"] == group)]


def row(table, *args, **kw):
    r = find(table, *args, **kw)
    assert len(r) == 1, f"{args} {kw}: {len(r)} rows"
    return r.iloc[0]


def counts(table, *args, **kw):
    """(numerator or None, denominator, value) of one row."""
    r = row(table, *args, **kw)
    num = None if np.isnan(r["numerator"]) else int(r["numerator"])
    return num, int(r["denominator"]), float(r["value"])


def approx(x):
    return pytest.approx(x, abs=1e-12)


# --- response rate ---------------------------------------------------------------------------

def test_response_rate_counts_families_once_and_needs_an_answer(table):
    # 0001: F1 (R1 and R5: counted once), F2 (R2 answered W1 and B1) of F1-F4; F3's R4 answered
    # nothing; the unlinked R3 adds no family; staff S3 (linked to F4) is not a whānau respondent
    assert counts(table, "survey_response_rate") == (2, 4, 0.5)
    assert counts(table, "survey_response_rate", "instrument", "whanau_partnership") == (2, 4, 0.5)
    assert counts(table, "survey_response_rate", area="0002") == (1, 2, 0.5)          # F5 of F5, F6
    assert counts(table, "survey_response_rate", area="Otago") == (3, 6, 0.5)
    # 0003 ran only a staff survey: its family F7 is not in any response-rate denominator
    assert counts(table, "survey_response_rate", area="NZ") == (3, 6, 0.5)
    assert find(table, "survey_response_rate", area="0003").empty
    assert find(table, "survey_response_rate", area="Canterbury").empty
    assert find(table, "survey_response_rate", "instrument", "staff_partnership").empty


def test_response_rate_by_family_groups(table):
    # F1's children are Māori (s1, year 3) and European (s2, year 6): F1 is in both groups and bands
    assert counts(table, "survey_response_rate", "ethnicity", "Māori") == (1, 1, 1.0)      # F1
    assert counts(table, "survey_response_rate", "ethnicity", "European") == (2, 2, 1.0)   # F1, F2
    assert counts(table, "survey_response_rate", "ethnicity", "Pacific") == (0, 1, 0.0)    # F3
    assert counts(table, "survey_response_rate", "ethnicity", "Asian") == (0, 1, 0.0)      # F4
    assert counts(table, "survey_response_rate", "ethnicity_prioritised", "Māori") == (1, 1, 1.0)
    assert counts(table, "survey_response_rate", "ethnicity_prioritised", "European") == (1, 1, 1.0)
    assert counts(table, "survey_response_rate", "year_band", "0-3") == (1, 2, 0.5)        # F1, F3
    assert counts(table, "survey_response_rate", "year_band", "4-6") == (2, 3, approx(2 / 3))  # F1, F2, F4


def test_response_rate_gap_vs_rest(table):
    r = row(table, "survey_response_rate_gap_vs_rest", "ethnicity", "European")
    # European 2/2 minus the rest (F3, F4) 0/2
    assert (r["numerator"], r["denominator"], r["value"]) == (2, 2, 1.0)
    lo, hi = stats.newcombe([2], [2], [0], [2])
    assert (r["ci_low"], r["ci_high"]) == (approx(lo[0]), approx(hi[0]))


def test_a_year_without_a_survey_has_no_voice_rows(ds, table):
    # 0001 has families enrolled in 2023 (F1, F2) but no survey that year: no rows, not a rate of 0
    assert 2023 in set(indicators.Context.build(ds).families.frame["year"])
    assert not (table["indicator"].isin(VOICE) & (table["year"] == 2023)).any()
    assert (table["year"] == 2024).any()


# --- representation ---------------------------------------------------------------------------

def test_respondent_representation(table):
    # 0001: respondents' families F1, F2 (2); families F1-F4 (4)
    expected = {"Māori": (1, 2, 1 / 2 - 1 / 4), "European": (2, 2, 2 / 2 - 2 / 4),
                "Pacific": (0, 2, 0 - 1 / 4), "Asian": (0, 2, 0 - 1 / 4)}
    for g, (num, den, value) in expected.items():
        assert counts(table, "respondent_representation", "ethnicity", g) == (num, den, approx(value)), g
    r = row(table, "respondent_representation", "ethnicity", "Māori")
    assert np.isnan(r["ci_low"]) and np.isnan(r["ci_high"])
    # 0002: F5 (European) of F5, F6 (Māori)
    assert counts(table, "respondent_representation", "ethnicity", "European", area="0002") == (1, 1, 0.5)
    assert counts(table, "respondent_representation", "ethnicity", "Māori", area="0002") == (0, 1, -0.5)
    # Otago: respondents' families F1, F2, F5 (3) of 6; Māori families F1, F6
    for area in ("Otago", "NZ"):
        assert counts(table, "respondent_representation", "ethnicity", "Māori", area=area) == (1, 3, approx(0.0))
        assert counts(table, "respondent_representation", "ethnicity", "European", area=area) == (3, 3, 0.5)
        assert counts(table, "respondent_representation", "ethnicity", "Pacific", area=area) == (
            0, 3, approx(-1 / 6))
    assert set(table.loc[table["indicator"] == "respondent_representation", "group_type"]) == {"ethnicity"}


# --- scales ---------------------------------------------------------------------------------

def test_scale_score_reverse_scoring_and_half_rule(table):
    # whānau 0001: R1 (5, 6-1, 4) = 14/3; R3 (4, 6-4, 3, 5) = 7/2; R5 3; R2 (1 of 4 items) and R4 left out
    scores = np.array([14 / 3, 7 / 2, 3.0])
    r = row(table, "scale_score", "scale", "whanau:comm")
    assert (np.isnan(r["numerator"]), r["denominator"], r["value"]) == (True, 3, approx(67 / 18))
    half = sps.t.ppf(0.975, 2) * scores.std(ddof=1) / np.sqrt(3)
    assert (r["ci_low"], r["ci_high"]) == (approx(67 / 18 - half), approx(67 / 18 + half))
    # staff 0001: S1 (5, 6-2) = 4.5, S2 (3, 6-5) = 2, S3 (4; exactly half the items) = 4
    assert counts(table, "scale_score", "scale", "staff:comm") == (None, 3, 3.5)
    r = row(table, "scale_score", "scale", "whanau:comm", area="0002")  # R6 (4, 6-2, 2, 1) = 11/4
    assert (r["denominator"], r["value"], np.isnan(r["ci_low"])) == (1, 2.75, True)
    assert counts(table, "scale_score", "scale", "whanau:comm", area="Otago") == (None, 4, approx(167 / 48))
    # national staff: S1-S3 and S4 (4, 6-4) = 3
    assert counts(table, "scale_score", "scale", "staff:comm", area="NZ") == (None, 4, approx(13.5 / 4))


def test_scale_favourable_counts_every_answered_response(table):
    # whānau 0001, favourable >= 4 after reverse scoring: R1 3 of 3, R2 0 of 1 (its lone answer
    # counts although R2 has no scale score), R3 2 of 4 (the unlinked respondent counts), R5 0 of 4
    assert counts(table, "scale_favourable", "scale", "whanau:comm") == (5, 12, approx(5 / 12))
    assert counts(table, "scale_favourable", "scale", "staff:comm") == (3, 5, 0.6)   # 5, 4, 4 of 5
    assert counts(table, "scale_favourable", "scale", "whanau:comm", area="0002") == (2, 4, 0.5)
    assert counts(table, "scale_favourable", "scale", "whanau:comm", area="Otago") == (7, 16, 7 / 16)
    assert counts(table, "scale_favourable", "scale", "staff:comm", area="Canterbury") == (1, 2, 0.5)
    assert counts(table, "scale_favourable", "scale", "staff:comm", area="NZ") == (4, 7, approx(4 / 7))
    # the interval clusters the answers in their respondents (uncertainty spec v2): the variance is
    # statsmodels' cluster-robust one of the answers' mean, on the effective sample size p(1-p)/V
    r = row(table, "scale_favourable", "scale", "whanau:comm")
    answers = np.array([1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0], dtype=float)
    respondent = np.array([1, 1, 1, 2, 3, 3, 3, 3, 5, 5, 5, 5])
    fit = sm.OLS(answers, np.ones(12)).fit(cov_type="cluster", cov_kwds={"groups": respondent})
    p = 5 / 12
    n_eff = stats.t_adjusted_n([min(p * (1 - p) / fit.bse[0] ** 2, 12)], [4])  # t with 4 - 1 df
    lo, hi = stats.wilson_effective([p], n_eff)
    assert (r["ci_low"], r["ci_high"]) == (approx(lo[0]), approx(hi[0]))
    wide_lo, wide_hi = stats.wilson([5], [12])
    assert r["ci_low"] < wide_lo[0] and r["ci_high"] > wide_hi[0]  # wider than answers taken one by one


def test_weights_are_not_used(table):
    # R3 (2 of 4 favourable) has weight 3: weighted, whānau 0001 would be 5 + 2*2 = 9 of 12 + 2*4 = 20
    assert counts(table, "scale_favourable", "scale", "whanau:comm")[:2] == (5, 12)


def test_perception_gap_is_staff_minus_whanau_with_newcombe_interval(table):
    cases = {"0001": (3, 5, 5, 12), "Otago": (3, 5, 7, 16), "NZ": (4, 7, 7, 16)}
    for area, (ns, ds_, nw, dw) in cases.items():
        r = row(table, "perception_gap", "scale", "comm", area=area)
        lo, hi = stats.newcombe([ns], [ds_], [nw], [dw])
        assert r["value"] == approx(ns / ds_ - nw / dw), area
        assert np.isnan(r["numerator"]) and r["denominator"] == min(ds_, dw), area
        # each side on its effective sample size (answers clustered in respondents): never narrower
        # than Newcombe's interval on the answers taken one by one, and it holds the value
        assert r["ci_low"] <= lo[0] + 1e-12 and r["ci_high"] >= hi[0] - 1e-12, area
        assert r["ci_low"] < r["value"] < r["ci_high"], area
    assert row(table, "perception_gap", "scale", "comm")["value"] == approx(11 / 60)   # staff more positive
    # no staff at 0002, no whānau at 0003 / Canterbury: no gap
    for area in ("0002", "0003", "Canterbury"):
        assert find(table, "perception_gap", "scale", "comm", area=area).empty, area


def test_barrier_prevalence_per_inventory_item(table):
    assert counts(table, "barrier_prevalence", "item", "B1") == (2, 3, approx(2 / 3))  # R1, R3 of R1-R3
    assert counts(table, "barrier_prevalence", "item", "B2") == (1, 2, 0.5)            # R3 of R1, R3
    assert counts(table, "barrier_prevalence", "item", "B1", area="Otago") == (3, 4, 0.75)
    # scale items are not barriers, barrier items are not in a scale
    voice = table[table["indicator"] == "barrier_prevalence"]
    assert set(voice["group"]) == {"B1", "B2"}
    assert not table["group"].str.contains("nan").any()


def test_no_alpha_under_ten_complete_respondents(table):
    assert not (table["indicator"] == "scale_alpha").any()


def test_every_voice_indicator_at_every_level(table):
    levels = table[table["indicator"].isin(VOICE)].groupby("indicator")["level"].agg(set)
    for ind in ("survey_response_rate", "respondent_representation", "scale_score", "scale_favourable",
                "perception_gap", "barrier_prevalence"):
        assert levels[ind] == {"school", "region", "national"}, ind


# --- disclosure -------------------------------------------------------------------------------

def test_small_rows_are_suppressed_by_default(ds):
    t = indicators.compute(ds)  # min_n = 5
    r = row(t, "survey_response_rate")                       # 4 families
    assert r["suppressed"] and np.isnan(r["numerator"]) and np.isnan(r["value"])
    assert np.isnan(r["denominator"]) and np.isnan(r["people"])  # 4 families: the count is withheld too (v2)
    for ind, gt, g in [("scale_score", "scale", "whanau:comm"), ("barrier_prevalence", "item", "B1"),
                       ("respondent_representation", "ethnicity", "European")]:
        r = row(t, ind, gt, g)
        assert r["suppressed"] and np.isnan(r["value"]), ind
    # 12 answers, but from 4 whānau respondents (5 staff answers from 3 staff): thresholds count
    # people, so both sides and the perception gap between them are withheld (disclosure spec v2)
    r = row(t, "scale_favourable", "scale", "whanau:comm")
    assert r["suppressed"] and np.isnan(r["value"]) and np.isnan(r["people"])
    assert row(indicators.compute(ds, min_n=1), "scale_favourable", "scale", "whanau:comm")["people"] == 4
    assert row(t, "perception_gap", "scale", "comm")["suppressed"]


def test_perception_gap_is_withheld_with_its_smaller_side(ds):
    t = indicators.compute(ds, min_n=4)
    assert row(t, "scale_favourable", "scale", "staff:comm")["suppressed"]        # 3 staff
    # (4 whānau at 0001, but withheld too: Otago's 5 minus them would give 0002's one respondent)
    r = row(t, "perception_gap", "scale", "comm")
    assert r["suppressed"] and np.isnan(r["value"]) and np.isnan(r["ci_low"])


# --- Cronbach's alpha ------------------------------------------------------------------------

# raw answers to W1, W2 (reverse scored), W3; all respondents unlinked (anonymous survey)
ALPHA_WHANAU = {
    "0001": [[5, 1, 5], [4, 2, 4], [4, 1, 5], [3, 3, 3], [2, 4, 2], [5, 2, 4], [3, 2, 4], [1, 5, 2],
             [2, 4, 1], [4, 3, 4]],
    "0002": [[3, 3, 2], [4, 1, 4], [2, 5, 2], [5, 2, 5]],
    "0003": [[1, 4, 2], [3, 3, 4]],
}
ALPHA_STAFF = [[5, 4], [4, 4], [3, 2], [5, 5], [2, 3], [4, 5], [3, 3], [1, 2], [4, 3], [5, 4]]


def alpha_by_covariance(raw, reverse_col=None):
    """alpha = k/(k-1) * (1 - trace(C) / sum(C)), C the item covariance matrix (sum(C) = var of totals)."""
    x = np.array(raw, dtype=float)
    if reverse_col is not None:
        x[:, reverse_col] = 6 - x[:, reverse_col]
    c = np.cov(x, rowvar=False)
    k = x.shape[1]
    return k / (k - 1) * (1 - np.trace(c) / c.sum())


@pytest.fixture(scope="module")
def alpha_table(tmp_path_factory):
    items = ITEMS.replace("staff_partnership,T2,comm,Families find it hard to talk with us,1,5,4,true",
                          "staff_partnership,T2,comm,Families find it easy to talk with us,1,5,4,false")
    items = "\n".join(x for x in items.splitlines() if ",W4," not in x) + "\n"
    resp, who = [], []
    for school, rows in ALPHA_WHANAU.items():
        for i, answers in enumerate(rows):
            rid = f"{school}-{i}"
            who.append(f"whanau_partnership,2024,{school},{rid},whanau,,,")
            resp += [f"whanau_partnership,2024,{school},{rid},{item},{v}"
                     for item, v in zip(("W1", "W2", "W3"), answers)]
    # an eleventh respondent at 0001 who skipped W2: not in alpha
    who.append("whanau_partnership,2024,0001,skip,whanau,,,")
    resp += ["whanau_partnership,2024,0001,skip,W1,5", "whanau_partnership,2024,0001,skip,W2,",
             "whanau_partnership,2024,0001,skip,W3,5"]
    for i, answers in enumerate(ALPHA_STAFF):
        who.append(f"staff_partnership,2024,0001,T{i},staff,,,")
        resp += [f"staff_partnership,2024,0001,T{i},{item},{v}" for item, v in zip(("T1", "T2"), answers)]
    files = {
        "schools": SCHOOLS,
        "enrolments": "year,school_id,student_id,family_id,year_level,ethnicity\n"
                      "2024,0001,s1,F1,3,Māori\n2024,0002,s2,F2,9,European\n2024,0003,s3,F3,1,Pacific\n",
        "survey_items": items,
        "survey_respondents": "instrument,year,school_id,respondent_id,role,family_id,ethnicity,weight\n"
                              + "\n".join(who) + "\n",
        "survey_responses": "instrument,year,school_id,respondent_id,item_id,response\n" + "\n".join(resp) + "\n",
    }
    return indicators.compute(write(tmp_path_factory.mktemp("alpha"), files))  # default min_n


def test_alpha_formula_matches_the_covariance_form():
    x = np.array(ALPHA_WHANAU["0001"], dtype=float)
    x[:, 1] = 6 - x[:, 1]
    k = 3
    direct = k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1))
    assert direct == approx(alpha_by_covariance(ALPHA_WHANAU["0001"], reverse_col=1))


def test_alpha_at_school_level_uses_complete_respondents_after_reverse_scoring(alpha_table):
    r = row(alpha_table, "scale_alpha", "scale", "whanau:comm")
    expected = alpha_by_covariance(ALPHA_WHANAU["0001"], reverse_col=1)
    assert r["value"] == approx(expected)
    assert 0.5 < expected < 1   # a consistent scale once W2 is reversed (raw W2 would make it negative)
    assert alpha_by_covariance(ALPHA_WHANAU["0001"]) < 0
    assert np.isnan(r["numerator"]) and r["denominator"] == 10          # "skip" is left out
    k = len(ALPHA_WHANAU["0001"][0])
    lo, hi = stats.feldt([expected], [10], [k])                             # Feldt's interval
    assert (r["ci_low"], r["ci_high"]) == (approx(lo[0]), approx(hi[0])) and not r["suppressed"]
    r = row(alpha_table, "scale_alpha", "scale", "staff:comm")           # same scale name, staff apart
    assert (r["denominator"], r["value"]) == (10, approx(alpha_by_covariance(ALPHA_STAFF)))


def test_alpha_pools_respondents_at_region_and_national_level(alpha_table):
    otago = ALPHA_WHANAU["0001"] + ALPHA_WHANAU["0002"]
    r = row(alpha_table, "scale_alpha", "scale", "whanau:comm", area="Otago")
    assert (r["denominator"], r["value"]) == (14, approx(alpha_by_covariance(otago, reverse_col=1)))
    r = row(alpha_table, "scale_alpha", "scale", "whanau:comm", area="NZ")
    everyone = otago + ALPHA_WHANAU["0003"]
    assert (r["denominator"], r["value"]) == (16, approx(alpha_by_covariance(everyone, reverse_col=1)))


def test_alpha_blank_under_ten(alpha_table):
    for area in ("0002", "0003", "Canterbury"):   # 4, 2 and 2 complete respondents
        assert find(alpha_table, "scale_alpha", "scale", "whanau:comm", area=area).empty, area
    alphas = alpha_table[alpha_table["indicator"] == "scale_alpha"]
    assert sorted(zip(alphas["area_id"], alphas["group"])) == [
        ("0001", "staff:comm"), ("0001", "whanau:comm"), ("NZ", "staff:comm"), ("NZ", "whanau:comm"),
        ("Otago", "staff:comm"), ("Otago", "whanau:comm")]


def test_anonymous_survey_has_no_response_rate(alpha_table):
    assert not alpha_table["indicator"].isin(["survey_response_rate", "respondent_representation"]).any()
    assert (alpha_table["indicator"] == "scale_favourable").any()


def test_integer_counting_gives_the_text_grouped_rows_on_the_demo():
    """The engine's respondent scales and linked families (counted by respondent and item
    rows) equal the plain pandas versions grouped on text keys, row for row."""
    import pandas as pd

    from hsp_eval import load_dataset
    from hsp_eval.indicators.topics import voice
    from hsp_eval.run.demo import DATA

    ds = load_dataset(DATA)
    answers = voice._answers(ds)
    frame = voice.scored_responses(ds)
    pd.testing.assert_frame_equal(answers.frame, frame)
    scales, rows = answers.scales()
    pd.testing.assert_frame_equal(scales, voice.respondent_scales(frame, ds["survey_items"]))
    assert (ds["survey_respondents"]["respondent_id"].to_numpy()[rows] == scales["respondent_id"].to_numpy()).all()
    pd.testing.assert_frame_equal(voice.linked_families(ds, answers), voice.linked_families(ds, frame))
    assert len(scales) > 1000 and scales["kept"].any() and not scales["kept"].all()


def test_integer_alpha_moments_equal_the_text_grouped_ones_on_the_demo():
    import numpy as np
    import pandas as pd

    from hsp_eval import load_dataset
    from hsp_eval.indicators.topics import voice
    from hsp_eval.run.demo import DATA

    answers = voice._answers(load_dataset(DATA))
    rows = np.flatnonzero(answers.frame["scale"].notna().to_numpy())
    long = answers.frame.take(rows).reset_index(drop=True).assign(unit=pd.factorize(answers.resp[rows])[0])
    keys = ["school_id"] + voice.ALPHA_KEYS
    for c in ["instrument", "role", "scale", "item_id"]:
        long[c] = long[c].astype("str")
    for got, want in zip(answers.alpha_moments(rows), voice.alpha_moments(long, keys)):
        order = list(want.columns[:-3])
        assert list(got.columns) == list(want.columns) and len(got) > 100
        pd.testing.assert_frame_equal(got.sort_values(order).reset_index(drop=True),
                                      want.sort_values(order).reset_index(drop=True))

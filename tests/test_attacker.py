"""Attack the engine's outputs the way a reader would (disclosure spec v2, "Proof").

Three kinds of test:

- the attacker itself finds a leak planted in a tiny hand-made table, for every relation it
  tries (these hold whatever the engine does);
- its knowledge is true: every relation it uses holds on an engine table where nothing is
  withheld;
- the real engine, on small hand-made datasets and on random small datasets (hypothesis),
  gives tables from which the attacker recovers nothing, in both regimes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import hsp_eval
from hsp_eval.indicators.stats import wilson
from hsp_eval.testing import load_csv_texts

sys.path.insert(0, str(Path(__file__).parent))
import attacker  # noqa: E402  (tests/ is not a package: pytest's importlib mode adds no path)

#: the key publication mode is given (disclosure v2: keyed random rounding)
KEY = bytes.fromhex("00" * 32)
#: (regime, threshold) of a school's own reports and of publication
SCHOOL, PUBLICATION = ("school", 5), ("publication", 6)
KEYS = ["level", "area_id", "year", "indicator", "group_type", "group"]


# ---------------------------------------------------------------------------------------------
# datasets from a few lines of description


def dataset_texts(schools: list[tuple[str, str]], families: list[dict], years=(2024,)) -> dict[str, str]:
    """CSV texts of a small valid dataset.

    ``schools``: (school_id, region). ``families``: dicts with ``school``, ``id``,
    ``children`` (a list of (year_level, ethnicity, target)) and optionally ``years`` (the
    years the family is enrolled, default all), ``came`` (attended the learning conference),
    ``fair`` (attended the celebration), ``contacts`` (a list of (initiated_by, purpose,
    response_received)) and ``portal`` (months with a login).
    """
    out = {"schools": "school_id,school_name,region,school_type\n" + "".join(
        f"{sid},Kura {sid},{region},Full Primary\n" for sid, region in schools)}
    enrol = ["year,school_id,student_id,family_id,year_level,ethnicity,target"]
    acts = ["activity_id,school_id,date,activity_type,mode,title"]
    att = ["activity_id,family_id,student_id,invited,attended"]
    con = ["contact_id,school_id,date,family_id,student_id,initiated_by,channel,purpose,response_received"]
    portal = ["school_id,family_id,month,logins"]
    for sid, _ in schools:
        for y in years:
            acts.append(f"C-{sid}-{y},{sid},{y}-03-07,learning_conference,in_person,Conferences")
            acts.append(f"F-{sid}-{y},{sid},{y}-06-20,celebration,in_person,Matariki")
    n_contact = 0
    for f in families:
        sid, fid = f["school"], f["id"]
        for y in f.get("years", years):
            kids = [f"{fid}-{k}" for k in range(len(f["children"]))]
            for kid, (level, eth, target) in zip(kids, f["children"]):
                enrol.append(f"{y},{sid},{kid},{fid},{level},{eth},{str(bool(target)).lower()}")
            if f.get("came"):
                att.append(f"C-{sid}-{y},{fid},{kids[0]},true,true")
            elif f.get("invited"):
                att.append(f"C-{sid}-{y},{fid},{kids[0]},true,false")
            if f.get("fair"):
                att.append(f"F-{sid}-{y},{fid},,,true")
            for who, purpose, replied in f.get("contacts", []):
                n_contact += 1
                reply = "" if replied is None or who == "family" else str(bool(replied)).lower()
                con.append(f"K{n_contact},{sid},{y}-05-0{1 + n_contact % 9},{fid},{kids[0]},{who},phone,"
                           f"{purpose},{reply}")
            for m in range(f.get("portal", 0)):
                portal.append(f"{sid},{fid},{y}-{m + 1:02d},{1 + m % 3}")
    out.update({"enrolments": "\n".join(enrol) + "\n", "activities": "\n".join(acts) + "\n",
                "attendance": "\n".join(att) + "\n", "contacts": "\n".join(con) + "\n",
                "portal_usage": "\n".join(portal) + "\n"})
    return out


def _families(school: str, prefix: str, ethnicities: list[str], rng_seed: int = 0) -> list[dict]:
    """One family per ethnicity given, with a child each, some coming, some contacted."""
    rng = np.random.default_rng(rng_seed)
    out = []
    for k, eth in enumerate(ethnicities):
        out.append({"school": school, "id": f"{prefix}{k:02d}",
                    "children": [(int(rng.integers(1, 9)), eth, bool(rng.random() < 0.3))],
                    "came": bool(rng.random() < 0.5), "fair": bool(rng.random() < 0.4),
                    "contacts": [("school", "learning", True)] * int(rng.integers(0, 3)),
                    "portal": int(rng.integers(0, 8))})
    return out


HAND_MADE = {
    # (a) a school of 7 families
    "seven_families": ([("0001", "Otago")],
                       _families("0001", "A", ["Māori", "Māori", "Māori", "European", "European",
                                               "Pacific", "Asian"], 1)),
    # (b) one ethnic group with exactly one family
    "one_pacific_family": ([("0001", "Otago")],
                           _families("0001", "B", ["European"] * 6 + ["Māori"] * 5 + ["Pacific"], 2)),
    # (c) a region with one school (the other school is in another region)
    "region_of_one_school": ([("0001", "Otago"), ("0002", "Auckland")],
                             _families("0001", "C", ["Māori"] * 4 + ["European"] * 5, 3)
                             + _families("0002", "D", ["Māori"] * 6 + ["European"] * 6, 4)),
    # (d) all but 2 families in one ethnicity: the rest of that group is small
    "small_rest": ([("0001", "Otago")],
                   _families("0001", "E", ["European"] * 12 + ["Asian", "Pacific"], 5)),
}


def _load(tmp_path, schools, families, years=(2024,)):
    return load_csv_texts(tmp_path, dataset_texts(schools, families, years))


#: the engine's tables of the last datasets attacked: id -> (dataset, {arguments: table}); each
#: regime's table is made from the same two computations, which are the slow part of an attack
_COMPUTED: dict[int, tuple] = {}


def _compute(ds, **kwargs) -> pd.DataFrame:
    """``hsp_eval.indicators.engine.compute(ds, **kwargs)``, computed once for the last two datasets."""
    held = _COMPUTED.get(id(ds))
    if held is None or held[0] is not ds:
        while len(_COMPUTED) >= 2:
            _COMPUTED.pop(next(iter(_COMPUTED)))
        held = _COMPUTED[id(ds)] = (ds, {})
    args = tuple(sorted(kwargs.items()))
    if args not in held[1]:
        held[1][args] = hsp_eval.indicators.engine.compute(ds, **kwargs)
    return held[1][args].copy()


def school_table(ds) -> pd.DataFrame:
    """Regime 1 as released: every school's own rows (exact counts, min_n 5), as the school reports
    show them. Region and national rows are released by publication only (disclosure spec v2:
    anything beyond the school), so a school-regime table's are not attacked here."""
    t = _compute(ds, min_n=5)
    return t[t["level"] == "school"].reset_index(drop=True)


def publication_table(ds) -> pd.DataFrame:
    """Regime 2: publication with keyed random rounding; column ``public`` marks the school rows
    that the school reports (regime 1, released with it) show exactly."""
    t = _compute(ds, publication=True, key=KEY)
    school = school_table(ds)
    shown = school.loc[~school["suppressed"], KEYS]
    t = t.merge(shown.assign(public=True), on=KEYS, how="left").assign(
        public=lambda d: d["public"].fillna(False).astype(bool))
    # a region's or the nation's row is public too when none of the school rows it sums is withheld
    # in the school reports (their exact counts add up to it)
    cell = ["year", "indicator", "group_type", "group"]
    region = ds["schools"].set_index("school_id")["region"].astype(str)
    parts = school.assign(region=school["area_id"].map(region), w=school["suppressed"].astype(bool))
    hidden = pd.concat([parts.groupby(["region"] + cell)["w"].any().reset_index().rename(columns={"region": "area_id"})
                        .assign(level="region"),
                        parts.groupby(cell)["w"].any().reset_index().assign(level="national", area_id="NZ")])
    t = t.merge(hidden, on=KEYS, how="left")
    t["public"] = t["public"] | (t["level"].ne("school") & t.pop("w").eq(False))
    return t


def release_table(ds) -> pd.DataFrame:
    """What a reader of one release holds: every school's rows as its reports show them (exact, regime 1)
    and the publication (rounded, regime 2) of the rest. Column ``regime`` says which; ``secret`` marks
    the cells the school reports withhold (regime 1's secrets, which publication must not give away)."""
    school = school_table(ds).assign(regime="school", secret=False)
    pub = _compute(ds, publication=True, key=KEY).assign(regime="publication", secret=False)
    shown = school[~school["suppressed"]]
    at_school = pub[pub["level"] == "school"].merge(shown[KEYS].assign(_shown=True), on=KEYS, how="left")
    at_school = at_school[at_school.pop("_shown").isna()]  # the exact row says more than the rounded one
    withheld = school.loc[school["suppressed"], KEYS].assign(_w=True)
    at_school = at_school.merge(withheld, on=KEYS, how="left")
    at_school["secret"] = at_school.pop("_w").fillna(False).astype(bool)
    return pd.concat([shown, at_school, pub[pub["level"] != "school"]], ignore_index=True)


def assert_nothing_recovered(ds, table: pd.DataFrame, regime: str, threshold: int) -> None:
    """Attack ``table`` (of dataset ``ds``); on a recovery, say what was learnt and the true count."""
    found = attacker.attack(table, ds["schools"], threshold, regime)
    assert found.attrs["infeasible"] == 0, "a relation the attacker uses is not true of this table"
    if not found.empty:
        found = found.assign(truth=_truth(found, hsp_eval.indicators.engine.compute(ds, min_n=0)))
    assert found.empty, (f"{regime}: {len(found)} recoveries "
                         f"({found['relation'].value_counts().to_dict()}), e.g.\n"
                         + found.head(12).to_string())


# ---------------------------------------------------------------------------------------------
# the attacker finds planted leaks (tiny hand-made tables)


def _t(rows, columns=("level", "area_id", "year", "indicator", "group_type", "group", "numerator",
                      "denominator", "people")) -> pd.DataFrame:
    """A published table from (keys..., numerator, denominator, people) rows; None is withheld."""
    t = pd.DataFrame(rows, columns=list(columns)).astype({"numerator": "float64", "denominator": "float64",
                                                          "people": "float64"})
    t["suppressed"] = t["denominator"].isna()
    with np.errstate(divide="ignore", invalid="ignore"):
        t["value"] = np.where(t["numerator"].notna(), t["numerator"] / t["denominator"], np.nan)
    lo, hi = wilson(t["numerator"].fillna(0), t["denominator"].fillna(0))
    t["ci_low"], t["ci_high"] = np.where(t["suppressed"], np.nan, lo), np.where(t["suppressed"], np.nan, hi)
    return t


ONE_SCHOOL = pd.DataFrame({"school_id": ["A"], "region": ["Otago"]})


def _relations(found: pd.DataFrame) -> set:
    return set(found["relation"])


def test_group_sum_finds_the_lone_withheld_group():
    t = _t([("school", "A", 2024, "reach", "all", "all", 9, 30, 30),
            ("school", "A", 2024, "reach", "ethnicity_prioritised", "Māori", 4, 12, 12),
            ("school", "A", 2024, "reach", "ethnicity_prioritised", "Pacific", None, None, None),
            ("school", "A", 2024, "reach", "ethnicity_prioritised", "European", 4, 15, 15)])
    found = attacker.attack(t, ONE_SCHOOL, 5, "school")
    got = found.set_index("quantity")
    assert set(found["relation"]) == {"group_sum"}
    assert got.loc["denominator", ["bounds_low", "bounds_high"]].tolist() == [3, 3]
    assert got.loc["numerator", ["bounds_low", "bounds_high"]].tolist() == [1, 1]


def test_group_sum_with_two_withheld_groups_finds_nothing():
    t = _t([("school", "A", 2024, "reach", "all", "all", 9, 30, 30),
            ("school", "A", 2024, "reach", "ethnicity_prioritised", "Māori", None, None, None),
            ("school", "A", 2024, "reach", "ethnicity_prioritised", "Pacific", None, None, None),
            ("school", "A", 2024, "reach", "ethnicity_prioritised", "European", 4, 15, 15)])
    assert attacker.attack(t, ONE_SCHOOL, 5, "school").empty


def test_group_sum_in_publication_allows_for_the_rounding():
    # all 36 (34..38) and the shown group 30 (28..32): the withheld group has 2..10 families,
    # 0..7 reached: nothing proven (an exact subtraction would say 6 families, 3 reached)
    t = _t([("region", "Otago", 2024, "reach", "all", "all", 12, 36, 36),
            ("region", "Otago", 2024, "reach", "target", "target", None, None, None),
            ("region", "Otago", 2024, "reach", "target", "not_target", 9, 30, 30)])
    t["value"], t["ci_low"], t["ci_high"] = (t[c].round(3) for c in ("value", "ci_low", "ci_high"))
    assert attacker.attack(t, ONE_SCHOOL, 6, "publication").empty
    # the same counts exact (regime 1) pin it
    found = attacker.attack(t, ONE_SCHOOL, 6, "school")
    assert set(found["relation"]) == {"group_sum"} and set(found["bounds_low"]) == {3, 6}


def test_level_sum_finds_the_school_of_a_one_school_region():
    schools = pd.DataFrame({"school_id": ["A", "B"], "region": ["Otago", "Auckland"]})
    t = _t([("school", "A", 2024, "reach", "all", "all", None, None, None),
            ("school", "B", 2024, "reach", "all", "all", 5, 20, 20),
            ("region", "Otago", 2024, "reach", "all", "all", 2, 4, 4),
            ("region", "Auckland", 2024, "reach", "all", "all", 5, 20, 20)])
    found = attacker.attack(t, schools, 5, "school")
    lvl = found[found["relation"] == "level_sum"]
    assert set(lvl["area_id"]) == {"A"}
    assert lvl.set_index("quantity").loc["numerator", "bounds_low"] == 2
    assert (found["relation"] == "small_shown").any()  # the region row itself shows 4 people


def test_level_sum_region_to_nation():
    schools = pd.DataFrame({"school_id": ["A", "B"], "region": ["Otago", "Auckland"]})
    t = _t([("region", "Otago", 2024, "contact_reach", "all", "all", None, None, None),
            ("region", "Auckland", 2024, "contact_reach", "all", "all", 9, 20, 20),
            ("national", "NZ", 2024, "contact_reach", "all", "all", 12, 27, 27)])
    found = attacker.attack(t, schools, 5, "school")
    assert set(found["relation"]) == {"level_sum"}
    assert set(found["bounds_low"]) == {3, 7}


def test_back_out_finds_the_counts_behind_an_unrounded_value():
    # published 3/6, but the value 0.4286 is 3/7 written to 4 decimals: the true counts are 3 and 7
    t = _t([("region", "Otago", 2024, "reach", "all", "all", 3, 6, 6)])
    t["value"] = 0.4286
    lo, hi = wilson([3], [7])
    t["ci_low"], t["ci_high"] = round(float(lo[0]), 4), round(float(hi[0]), 4)
    found = attacker.attack(t, ONE_SCHOOL, 6, "publication")
    back = found[found["relation"] == "back_out"].set_index("quantity")
    assert back.loc["numerator", "bounds_low"] == 3 and back.loc["denominator", "bounds_low"] == 7


def test_back_out_finds_nothing_when_values_come_from_the_published_counts():
    t = _t([("region", "Otago", 2024, "reach", "all", "all", 3, 9, 9),
            ("region", "Otago", 2024, "reach", "target", "target", 0, 6, 6)])
    t["value"], t["ci_low"], t["ci_high"] = (t[c].round(3) for c in ("value", "ci_low", "ci_high"))
    found = attacker.attack(t, ONE_SCHOOL, 6, "publication")
    assert not (found["relation"] == "back_out").any()
    assert found.attrs["tried"]["back_out"] == 2


def test_overlap_rest_finds_a_small_rest():
    # 14 families, 12 of them with a European child: the rest (2) is shown by subtraction
    t = _t([("school", "A", 2024, "reach", "all", "all", 7, 14, 14),
            ("school", "A", 2024, "reach", "ethnicity", "European", 6, 12, 12),
            ("school", "A", 2024, "reach_gap_vs_rest", "ethnicity", "European", 6, 12, 12)])
    found = attacker.attack(t, ONE_SCHOOL, 5, "school")
    rest = found[found["relation"] == "overlap_rest"]
    assert set(rest["quantity"]) == {"rest_denominator", "rest_people"}
    assert set(rest["bounds_low"]) == {2}


def test_overlap_rest_ignores_a_large_rest():
    t = _t([("school", "A", 2024, "reach", "all", "all", 7, 20, 20),
            ("school", "A", 2024, "reach", "ethnicity", "European", 6, 12, 12)])
    assert attacker.attack(t, ONE_SCHOOL, 5, "school").empty


def test_related_indicator_shared_denominator():
    # reach: the 3 Pacific families withheld, the 30 Māori families withheld as well so that the sum
    # does not give them away; but contact_reach over the same families shows the Māori families
    t = _t([("school", "A", 2024, "reach", "all", "all", 20, 40, 40),
            ("school", "A", 2024, "reach", "ethnicity_prioritised", "Pacific", None, None, None),
            ("school", "A", 2024, "reach", "ethnicity_prioritised", "Māori", None, None, None),
            ("school", "A", 2024, "reach", "ethnicity_prioritised", "European", 5, 7, 7),
            ("school", "A", 2024, "contact_reach", "ethnicity_prioritised", "Māori", 10, 30, 30)])
    found = attacker.attack(t, ONE_SCHOOL, 5, "school")
    rel = found[(found["relation"] == "related_indicator") & (found["indicator"] == "reach")]
    assert set(rel["group"]) == {"Pacific"}  # the Māori count is shown (in contact_reach): not a recovery
    assert set(rel["quantity"]) == {"denominator", "people"} and set(rel["bounds_low"]) == {3}


def test_related_indicator_accelerated_over_measures_and_codesign():
    t = _t([("school", "A", 2024, "accelerated_rate", "measure", "reading", 3, 8, 8),
            ("school", "A", 2024, "accelerated_rate", "measure", "maths", 2, 7, 7),
            ("school", "A", 2024, "accelerated_by_codesign", "codesign", "codesigned", 4, 9, 6),
            ("school", "A", 2024, "accelerated_by_codesign", "codesign", "not_codesigned", None, None, None)])
    found = attacker.attack(t, ONE_SCHOOL, 5, "school").set_index("quantity")
    assert found.loc["numerator", ["relation", "bounds_low", "bounds_high"]].tolist() == ["related_indicator", 1, 1]
    assert found.loc["denominator", ["bounds_low", "bounds_high"]].tolist() == [6, 6]


def test_related_indicator_self_review_gap_pins_the_withheld_rating():
    t = _t([("school", "A", 2024, "self_review_rating", "dimension", "time:leaders", None, 6, 6),
            ("school", "A", 2024, "self_review_rating", "dimension", "time:whanau", None, None, None),
            ("school", "A", 2024, "self_review_gap", "dimension", "time", None, 3, 3)])
    t.loc[0, "value"], t.loc[2, "value"] = 3.5, 1.25
    t.loc[2, "suppressed"] = False
    found = attacker.attack(t, ONE_SCHOOL, 5, "school")
    pin = found[(found["quantity"] == "value")]
    assert pin["bounds_low"].tolist() == [2.25]
    # the gap row's n (shown) is the whānau ratings' n: a count the table shows, found as small there
    assert not ((found["quantity"] == "denominator") & (found["group"] == "time:whanau")).any()
    assert ((found["relation"] == "small_shown") & (found["indicator"] == "self_review_gap")).any()


def test_related_indicator_representation_gives_the_group_size():
    # 10 respondents' families of 40; 5 of them Māori; representation 5/10 - d/40 = 0.3 -> d = 8
    t = _t([("school", "A", 2024, "survey_response_rate", "all", "all", 10, 40, 40),
            ("school", "A", 2024, "survey_response_rate", "ethnicity", "Māori", None, None, None),
            ("school", "A", 2024, "survey_response_rate", "ethnicity", "European", 6, 33, 33),
            ("school", "A", 2024, "respondent_representation", "ethnicity", "Māori", 5, 10, 5)])
    t.loc[3, "value"] = 5 / 10 - 8 / 40
    found = attacker.attack(t, ONE_SCHOOL, 5, "school").set_index("quantity")
    assert found.loc["denominator", ["relation", "bounds_low"]].tolist() == ["related_indicator", 8]
    assert "numerator" not in found.index  # the Māori respondents are shown (in the representation row)


def test_year_relations_pin_the_returning_families():
    # 2023: 5 families. 2024: retention over 5 families (reached in 2023 and enrolled in 2024);
    # returning families are at most 2023's 5 and at least retention's 5: exactly 5
    t = _t([("school", "A", 2023, "reach", "all", "all", 5, 5, 5),
            ("school", "A", 2024, "reach", "all", "all", None, None, None),
            ("school", "A", 2024, "reach", "new_family", "new", None, None, None),
            ("school", "A", 2024, "reach", "new_family", "returning", None, None, None),
            ("school", "A", 2024, "retention", "all", "all", 4, 5, 5)])
    found = attacker.attack(t, ONE_SCHOOL, 5, "school")
    ret = found[(found["group"] == "returning") & (found["quantity"] == "denominator")]
    assert ret[["relation", "bounds_low", "bounds_high"]].values.tolist() == [["year", 5, 5]]


def test_small_shown_regime_1_and_publication():
    t = _t([("school", "A", 2024, "two_way_share", "all", "all", 2, 9, 3)])
    found = attacker.attack(t, ONE_SCHOOL, 5, "school")
    assert found[["relation", "quantity"]].values.tolist() == [["small_shown", "people"]]
    p = _t([("region", "Otago", 2024, "reach", "all", "all", 6, 6, 6),
            ("region", "Otago", 2024, "contact_reach", "all", "all", 3, 9, 9)])
    p["value"], p["ci_low"], p["ci_high"] = (p[c].round(3) for c in ("value", "ci_low", "ci_high"))
    found = attacker.attack(p, ONE_SCHOOL, 6, "publication")
    got = set(zip(found["indicator"], found["quantity"]))
    assert ("reach", "value") in got  # 100% of at most 8 people
    assert ("contact_reach", "numerator") in got  # a published 3 is a true 1..5
    assert (found["relation"] == "small_shown").all()


def test_unperturbed_counts_are_found_in_publication():
    t = _t([("region", "Otago", 2024, "reach", "all", "all", 9, 31, 31)])
    t["value"], t["ci_low"], t["ci_high"] = (t[c].round(3) for c in ("value", "ci_low", "ci_high"))
    found = attacker.attack(t, ONE_SCHOOL, 6, "publication")
    assert set(found["relation"]) == {"unperturbed"} and set(found["quantity"]) == {"denominator", "people"}


def test_attacker_logs_what_it_tried():
    t = _t([("school", "A", 2024, "reach", "all", "all", 9, 30, 30),
            ("school", "A", 2024, "reach", "target", "target", None, None, None),
            ("school", "A", 2024, "reach", "target", "not_target", None, None, None)])
    found = attacker.attack(t, ONE_SCHOOL, 5, "school")
    assert found.empty
    tried = found.attrs["tried"]
    assert tried["small_shown"] == 3 and tried["group_sum"] == 3 and tried["lp_targets"] == 6
    assert list(found.columns) == attacker.RESULT_COLUMNS


def test_attacker_rejects_an_unknown_regime():
    with pytest.raises(ValueError, match="regime"):
        attacker.attack(_t([("school", "A", 2024, "reach", "all", "all", 9, 30, 30)]), ONE_SCHOOL, 5, "both")


# ---------------------------------------------------------------------------------------------
# the attacker's knowledge is true of the engine


@pytest.mark.parametrize("name", ["good_every_table", "region_of_one_school"])
def test_relations_hold_on_an_unsuppressed_engine_table(tmp_path, name):
    if name == "good_every_table":
        ds = hsp_eval.load_dataset(Path(__file__).parent / "bad_inputs" / "40_good_every_table")
    else:
        schools, families = HAND_MADE[name]
        ds = _load(tmp_path, schools, families, years=(2023, 2024))
    table = hsp_eval.indicators.engine.compute(ds, min_n=0)
    assert not table["suppressed"].any()
    bad = attacker.check_relations(table, ds["schools"])
    assert bad.empty, bad.head(20).to_string()
    checked = bad.attrs["checked"]
    assert {"group_sum", "overlap", "level_sum", "related", "row"} <= set(checked), checked
    if name == "region_of_one_school":  # two years: the year relations too
        assert checked.get("year", 0) > 0


def test_a_region_of_one_school_publishes_that_schools_counts(tmp_path):
    # the same records (the school's families, contacts...) get one published count at both levels,
    # and counts of the same records in two indicators agree (the contacts of two_way_share and
    # learning_contact_share; the families of reach and of contact_reach)
    schools, families = HAND_MADE["region_of_one_school"]
    ds = _load(tmp_path, schools, families, years=(2023, 2024))
    t = hsp_eval.indicators.engine.compute(ds, publication=True, key=KEY)
    keys = ["year", "indicator", "group_type", "group"]
    school = t[(t["level"] == "school") & (t["area_id"] == "0001")].set_index(keys)
    region = t[(t["level"] == "region") & (t["area_id"] == "Otago")].set_index(keys)
    assert len(school) and school.index.equals(region.index)
    shown = ~school["suppressed"]
    assert shown.any()
    for c in ("numerator", "denominator", "people", "value"):
        pd.testing.assert_series_equal(school.loc[shown, c], region.loc[shown, c], check_names=False)
    cell = t.set_index(["level", "area_id", "year", "group_type", "group"])
    for a, b, c in (("two_way_share", "learning_contact_share", "denominator"), ("reach", "contact_reach", "denominator")):
        x, y = cell[cell["indicator"] == a][c].dropna().align(cell[cell["indicator"] == b][c].dropna(), join="inner")
        assert len(x) and (x == y).all(), (a, b)


def test_check_relations_finds_a_false_relation():
    schools = pd.DataFrame({"school_id": ["A", "B"], "region": ["Otago", "Otago"]})
    t = _t([("school", "A", 2024, "reach", "all", "all", 5, 20, 20),
            ("school", "B", 2024, "reach", "all", "all", 5, 20, 20),
            ("region", "Otago", 2024, "reach", "all", "all", 10, 41, 41)])
    bad = attacker.check_relations(t, schools)
    assert set(bad["kind"]) == {"level_sum"} and set(bad["residual"]) == {1.0}



def _truth(found: pd.DataFrame, full: pd.DataFrame) -> list[float]:
    """The true value of each recovery's quantity, from the table with nothing withheld (NaN when
    the table has no such column)."""
    keys = attacker.KEYS
    f = full.set_index(keys)
    out = []
    for row in found.itertuples(index=False):
        key = tuple(getattr(row, k) for k in keys)
        q = row.quantity
        if q.startswith("rest_"):
            all_key = key[:4] + ("all", "all")
            out.append(float(f.loc[all_key, q[5:]]) - float(f.loc[key, q[5:]]) if q[5:] in f else np.nan)
        else:
            out.append(float(f.loc[key, q]) if q in f else np.nan)
    return out


@pytest.mark.parametrize("regime", ["school", "publication"])
@pytest.mark.parametrize("name", ["good_every_table", "region_of_one_school", "small_rest"])
def test_every_recovery_is_true(tmp_path, name, regime):
    """Whatever the engine leaks, what the attacker claims holds of the real counts (on the
    engine of the day: with the old engine it finds leaks, and each must be true)."""
    if name == "good_every_table":
        ds = hsp_eval.load_dataset(Path(__file__).parent / "bad_inputs" / "40_good_every_table")
    else:
        ds = _load(tmp_path, *HAND_MADE[name], years=(2023, 2024))
    full = hsp_eval.indicators.engine.compute(ds, min_n=0)
    if regime == "school":
        found = attacker.attack(school_table(ds), ds["schools"], 5, "school")
    else:
        found = attacker.attack(publication_table(ds), ds["schools"], 6, "publication")
    counts = found[found["quantity"] != "value"]
    truth = np.array(_truth(counts, full))
    known = ~np.isnan(truth)
    low, high = counts["bounds_low"].to_numpy(dtype=float), counts["bounds_high"].to_numpy(dtype=float)
    wrong = counts[known & ((truth < low - 1e-9) | (truth > high + 1e-9))]
    assert wrong.empty, wrong.assign(truth=truth[known & ((truth < low - 1e-9) | (truth > high + 1e-9))]).to_string()
    values = found[(found["quantity"] == "value") & (found["relation"] == "related_indicator")]
    if len(values):
        tv = np.array(_truth(values, full))
        assert np.allclose(tv, values["bounds_low"].to_numpy(dtype=float), atol=0.011)


# ---------------------------------------------------------------------------------------------
# the engine against the attacker: hand-made datasets


@pytest.mark.parametrize("name", sorted(HAND_MADE))
def test_engine_school_regime_leaks_nothing(tmp_path, name):
    schools, families = HAND_MADE[name]
    ds = _load(tmp_path, schools, families)
    assert_nothing_recovered(ds, school_table(ds), *SCHOOL)


@pytest.mark.parametrize("name", sorted(HAND_MADE))
def test_engine_publication_leaks_nothing(tmp_path, name):
    schools, families = HAND_MADE[name]
    ds = _load(tmp_path, schools, families)
    assert_nothing_recovered(ds, publication_table(ds), *PUBLICATION)


@pytest.mark.parametrize("name", sorted(HAND_MADE))
def test_engine_release_leaks_nothing(tmp_path, name):
    """Every school report (exact) and the publication (rounded) together give no school report's
    withheld cell away (a region's published count minus its other schools' exact counts)."""
    schools, families = HAND_MADE[name]
    ds = _load(tmp_path, schools, families)
    assert_nothing_recovered(ds, release_table(ds), "release", 5)


@pytest.fixture(scope="module")
def demo_dataset():
    """The demo, loaded once (both readings attack tables made from the same two computations)."""
    return hsp_eval.load_dataset(Path(__file__).parents[1] / "data" / "demo")


@pytest.mark.parametrize("reading", ["publication", "release"])
def test_engine_leaks_nothing_on_the_demo(demo_dataset, reading):
    """The demo (24 schools, 4 years): the publication, and every school report with it (the release;
    it holds more than the school reports alone, so covers them)."""
    ds = demo_dataset
    if reading == "publication":
        assert_nothing_recovered(ds, publication_table(ds), *PUBLICATION)
    else:
        assert_nothing_recovered(ds, release_table(ds), "release", 5)


def test_a_region_whose_schools_all_ran_the_survey_counts_the_same_families_as_its_reach():
    """Survey response rate over a region counts the families of surveyed schools: when every school
    of the region ran it, the same families as the region's reach (an identity the attacker must know,
    or it takes the withheld rate's denominator for a secret though the reach row shows it)."""
    schools = pd.DataFrame({"school_id": ["A", "B", "C"], "region": ["Otago", "Otago", "Nelson"]})

    def notes(surveyed):
        rows = [("region", "Otago", 2024, "reach", "all", "all", 20, 30, 30),
                ("region", "Otago", 2024, "survey_response_rate", "all", "all", None, None, None)]
        rows += [("school", sid, 2024, "survey_response_rate", "all", "all", 5, 15, 15) for sid in surveyed]
        s = attacker.build_system(attacker.read_table(_t(rows))[0], True, schools, "school")
        return s.rel_note.count("surveyed area: all families")

    assert notes(["A", "B"]) == 2             # denominator and people of the region's row
    assert notes(["A"]) == 0                  # B did not run it: the region counts A's families only


def test_release_attack_finds_a_school_cell_under_a_published_region():
    # school A withholds its 3 Pacific families (2 reached); school B shows 18 of 40 exactly; the
    # region's published 21 of 42 stand for 19..23 of 40..44: A has 1..5 reached, so 1..4 families
    rows = [("school", "A", 2024, "reach", "ethnicity", "Pacific", None, None, None),
            ("school", "B", 2024, "reach", "ethnicity", "Pacific", 18, 40, 40),
            ("region", "Otago", 2024, "reach", "ethnicity", "Pacific", 21, 42, 42)]
    t = _t(rows).assign(regime=["publication", "school", "publication"], secret=[True, False, False])
    found = attacker.attack(t, pd.DataFrame({"school_id": ["A", "B"], "region": ["Otago", "Otago"]}), 5, "release")
    hit = found[(found["area_id"] == "A") & (found["quantity"] == "denominator")]
    assert hit[["relation", "bounds_low", "bounds_high"]].values.tolist() == [["level_sum", 1, 4]]


# ---------------------------------------------------------------------------------------------
# the engine against the attacker: random small datasets

ETHNIC = ["European", "Māori", "Pacific", "Asian", "MELAA", "Other", "Not stated"]


@st.composite
def small_datasets(draw):
    """1-3 schools in 1-2 regions, 3-25 families each, 2 years, random ethnicities (some
    multi-ethnic), children, targets, attendance, contacts and portal use (a seeded draw)."""
    n_schools = draw(st.integers(1, 3))
    n_regions = draw(st.integers(1, min(2, n_schools)))
    sizes = [draw(st.integers(3, 25)) for _ in range(n_schools)]
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    regions = ["Otago", "Auckland"][:n_regions]
    schools = [(f"{k + 1:04d}", regions[k % n_regions]) for k in range(n_schools)]
    families = []
    weights = rng.dirichlet(np.ones(len(ETHNIC)) * 0.7)
    for (sid, _), size in zip(schools, sizes):
        for f in range(size):
            kids = []
            for _ in range(int(rng.choice([1, 1, 1, 2, 3]))):
                eth = ETHNIC[int(rng.choice(len(ETHNIC), p=weights))]
                if eth != "Not stated" and rng.random() < 0.2:  # multi-ethnic
                    other = ETHNIC[int(rng.integers(0, 6))]
                    eth = ";".join(sorted({eth, other}))
                kids.append((int(rng.integers(0, 9)), eth, bool(rng.random() < 0.25)))
            both = rng.random() < 0.7
            families.append({
                "school": sid, "id": f"F{sid}-{f:02d}", "children": kids,
                "years": (2023, 2024) if both else ((2023,) if rng.random() < 0.5 else (2024,)),
                "came": bool(rng.random() < 0.5), "invited": bool(rng.random() < 0.5),
                "fair": bool(rng.random() < 0.3),
                "contacts": [(str(rng.choice(["school", "family"])),
                              str(rng.choice(["learning", "good_news", "behaviour", "wellbeing"])),
                              bool(rng.random() < 0.6)) for _ in range(int(rng.integers(0, 4)))],
                "portal": int(rng.choice([0, 0, 1, 3, 7]))})
    return schools, families


@settings(max_examples=25, deadline=None, database=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=small_datasets())
def test_engine_leaks_nothing_on_random_small_datasets(tmp_path_factory, data):
    schools, families = data
    ds = _load(tmp_path_factory.mktemp("random"), schools, families, years=(2023, 2024))
    assert_nothing_recovered(ds, school_table(ds), *SCHOOL)
    assert_nothing_recovered(ds, publication_table(ds), *PUBLICATION)
    assert_nothing_recovered(ds, release_table(ds), "release", 5)

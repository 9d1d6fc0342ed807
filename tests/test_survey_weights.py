"""hsp_eval.external.survey_weights: hand-worked examples and an independent computation with plain loops."""

import math

import numpy as np
import pandas as pd
import pytest

from hsp_eval.external import survey_weights as sw


@pytest.fixture
def tiny():
    # five schools, two domains, three JK1 replicates (each school dropped in one replicate, others x 3/2)
    return pd.DataFrame({
        "level": ["p", "p", "p", "h", "h"],
        "item": [1, 2, 1, 1, -1],           # -1: valid skip, left out
        "w": [10.0, 20.0, 30.0, 40.0, 50.0],
        "r1": [0.0, 30.0, 45.0, 60.0, 75.0],
        "r2": [15.0, 0.0, 45.0, 0.0, 75.0],
        "r3": [15.0, 30.0, 0.0, 60.0, 0.0],
    })


def test_hand_worked_overall(tiny):
    # used rows: the first four (the -1 is excluded); yes = rows 1, 3, 4
    # full: (10 + 30 + 40) / (10 + 20 + 30 + 40) = 0.8
    # r1: (0 + 45 + 60) / (0 + 30 + 45 + 60) = 105 / 135 = 7/9
    # r2: (15 + 45 + 0) / (15 + 0 + 45 + 0) = 1
    # r3: (15 + 0 + 60) / (15 + 30 + 0 + 60) = 75 / 105 = 5/7
    # JK1, R = 3: v = 2/3 * ((7/9 - 0.8)^2 + (1 - 0.8)^2 + (5/7 - 0.8)^2)
    r = sw.weighted_proportion(tiny, "item", "w", ["r1", "r2", "r3"], method="JK1", exclude=[-1])
    v = 2 / 3 * ((7 / 9 - 0.8) ** 2 + 0.2 ** 2 + (5 / 7 - 0.8) ** 2)
    row = r.iloc[0]
    assert row["n"] == 4 and row["n_yes"] == 3 and row["weighted_n"] == 100
    assert row["estimate"] == pytest.approx(0.8)
    assert row["se"] == pytest.approx(math.sqrt(v))
    t2 = 4.302653  # t(0.975) with R - 1 = 2 degrees of freedom (the replicates')
    assert row["ci_low"] == pytest.approx(max(0.0, 0.8 - t2 * math.sqrt(v)), abs=1e-6)
    assert row["ci_high"] == pytest.approx(min(1.0, 0.8 + t2 * math.sqrt(v)), abs=1e-6)


def test_hand_worked_domains(tiny):
    r = sw.weighted_proportion(tiny, "item", "w", ["r1", "r2", "r3"], by="level", method="JK1", exclude=[-1]).set_index("level")
    # domain h: only the school with weight 40 answers (yes): 1 in every replicate where it has weight; r2 has 0/0
    assert r.loc["h", "n"] == 1 and r.loc["h", "estimate"] == 1.0
    assert np.isnan(r.loc["h", "se"])  # a replicate with no weight in the domain: no variance, not a made-up 0
    # domain p: full (10 + 30) / 60 = 2/3; r1 45/75 = 0.6; r2 60/60 = 1; r3 15/45 = 1/3
    v = 2 / 3 * ((0.6 - 2 / 3) ** 2 + (1 - 2 / 3) ** 2 + (1 / 3 - 2 / 3) ** 2)
    assert r.loc["p", "estimate"] == pytest.approx(2 / 3)
    assert r.loc["p", "se"] == pytest.approx(math.sqrt(v))


def _independent(values, yes, w, reps, c):
    """The same estimator written out with Python loops, row by row."""
    def share(weights):
        num = sum(wi for vi, wi in zip(values, weights) if vi == yes)
        den = sum(weights)
        return num / den
    full = share(w)
    var = c * sum((share(rw) - full) ** 2 for rw in reps)
    return full, math.sqrt(var)


@pytest.mark.parametrize("method,c", [("JK1", 19 / 20), ("JK2", 1.0), ("BRR", 1 / 20), ("Fay", 1 / (20 * 0.5 ** 2))])
def test_against_an_independent_computation(method, c):
    rng = np.random.default_rng(3)
    n, R = 300, 20
    d = pd.DataFrame({"x": rng.choice([1, 2], n, p=[0.4, 0.6]), "g": rng.choice(["a", "b", "c"], n),
                      "w": rng.uniform(1, 50, n)})
    for r in range(R):
        d[f"rep{r + 1}"] = d["w"] * rng.choice([0.0, 1.05, 1.1], n, p=[0.05, 0.5, 0.45])
    reps = [f"rep{r + 1}" for r in range(R)]
    got = sw.weighted_proportion(d, "x", "w", reps, by="g", method=method, fay_rho=0.5).set_index("g")
    for g, sub in d.groupby("g"):
        est, se = _independent(sub["x"].tolist(), 1, sub["w"].tolist(), [sub[c_].tolist() for c_ in reps], c)
        assert got.loc[g, "estimate"] == pytest.approx(est, rel=1e-12)
        assert got.loc[g, "se"] == pytest.approx(se, rel=1e-10)
        assert got.loc[g, "n"] == len(sub)


def test_weighted_mean_matches_numpy_average():
    rng = np.random.default_rng(5)
    d = pd.DataFrame({"x": rng.normal(10, 2, 50), "w": rng.uniform(1, 3, 50)})
    for r in range(5):
        d[f"r{r}"] = d["w"] * rng.uniform(0.5, 1.5, 50)
    reps = [f"r{r}" for r in range(5)]
    got = sw.weighted_mean(d, "x", "w", reps, method="JK1").iloc[0]
    full = np.average(d["x"], weights=d["w"])
    rep_est = [np.average(d["x"], weights=d[c]) for c in reps]
    assert got["estimate"] == pytest.approx(full)
    assert got["se"] == pytest.approx(math.sqrt(4 / 5 * sum((e - full) ** 2 for e in rep_est)))


def test_multiplier_and_errors(tiny):
    assert sw.multiplier("JK1", 50) == pytest.approx(0.98)
    with pytest.raises(ValueError, match="unknown replication method"):
        sw.multiplier("jackknife", 50)
    with pytest.raises(ValueError, match="fay_rho"):
        sw.multiplier("Fay", 80)
    with pytest.raises(ValueError, match="no column 'nope'"):
        sw.weighted_proportion(tiny, "nope", "w", ["r1", "r2", "r3"], method="JK1")
    bad = tiny.copy()
    bad.loc[2, "r2"] = -1.0
    with pytest.raises(ValueError, match=r"row 2, column 'r2': weight -1.0 is missing or negative"):
        sw.weighted_proportion(bad, "item", "w", ["r1", "r2", "r3"], method="JK1")


def test_check_jk1(tiny):
    info = sw.check_jk1(tiny, "w", ["r1", "r2", "r3"])
    assert info["zero_once"] == 1.0 and info["median_ratio"] == pytest.approx(1.5) and info["jk1"]
    brr = pd.DataFrame({"w": [1.0] * 4, "r1": [0, 2, 0, 2.0], "r2": [2, 0, 2, 0.0], "r3": [0, 0, 2, 2.0]})
    assert not sw.check_jk1(brr, "w", ["r1", "r2", "r3"])["jk1"]


def test_cv_flags():
    assert sw._flag(np.array([0.1, 0.35, 0.6, np.nan])) == [
        "", "interpret with caution (CV 30-50%)", "unreliable (CV >= 50%)", ""]


def test_categorical_domains_keep_their_order(tiny):
    d = tiny.assign(level=pd.Categorical(tiny["level"], categories=["p", "h", "unused"], ordered=True))
    r = sw.weighted_proportion(d, "item", "w", ["r1", "r2", "r3"], by="level", method="JK1", exclude=[-1])
    assert r["level"].astype(str).tolist() == ["p", "h"]  # category order, unobserved categories left out
    assert r["estimate"].tolist()[0] == pytest.approx(2 / 3)


def test_method_must_be_named(tiny):
    with pytest.raises(TypeError, match="method"):
        sw.weighted_proportion(tiny, "item", "w", ["r1", "r2", "r3"])

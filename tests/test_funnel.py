"""Funnel limits against hand-worked values, bands, and no ranking."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hsp_eval.reports.funnel import BANDS, Z95, Z998, band_counts, funnel_limits, funnel_table, pooled_rate


def test_z_values_are_the_normal_quantiles():
    from scipy.stats import norm

    assert Z95 == pytest.approx(norm.ppf(0.975), abs=1e-6)
    assert Z998 == pytest.approx(norm.ppf(0.999), abs=1e-6)


def test_limits_hand_worked():
    # p0 = 0.7, n = 84: sd = sqrt(0.7 * 0.3 / 84) = sqrt(0.0025) = 0.05
    lo, hi = funnel_limits(0.7, 84, Z95)
    assert float(lo) == pytest.approx(0.7 - 1.959964 * 0.05, abs=1e-12)
    assert float(hi) == pytest.approx(0.6 + 0.1 + 0.0979982, abs=1e-9)
    lo, hi = funnel_limits(0.7, 84, Z998)
    assert float(lo) == pytest.approx(0.5454884, abs=1e-7)
    assert float(hi) == pytest.approx(0.8545116, abs=1e-7)


def test_limits_clip_and_blank():
    lo, hi = funnel_limits(0.95, [10, 0, np.nan], Z998)
    assert hi[0] == 1.0 and lo[0] == pytest.approx(0.95 - 3.090232 * math.sqrt(0.95 * 0.05 / 10))
    assert np.isnan(lo[1]) and np.isnan(hi[2])


def test_limits_narrow_with_n():
    lo, hi = funnel_limits(0.5, [10, 100, 1000], Z95)
    assert np.all(np.diff(hi - lo) < 0)


def test_table_bands_hand_worked():
    # target 0.5 given; n = 100: sd 0.05; 95% limits 0.402..0.598, 99.8% limits 0.3455..0.6545
    rows = pd.DataFrame({"area_id": ["E", "D", "C", "B", "A", "F"], "year": 2024,
                         "numerator": [70.0, 62.0, 50.0, 38.0, 30.0, np.nan],
                         "denominator": [100.0] * 6, "suppressed": [False] * 5 + [True]})
    t = funnel_table(rows, target=0.5)
    assert t["area_id"].tolist() == ["A", "B", "C", "D", "E", "F"]  # by id, not by rate
    assert dict(zip(t["area_id"], t["band"])) == {
        "E": "above 99.8% limit", "D": "above 95% limit", "C": "within 95% limits",
        "B": "below 95% limit", "A": "below 99.8% limit", "F": "withheld"}
    assert t.loc[t["area_id"] == "C", "lo95"].item() == pytest.approx(0.5 - 1.959964 * 0.05)
    assert "rank" not in " ".join(t.columns)


def test_target_defaults_to_pooled_rate_per_year():
    rows = pd.DataFrame({"area_id": ["A", "B", "A", "B"], "year": [2023, 2023, 2024, 2024],
                         "numerator": [10.0, 30.0, 5.0, 5.0], "denominator": [50.0, 50.0, 10.0, 10.0]})
    t = funnel_table(rows)
    assert t.groupby("year")["target"].first().tolist() == [0.4, 0.5]
    assert pooled_rate(rows) == pytest.approx(50 / 120)


def test_band_counts_lists_every_band():
    t = funnel_table(pd.DataFrame({"area_id": ["A"], "year": [2024], "numerator": [5.0], "denominator": [10.0]}))
    c = band_counts(t)
    assert c["band"].tolist() == list(BANDS) and c["schools"].sum() == 1


def test_bad_input_names_column():
    with pytest.raises(ValueError, match="denominator"):
        funnel_table(pd.DataFrame({"area_id": ["A"], "numerator": [1.0]}))
    with pytest.raises(ValueError, match="row 0, column denominator"):
        funnel_table(pd.DataFrame({"area_id": ["A"], "numerator": [1.0], "denominator": [-3.0]}))


def test_overdispersion_hand_worked():
    from hsp_eval.reports.funnel import overdispersion, winsorised_z

    # p0 0.5, n 100: sd 0.05; z = -2, 2, 0, -1, 1 (no winsorising with 5 schools); phi = 10 / 5 = 2
    # w = 400 each: tau2 = (5 * 2 - 4) / (2000 - 5 * 400**2 / 2000) = 6 / 1600
    d = overdispersion([0.4, 0.6, 0.5, 0.45, 0.55], [100] * 5, 0.5)
    assert d["phi"] == pytest.approx(2.0) and d["tau2"] == pytest.approx(6 / 1600)
    # ten schools: the lowest and highest z pulled in to the second lowest / highest
    assert winsorised_z(np.array([-9.0, -1, -1, 0, 0, 0, 0, 1, 1, 9])).tolist() == [-1, -1, -1, 0, 0, 0, 0, 1, 1, 1]
    # no over-dispersion: tau2 stays 0
    assert overdispersion([0.5, 0.52, 0.48], [100] * 3, 0.5)["tau2"] == 0.0


def test_overdispersed_limits_are_wider_and_flag_fewer():
    rng = np.random.default_rng(7)
    n = rng.integers(50, 400, 200).astype(float)
    p = 1 / (1 + np.exp(-(0.8 + rng.normal(0, 0.5, 200))))
    rows = pd.DataFrame({"area_id": [f"S{i}" for i in range(200)], "year": 2024,
                         "numerator": rng.binomial(n.astype(int), p).astype(float), "denominator": n})
    plain, wide = funnel_table(rows), funnel_table(rows, overdispersed=True)
    assert plain["phi"].iloc[0] > 2 and wide["tau2"].iloc[0] > 0 and (plain["tau2"] == 0).all()
    assert (wide["hi998"] - wide["lo998"] > plain["hi998"] - plain["lo998"]).all()
    outside = lambda t: t["band"].isin(["above 99.8% limit", "below 99.8% limit"]).mean()  # noqa: E731
    assert outside(wide) < 0.05 < outside(plain)


@pytest.mark.parametrize("n_schools,image", [(40, False), (2500, True)])
def test_national_scale_funnel_draws_its_markers_as_an_image_in_the_svg(n_schools, image):
    """A few schools: every marker is vector. Thousands: the markers are one embedded image (text
    and limits stay vector), so the SVG stays small instead of growing by a marker per school."""
    import io

    import matplotlib
    import matplotlib.pyplot as plt

    from hsp_eval.reports.plots_national import funnel_plot

    rng = np.random.default_rng(3)
    den = rng.integers(20, 400, n_schools).astype(float)
    ft = funnel_table(pd.DataFrame({"area_id": [f"{i:04d}" for i in range(n_schools)], "year": 2024,
                                    "numerator": rng.binomial(den.astype(int), 0.5).astype(float),
                                    "denominator": den})).assign(indicator="reach")
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "test"}):
        ax = funnel_plot(ft, label_outside=False)
        buf = io.BytesIO()
        ax.figure.savefig(buf, format="svg", metadata={"Date": None})
        plt.close(ax.figure)
    svg = buf.getvalue().decode()
    assert ("<image" in svg) == image
    assert "families at the school (number)" in svg  # the words stay text
    assert len(svg) < 400_000

"""hsp_eval.reports.plots (and the words of hsp_eval.reports.labels): suppressed cells are never drawn as zero,
every rate has its interval, axes say their units."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from hsp_eval.reports import labels, plots  # noqa: E402

NAN = float("nan")


def rows(indicator="reach", group_type="all", cells=()):
    """Indicator rows from (group, year, value, ci_low, ci_high) tuples; value None = suppressed."""
    out = []
    for group, year, v, lo, hi in cells:
        sup = v is None
        out.append({"level": "school", "area_id": "0042", "year": year, "indicator": indicator,
                    "group_type": group_type, "group": group, "numerator": NAN if sup else round(v * 100),
                    "denominator": 3.0 if sup else 100.0, "value": NAN if sup else v,
                    "ci_low": NAN if sup else lo, "ci_high": NAN if sup else hi, "suppressed": sup})
    return pd.DataFrame(out)


@pytest.fixture(autouse=True)
def _close():
    plots.style()
    yield
    plt.close("all")


def texts(ax):
    return [t.get_text() for t in ax.texts]


def test_by_year_suppressed_year_is_a_word_not_a_zero():
    r = rows(cells=[("all", 2022, 0.40, 0.35, 0.45), ("all", 2023, None, 0, 0), ("all", 2024, 0.50, 0.44, 0.56)])
    ax = plots.by_year(r)
    line = ax.lines[0]
    y = np.asarray(line.get_ydata(), dtype=float)
    assert np.isnan(y[1]) and 0 not in y, "a suppressed year must break the line, not drop to 0"
    assert y[0] == pytest.approx(40) and y[2] == pytest.approx(50)  # shares drawn as percentages
    assert texts(ax) == ["withheld"]
    assert ax.get_ylabel() == "share of families, %" and ax.get_xlabel() == "year"
    assert ax.get_title() == "Families who took part in at least one activity"
    # the interval is drawn: an errorbar collection spanning 35..45 at 2022
    segs = [s for c in ax.collections for s in c.get_segments()]
    assert any(np.allclose(s[:, 1], [35, 45]) for s in segs)


def test_by_year_a_year_without_data_breaks_the_line():
    ax = plots.by_year(rows(cells=[("all", 2022, 0.2, 0.1, 0.3), ("all", 2024, 0.3, 0.2, 0.4)]))
    assert np.isnan(ax.lines[0].get_ydata()[1]) and [t.get_text() for t in ax.get_xticklabels()][1] == "2023"
    assert texts(ax) == ["no data"]


def test_by_year_group_suppressed_every_year_goes_to_a_footnote():
    r = rows(group_type="ethnicity", cells=[("Māori", 2022, 0.3, 0.2, 0.4), ("Māori", 2023, 0.4, 0.3, 0.5),
                                            ("MELAA", 2022, None, 0, 0), ("MELAA", 2023, None, 0, 0)])
    ax = plots.by_year(r)
    assert [ln.get_label() for ln in ax.lines if not ln.get_label().startswith("_")] == ["Māori"]
    notes = texts(ax)
    assert any("Suppressed in every year" in t and "MELAA" in t for t in notes)


def test_by_group_suppressed_group_has_no_bar_and_says_so():
    r = rows(group_type="year_band", cells=[("0-3", 2024, 0.6, 0.5, 0.7), ("4-6", 2024, None, 0, 0),
                                            ("7-8", 2024, 0.2, 0.1, 0.3)])
    ax = plots.by_group(r)
    widths = [p.get_width() for p in ax.patches]
    assert widths[0] == pytest.approx(60) and widths[2] == pytest.approx(20)
    assert widths[1] == 0
    assert texts(ax) == ["withheld"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Years 0-3", "Years 4-6", "Years 7-8"]
    assert ax.get_xlabel() == "share of families, %"


def test_gap_chart_has_zero_line_and_refuses_plain_rows():
    r = rows("reach_gap_vs_rest", "ethnicity", [("Māori", 2024, -0.12, -0.2, -0.04), ("Asian", 2024, None, 0, 0)])
    ax = plots.gap_chart(r)
    assert any(np.allclose(ln.get_xdata(), [0, 0]) for ln in ax.lines)
    assert "percentage points" in ax.get_xlabel()
    assert "withheld" in texts(ax)
    with pytest.raises(ValueError, match="_gap_vs_rest"):
        plots.gap_chart(rows(cells=[("all", 2024, 0.5, 0.4, 0.6)]))
    staff = plots.gap_chart(rows("perception_gap", "scale", [("time", 2024, 0.2, 0.1, 0.3)]))
    assert "staff more favourable" in staff.get_xlabel() and staff.get_title() == "Staff minus whānau favourable share"


def test_target_chart_marks_target_and_trend():
    r = rows(group_type="ethnicity", cells=[("Māori", y, v, v - 0.05, v + 0.05)
                                            for y, v in [(2022, 0.3), (2023, 0.4), (2024, 0.5)]])
    trend = {"target_value": 0.6, "target_year": 2025, "target_status": "on_track"}
    ax = plots.target_chart(r, trend)
    labels = [ln.get_label() for ln in ax.lines]
    assert "fitted trend" in labels and "target: 60% by 2025" in labels
    star = next(ln for ln in ax.lines if ln.get_label().startswith("target"))
    assert list(star.get_xdata()) == [2025] and list(star.get_ydata()) == [pytest.approx(60)]
    fit = next(ln for ln in ax.lines if ln.get_label() == "fitted trend")
    assert fit.get_xdata()[-1] == pytest.approx(2025)
    assert "status: on track" in texts(ax)


def test_rows_of_two_indicators_or_missing_columns_are_refused():
    r = pd.concat([rows(cells=[("all", 2024, 0.5, 0.4, 0.6)]),
                   rows("reach_learning", cells=[("all", 2024, 0.5, 0.4, 0.6)])])
    with pytest.raises(ValueError, match="one indicator"):
        plots.by_year(r)
    with pytest.raises(ValueError, match="missing ci_high"):
        plots.by_group(r.drop(columns="ci_high"))


def test_labels_and_values_in_words():
    assert labels.axis_label("scale_favourable") == "share of answers, %"
    assert labels.axis_label("self_review_gap") == "difference, rating points"
    assert labels.fmt_value(NAN, "reach") == "withheld"
    assert labels.fmt_value(0.125, "perception_gap") == "+12 points"
    assert labels.group_label("new_family", "new") == "new families"


def test_computation_modules_take_their_words_from_labels_not_plots():
    """school, summary, national and inquiry_impact format values without importing the charts."""
    import ast
    from pathlib import Path

    reports = Path(plots.__file__).parent
    for name in ("school", "summary", "national", "inquiry_impact", "labels"):
        tree = ast.parse((reports / f"{name}.py").read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in imported if m and m.startswith("hsp_eval.reports.plots")}, name

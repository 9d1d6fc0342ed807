"""What a report section shows: its chart or table, or one plain sentence when it has nothing to show.

A small school, or one without some of the data, leaves sections with nothing to show: a survey
without questions about barriers, a school without targets, groups too small to show safely. A
chart of nothing, or a table with only its header, reads like a mistake. :func:`chart` and
:func:`table` return what the section shows or, when there is nothing, the section's sentence
from :data:`EMPTY` (a :class:`Sentence`, which a notebook shows as Markdown): what is missing and,
where the school can fix it, how. A sentence never gives a number, so it cannot give a family
away; a section whose rows are all too small to show says only that.

Tables are shown without pandas' row numbers: an index of 0, 1, 2... says nothing, and a screen
reader reads it out on every row. :func:`table_html` leaves it out (a meaningful index, such as
group names, stays); :func:`hsp_eval.reports.plots.style` makes it the way every report notebook
shows a DataFrame, and :func:`show_table` does the same for one table anywhere.

Examples
--------
>>> import pandas as pd
>>> none = pd.DataFrame(columns=["indicator", "group_type", "group", "year", "value", "ci_low", "ci_high",
...                              "suppressed"])
>>> print(chart(None, none, "barriers"))  # doctest: +NORMALIZE_WHITESPACE
The survey had no questions about what makes it hard to take part; add barrier items to it (rows of
survey_items without a scale: see the data contract's survey_items) to see this section.
>>> print(table(pd.DataFrame(), "targets", school_id="0042"))  # doctest: +NORMALIZE_WHITESPACE
No targets are set for this school yet. To set them, add them to the school's params file (start one with
`hsp-eval params init 0042`): see docs/school-data-guide.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from hsp_eval.reports.labels import SUPPRESSED
from hsp_eval.reports.school import shown

#: the guide that tells a school how to add the data most sections need (named in the sentences)
_GUIDE = "docs/school-data-guide.md"


@dataclass(frozen=True)
class Empty:
    """What a section says when it has nothing to show.

    ``missing``: the data hold nothing for it (and how to add it); ``too_few``: there are rows,
    but every one is too small to show safely (no number, so nothing is given away; None: the
    ``missing`` sentence serves for both; empty: the notebook says it in its own words next to
    the section). Either may name ``{fields}`` given to :func:`nothing_to_show`. ``after``:
    sections whose data this one needs; when one of them has said it has nothing to show,
    :func:`show` says no more.
    """

    missing: str
    too_few: str | None = None
    after: tuple[str, ...] = ()

    def sentence(self, has_rows: bool) -> str:
        """``too_few`` when there are rows (``missing`` when the section has no ``too_few``), else ``missing``."""
        return self.too_few if has_rows and self.too_few is not None else self.missing


_NO_ACTIVITIES = (f"No activities or attendance are recorded for this school, so who took part cannot be shown; "
                  f"add the activities and attendance tables ({_GUIDE}) to see this section.")
_NO_SURVEY = (f"No whānau survey is recorded for this school in these years; add its survey tables (survey_items, "
              f"survey_respondents and survey_responses: {_GUIDE}) to see what whānau said.")
_NO_PROGRESS = (f"No progress data are recorded for target students; add the progress table ({_GUIDE}) to see "
                f"this.")
_FEW_GROUPS = "There are too few families in these groups to show them safely."

_REACH = ("participation", "reach_ethnicity", "reach_year_band", "reach_target", "reach_new_family")

#: each section's sentences, by the key the notebooks give :func:`chart` and :func:`table`
EMPTY: dict[str, Empty] = {
    "participation": Empty(_NO_ACTIVITIES, "There are too few families in the data to show who took part safely."),
    "reach_ethnicity": Empty(_NO_ACTIVITIES, _FEW_GROUPS),
    "reach_year_band": Empty(_NO_ACTIVITIES, _FEW_GROUPS),
    "reach_target": Empty("No students are marked as target students on the roll (the target column of enrolments), "
                          "so their families cannot be compared with other families.",
                          "There are too few target students' families to compare them with other families safely."),
    "reach_new_family": Empty("New and returning families can be told apart from the second year of data.",
                              "There are too few new or returning families to show them safely."),
    "gaps": Empty(_NO_ACTIVITIES, "There are too few families in these groups to compare them with the rest of "
                                  "the school safely.", after=_REACH),
    "contacts": Empty(f"No contacts between the school and families are recorded; add the contact log (the "
                      f"contacts table: {_GUIDE}) to see this.",
                      "There are too few contacts in the data to show this safely."),
    "survey": Empty(_NO_SURVEY, "Too few whānau answered the survey to show their answers safely."),
    "representation": Empty("The survey does not record the ethnicity of the whānau who answered (the ethnicity "
                            "column of survey_respondents), so who is heard cannot be compared.",
                            "Too few whānau in each group answered the survey to compare the groups safely.",
                            after=("survey",)),
    "perception_gap": Empty("Staff did not answer the same questions as whānau, so their views cannot be compared; "
                            "add a staff survey with the same scales (survey_items) to see this.",
                            "Too few staff or whānau answered to compare their views safely.", after=("survey",)),
    "barriers": Empty("The survey had no questions about what makes it hard to take part; add barrier items to it "
                      "(rows of survey_items without a scale: see the data contract's survey_items) to see this "
                      "section.",
                      "Too few whānau answered the questions about what makes it hard to take part to show "
                      "their answers safely.", after=("survey",)),
    "inquiry_steps": Empty(f"No inquiry steps are recorded for target students; add the inquiry_steps table "
                           f"({_GUIDE}) to see this.",
                           "There are too few target students to show their whānau's part in each step safely."),
    "accelerated": Empty(_NO_PROGRESS, "There are too few target students with progress data to show their "
                                       "progress safely."),
    # too few: hsp_eval.reports.summary.codesign_sentence, next to the chart, says so
    "codesign": Empty(_NO_PROGRESS, "", after=("accelerated",)),
    "self_review": Empty(f"No self-review ratings are recorded; add the self_review table ({_GUIDE}) to see this.",
                         "There are too few ratings to show them safely."),
    "self_review_gap": Empty("Leaders and whānau did not both rate the school's practice, so their ratings cannot "
                             "be compared.",
                             "There are too few whānau ratings to compare them with leaders' ratings safely.",
                             after=("self_review",)),
    "targets": Empty("No targets are set for this school yet. To set them, add them to the school's params file "
                     "(start one with `hsp-eval params init {school_id}`): see " + _GUIDE + "."),
    "target": Empty("There are no figures for this target yet.",
                    "There are too few families or students behind this target to show it safely.",
                    after=("targets",)),
}


class Sentence(str):
    """A sentence a notebook shows as Markdown (as a cell's value or with ``display``); ``section``
    is the key of :data:`EMPTY` it says nothing is shown for (None for any other sentence).

    Examples
    --------
    >>> s = Sentence("No targets are set.", "targets")
    >>> s._repr_markdown_(), s.section
    ('No targets are set.', 'targets')
    """

    def __new__(cls, text: str, section: str | None = None):
        out = super().__new__(cls, text)
        out.section = section
        return out

    def _repr_markdown_(self) -> str:
        return str(self)


def has_values(rows: pd.DataFrame) -> bool:
    """True when at least one of the indicator-table ``rows`` has a value that may be shown.

    Examples
    --------
    >>> has_values(pd.DataFrame({"value": [0.4, None], "suppressed": [True, True]}))
    False
    """
    return bool(len(rows)) and bool(len(shown(rows)))


def nothing_to_show(rows: pd.DataFrame, section: str, **fields) -> Sentence | None:
    """None when ``rows`` have a value to show; else the sentence of ``section`` (:data:`EMPTY`).

    The sentence says the data hold nothing for the section when ``rows`` is empty, and that
    there are too few people to show it safely when every row is withheld. ``fields`` fill in
    the sentence's ``{names}``.

    Examples
    --------
    >>> rows = pd.DataFrame({"value": [None], "suppressed": [True]})
    >>> nothing_to_show(rows, "survey")
    'Too few whānau answered the survey to show their answers safely.'
    >>> nothing_to_show(rows.assign(value=0.5, suppressed=False), "survey") is None
    True
    """
    if has_values(rows):
        return None
    return Sentence(EMPTY[section].sentence(bool(len(rows))).format(**fields), section)


def chart(draw, rows: pd.DataFrame, section: str, *, public: bool = False, **kwargs):
    """The figure ``draw(rows, **kwargs)`` makes, or the section's sentence when there is nothing to show.

    Parameters
    ----------
    draw : a chart function of :mod:`hsp_eval.reports.plots` (it returns the Axes it drew on).
    rows : the indicator-table rows to draw, withheld ones included.
    section : the key of the section's sentences in :data:`EMPTY`.
    public : draw only the rows that may be shown (the whānau and Board summary shows no
        withheld cell); whether there is anything to show is judged on those.
    **kwargs : passed to ``draw`` (title, order, ylim...).

    Returns
    -------
    The matplotlib Figure (closed in pyplot, so that it is shown where the notebook displays it
    and only there), or a :class:`Sentence`.

    Examples
    --------
    >>> from hsp_eval.reports import plots
    >>> rows = pd.DataFrame({"indicator": "reach", "group_type": "all", "group": "all", "year": [2025],
    ...                      "value": [None], "ci_low": [None], "ci_high": [None], "suppressed": [True]})
    >>> print(chart(plots.by_year, rows, "participation", public=True))
    There are too few families in the data to show who took part safely.
    >>> type(chart(plots.by_year, rows.assign(value=0.4, ci_low=0.3, ci_high=0.5, suppressed=False),
    ...            "participation")).__name__
    'Figure'
    """
    import matplotlib.pyplot as plt

    sentence = nothing_to_show(rows, section)
    if sentence is not None:
        return sentence
    fig = draw(shown(rows) if public else rows, **kwargs).figure
    plt.close(fig)
    return fig


def table(df: pd.DataFrame, section: str, **fields):
    """``df`` as a report shows it (:func:`show_table`), or the section's sentence when it shows nothing.

    A table shows nothing when it has no rows, or when every cell is withheld or blank (a table
    of :func:`hsp_eval.reports.school.value_table` cells). ``fields`` fill in the sentence.

    Examples
    --------
    >>> print(table(pd.DataFrame({2025: [SUPPRESSED]}, index=["Māori"]), "gaps"))
    There are too few families in these groups to compare them with the rest of the school safely.
    >>> table(pd.DataFrame({"a": [1]}), "gaps").data["a"].tolist()
    [1]
    """
    if df is None or df.empty:
        return Sentence(EMPTY[section].sentence(False).format(**fields), section)
    if df.astype(str).isin([SUPPRESSED, ""]).to_numpy().all():
        return Sentence(EMPTY[section].sentence(True).format(**fields), section)
    return show_table(df)


def show(*parts) -> None:
    """Display one block of a section: its figures, tables and sentences in order (None: nothing).

    The parts of a block come from the same data, so when they have nothing to show one sentence
    says so: a sentence is left out when the same sentence, or one of a section it needs
    (:attr:`Empty.after`), was shown already in the block, and an empty one is never shown.
    Outside IPython the parts are printed.

    Examples
    --------
    >>> no_survey = nothing_to_show(pd.DataFrame(), "survey")
    >>> show(no_survey, no_survey, nothing_to_show(pd.DataFrame(), "barriers"), None)
    ... # doctest: +NORMALIZE_WHITESPACE
    No whānau survey is recorded for this school in these years; add its survey tables (survey_items,
    survey_respondents and survey_responses: docs/school-data-guide.md) to see what whānau said.
    """
    from IPython.display import display

    said: set[str] = set()
    sections: set[str] = set()
    for part in parts:
        if part is None:
            continue
        if isinstance(part, Sentence):
            after = EMPTY[part.section].after if part.section in EMPTY else ()
            if not part or str(part) in said or sections.intersection(after):
                continue
            said.add(str(part))
            sections.add(part.section)
        display(part)


def plain_index(df: pd.DataFrame) -> bool:
    """True when ``df``'s row index is only row numbers: an unnamed :class:`pandas.RangeIndex` (0, 1, 2...,
    or the positions of rows picked in one run from a larger table, which pandas keeps as a range).

    Examples
    --------
    >>> plain_index(pd.DataFrame({"a": [1, 2]})), plain_index(pd.DataFrame({"a": [1]}, index=["Māori"]))
    (True, False)
    """
    return isinstance(df.index, pd.RangeIndex) and df.index.name is None


def table_html(df: pd.DataFrame) -> str | None:
    """The HTML pandas shows for ``df`` in a notebook, without the index when it is only row numbers.

    The display options (rows and columns shown, float format, column width) are pandas' own,
    so the table reads as pandas would show it, less the column of 0, 1, 2...

    Examples
    --------
    >>> "<th>0</th>" in table_html(pd.DataFrame({"a": [1.5]})), "<th>Māori</th>" in table_html(
    ...     pd.DataFrame({"a": [1.5]}, index=["Māori"]))
    (False, True)
    """
    if not plain_index(df):
        return df._repr_html_()
    opt = pd.get_option
    if not opt("display.notebook_repr_html"):
        return None
    return df.to_html(index=False, notebook=True, max_rows=opt("display.max_rows"),
                      max_cols=opt("display.max_columns"), show_dimensions=opt("display.show_dimensions"),
                      float_format=opt("display.float_format"))


class Table:
    """A DataFrame (``data``) shown as :func:`table_html` shows it, in HTML and in plain text."""

    def __init__(self, data: pd.DataFrame):
        self.data = data

    def _repr_html_(self) -> str | None:
        return table_html(self.data)

    def __repr__(self) -> str:
        return self.data.to_string(index=not plain_index(self.data))


def show_table(df: pd.DataFrame) -> Table:
    """``df`` to display as a report shows tables: without an index of row numbers.

    Examples
    --------
    >>> show_table(pd.DataFrame({"school": ["A"], "reach": [0.5]}))
    school  reach
         A    0.5
    """
    return Table(df)


def install_table_format() -> None:
    """Show every DataFrame of this IPython session as :func:`table_html` does (nothing outside IPython).

    Called by :func:`hsp_eval.reports.plots.style`, which every report notebook runs first.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    if ip is None:
        return
    ip.display_formatter.formatters["text/html"].for_type(pd.DataFrame, table_html)

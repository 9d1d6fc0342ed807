"""The data contract v1 as data: every table, its columns, their kinds and keys.

This module is the single description of the input tables. The loader
(:mod:`hsp_eval.data.load`) builds its parsers and pandera schemas from it, the synthetic
generator writes to it, and the CSV templates and the column reference in the docs
are generated from it.

Column kinds
------------
``id``          text identifier, leading zeros kept (``0042`` is not ``42``)
``text``        free text, NFC-normalised and stripped
``int``         whole number
``float``       number
``bool``        true/false, yes/no, y/n, 1/0 in any case
``date``        ISO ``2024-03-07`` or NZ day-first ``7/03/2024`` (spreadsheet forms: :mod:`hsp_eval.data.dates`)
``month``       ``YYYY-MM``
``category``    one value of a vocabulary in :mod:`hsp_eval.data.vocab` (aliases applied)
``ethnicity``   1-3 level-1 groups separated by ``;`` (or ``,``; see :func:`hsp_eval.data.vocab.parse_ethnicity`)

A column marked ``coded`` holds few distinct values repeated over many rows (the school, the
survey instrument and item, the month, ethnicity). The loader holds it as a pandas
``Categorical`` whose categories are its distinct values, sorted: each row then takes one
small integer instead of its own copy of the text, and sorting and grouping give the same
order as on the text. At national scale this is most of the loaded tables' memory
(docs/performance.md).

Examples
--------
>>> from hsp_eval.data.contract import TABLES
>>> [c.name for c in TABLES["portal_usage"].columns]
['school_id', 'family_id', 'month', 'logins']
>>> TABLES["enrolments"].key
('year', 'school_id', 'student_id')
"""

from __future__ import annotations

from dataclasses import dataclass, field

YEAR_MIN, YEAR_MAX = 2000, 2100


@dataclass(frozen=True)
class Column:
    """One column of a contract table."""

    name: str
    kind: str
    required: bool = True  #: the column must be present in the file
    nullable: bool = False  #: a present column may have blank cells
    vocabulary: str | None = None  #: for kind ``category``
    coded: bool = False  #: held as a Categorical over its sorted distinct values (see above)
    min: float | None = None
    max: float | None = None
    doc: str = ""


@dataclass(frozen=True)
class Table:
    """One table of the contract."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  #: columns that identify a row (unique together)
    required: bool = False  #: the dataset must contain this table
    doc: str = ""
    column_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_names", tuple(c.name for c in self.columns))

    def column(self, name: str) -> Column:
        """Return the column called ``name``."""
        return next(c for c in self.columns if c.name == name)


def _year() -> Column:
    return Column("year", "int", min=YEAR_MIN, max=YEAR_MAX, doc="NZ school year (calendar year)")


def _id(name: str, required: bool = True, nullable: bool = False, doc: str = "", coded: bool = False) -> Column:
    return Column(name, "id", required=required, nullable=nullable, doc=doc, coded=coded)


def _school_id(required: bool = True, nullable: bool = False) -> Column:
    """``school_id``: a few thousand schools over millions of rows, so a ``coded`` column."""
    return _id("school_id", required=required, nullable=nullable, coded=True)


def _bool(name: str, doc: str = "") -> Column:
    return Column(name, "bool", doc=doc)


_TABLE_LIST = [
    Table(
        "schools",
        (
            _school_id(),
            Column("school_name", "text"),
            Column("region", "category", vocabulary="region"),
            Column("school_type", "category", vocabulary="school_type"),
            Column("eqi", "int", required=False, nullable=True, min=344, max=569, doc="Equity Index"),
        ),
        key=("school_id",),
        required=True,
        doc="One row per school.",
    ),
    Table(
        "enrolments",
        (
            _year(),
            _school_id(),
            _id("student_id"),
            _id("family_id", doc="siblings share it, also across schools"),
            Column("year_level", "int", min=0, max=13),
            Column("ethnicity", "ethnicity", coded=True),
            Column("gender", "text", required=False, nullable=True, coded=True),
            Column("target", "bool", required=False, nullable=True,
                   doc="in the school's inquiry focus group this year"),
        ),
        key=("year", "school_id", "student_id"),
        required=True,
        doc="The roll: one row per student per school per year.",
    ),
    Table(
        "activities",
        (
            _id("activity_id"),
            _school_id(),
            Column("date", "date"),
            Column("activity_type", "category", vocabulary="activity_type"),
            Column("mode", "category", required=False, nullable=True, vocabulary="mode"),
            Column("title", "text", required=False, nullable=True, doc="never shown in a report"),
        ),
        key=("activity_id",),
        doc="Partnership activities a school ran.",
    ),
    Table(
        "attendance",
        (
            _id("activity_id"),
            _id("family_id"),
            _id("student_id", required=False, nullable=True),
            Column("invited", "bool", required=False, nullable=True,
                   doc="true when on a personal invitation list; blank when open to all"),
            _bool("attended"),
        ),
        key=("activity_id", "family_id"),
        doc="Who was invited to and who came to each activity: one row per (activity, family).",
    ),
    Table(
        "contacts",
        (
            _id("contact_id"),
            _school_id(),
            Column("date", "date"),
            _id("family_id"),
            _id("student_id", required=False, nullable=True),
            Column("initiated_by", "category", vocabulary="initiated_by"),
            Column("channel", "category", vocabulary="channel"),
            Column("purpose", "category", vocabulary="purpose"),
            Column("response_received", "bool", required=False, nullable=True),
        ),
        key=("contact_id",),
        doc="Personal communication between school and family (not newsletters).",
    ),
    Table(
        "portal_usage",
        (
            _school_id(),
            _id("family_id"),
            Column("month", "month", coded=True),
            Column("logins", "int", min=0),
        ),
        key=("school_id", "family_id", "month"),
        doc="Parent portal logins per family and month.",
    ),
    Table(
        "survey_items",
        (
            Column("instrument", "text", coded=True),
            _id("item_id", coded=True),
            Column("scale", "text", required=False, nullable=True,
                   doc="blank for an inventory item (barriers)"),
            Column("text", "text"),
            Column("response_min", "int"),
            Column("response_max", "int"),
            Column("favourable_min", "int"),
            _bool("reverse"),
        ),
        key=("instrument", "item_id"),
        doc="The survey instruments, one row per item.",
    ),
    Table(
        "survey_respondents",
        (
            Column("instrument", "text", coded=True),
            _year(),
            _school_id(),
            _id("respondent_id"),
            Column("role", "category", vocabulary="role"),
            _id("family_id", required=False, nullable=True),
            Column("ethnicity", "ethnicity", required=False, nullable=True, coded=True),
            Column("weight", "float", required=False, nullable=True, min=0),
        ),
        key=("instrument", "year", "school_id", "respondent_id"),
        doc="Who answered a survey.",
    ),
    Table(
        "survey_responses",
        (
            Column("instrument", "text", coded=True),
            _year(),
            _school_id(),
            _id("respondent_id"),
            _id("item_id", coded=True),
            Column("response", "int", required=False, nullable=True, doc="blank = not answered"),
        ),
        key=("instrument", "year", "school_id", "respondent_id", "item_id"),
        doc="Survey answers, one row per respondent and item.",
    ),
    Table(
        "inquiry_steps",
        (
            _year(),
            _school_id(),
            _id("student_id"),
            _bool("whanau_identified"),
            _bool("whanau_codesigned"),
            _bool("family_goal_included"),
            _bool("whanau_reviewed"),
        ),
        key=("year", "school_id", "student_id"),
        doc="How whānau took part in each step of the inquiry cycle for a target student.",
    ),
    Table(
        "progress",
        (
            _year(),
            _school_id(),
            _id("student_id"),
            Column("measure", "text", coded=True),
            Column("start_score", "float"),
            Column("end_score", "float"),
            Column("expected_gain", "float"),
        ),
        key=("year", "school_id", "student_id", "measure"),
        doc="Achievement at the start and end of the year for target students.",
    ),
    Table(
        "self_review",
        (
            _year(),
            _school_id(),
            Column("framework", "text", coded=True),
            Column("dimension", "text", coded=True),
            Column("rater_group", "category", vocabulary="rater_group"),
            Column("rating", "int", min=1, max=4),
        ),
        doc="Rubric self-review of partnership practice (1 not occurring .. 4 embedded).",
    ),
    Table(
        "reported_participation",
        (
            _year(),
            _school_id(required=False, nullable=True),
            _id("respondent_id"),
            Column("activity_type", "category", vocabulary="reported_activity_type"),
            _bool("participated"),
            Column("weight", "float", required=False, nullable=True, min=0),
        ),
        key=("year", "school_id", "respondent_id", "activity_type"),
        doc="Involvement families report in surveys, including learning at home.",
    ),
]

#: table name -> Table, in load order (a table only refers to tables before it).
TABLES: dict[str, Table] = {t.name: t for t in _TABLE_LIST}
REQUIRED_TABLES = tuple(n for n, t in TABLES.items() if t.required)

#: Column names refused anywhere because they look like personal information.
PII_COLUMN_WORDS = (
    "name", "first_name", "firstname", "given_name", "surname", "last_name", "lastname",
    "family_name", "full_name", "preferred_name", "email", "e_mail", "phone", "mobile",
    "telephone", "cell", "address", "street", "postcode", "dob", "date_of_birth",
    "birth_date", "birthdate", "nsn", "ird",
)
#: Columns whose name contains a PII word but are part of the contract.
PII_ALLOWED = frozenset({"school_name"})

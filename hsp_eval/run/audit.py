"""Release check of report outputs (``hsp-eval audit``): the "Proof" of disclosure spec v2.

:func:`audit` reads every output file under a release folder once (HTML and SVG text and
text attributes, figures embedded as SVG, executed notebooks, CSV and Parquet tables, JSON,
text and log files) and lists each *finding*: a place in a file that breaks one of these rules.

``identifier``
    a ``student_id``, ``family_id``, ``respondent_id`` or ``contact_id`` of the data appears
    as a whole token (text, attributes, notebook sources/outputs/metadata, table cells and
    column names). Ids shorter than :data:`MIN_ID_LENGTH` characters are not looked for.
``other_school``
    in a school's report (a file under ``OUTPUT_DIR/<school_id>/``), another school's name
    (case-insensitive, any spacing) or id (whole token; ids equal to a year of the data are
    not looked for).
``publication_count``
    in a publication table, a count (``numerator``, ``denominator``, ``people``, ``n``)
    that is not a whole multiple of 3, or is 1 to 5, or is 0 outside ``numerator``.
``publication_precision``
    in a publication table, a ``value``/``ci_low``/``ci_high`` with more than 3 decimals
    (proportions: rows with a numerator) or 2 decimals (means: rows without one).
``withheld_value``
    a row that a disclosure log (``disclosure_log*.csv`` or ``.parquet``) marks withheld, or a row with
    ``suppressed == True``, that still shows a count, value or interval.
``reference_group``
    a reference figure of "schools like ours" (:mod:`hsp_eval.reports.reference`) made of fewer than
    :data:`~hsp_eval.reports.reference.MIN_SCHOOLS` schools, so that it could be one school's value: in
    a reference table (``reference*.csv`` or ``.parquet``: a median or percentile in a row whose
    ``schools`` is under the minimum or whose grouping is ``none``), or among the figures a report
    records as shown (the notebook output of type
    :data:`~hsp_eval.reports.reference.REFERENCE_MIME`). With ``other_school``, this is how a school's
    report is checked for other schools' values: its only figures about other schools are these.

``local_path``
    in a school's page (an HTML file under ``OUTPUT_DIR/<school_id>/``: the evaluation and the
    whānau and Board summary, which schools share with their community), an absolute local
    path (a file URL, a home, work or temporary folder, a drive path): it says where the data
    sit on the machine that made the page. Report provenance shows file names only
    (:func:`hsp_eval.reports.provenance.provenance_table`); the full paths stay in the batch's
    ``manifest.csv``.

Absolute local paths in other HTML pages (national pages, the index) are reported as warnings
in ``notes``, not as findings. :func:`format_report` writes the plain report that ``hsp-eval audit`` prints.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> out = Path(tempfile.mkdtemp())
>>> _ = (out / "note.txt").write_text("Family 04455661 came to the hui.")
>>> result = audit(out, "data/demo")                                     # doctest: +SKIP
>>> result.findings[["file", "where", "rule"]].values.tolist()           # doctest: +SKIP
[['note.txt', 'line 1', 'identifier']]
"""

from __future__ import annotations

import base64
import json
import re
import unicodedata
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd

from hsp_eval.reports.reference import REFERENCE_MIME

#: a token: ids are matched as whole tokens of lower-cased text (respondent ids keep their dashes)
TOKEN = re.compile(r"[a-z0-9][a-z0-9_-]*")
#: ids shorter than this cannot be told apart from ordinary numbers in a report
MIN_ID_LENGTH = 5
#: the identifier columns looked for, in every table of the data that has them
ID_COLUMNS = ("student_id", "family_id", "respondent_id", "contact_id")
#: count columns of a publication table and the value columns that must be written rounded
COUNT_COLUMNS = ("numerator", "denominator", "people", "n")
VALUE_COLUMNS = ("value", "ci_low", "ci_high")
#: what a withheld row must leave blank (whichever of these a table has)
BLANK_WHEN_WITHHELD = ("numerator", "denominator", "people", "value", "ci_low", "ci_high")
#: the key of a cell in an indicator-like table and in a disclosure log
KEY_COLUMNS = ["level", "area_id", "year", "indicator", "group_type", "group"]
LOG_COLUMNS = ["table", *KEY_COLUMNS, "status", "rule"]
#: attributes whose values are words a reader sees or hears (tooltips, alt text, screen readers)
TEXT_ATTRIBUTES = frozenset({"alt", "title", "aria-label", "aria-description", "aria-valuetext",
                             "aria-roledescription", "placeholder", "label", "summary", "content", "value",
                             "download"})
#: attributes that hold addresses: checked for identifiers only (coordinates and ids live elsewhere)
LINK_ATTRIBUTES = frozenset({"href", "src", "xlink:href", "action", "poster"})
#: how each file kind is read, by suffix
KINDS = {".html": "html", ".htm": "html", ".svg": "svg", ".ipynb": "notebook", ".csv": "csv",
         ".parquet": "parquet", ".json": "json", ".txt": "text", ".log": "text", ".md": "text"}
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".ico"})
#: absolute local paths: file URLs, POSIX home/work/temp folders, Windows drive paths
LOCAL_PATH = re.compile(
    r"file:///[^\s\"'<>]+"
    r"|(?<![\w/.:~-])/(?:home|work|tmp|Users|root|mnt|opt|srv|private|media|scratch|var/folders)/[^\s\"'<>]*"
    r"|(?<![\w])[A-Za-z]:(?:\\|/(?:Users|Documents and Settings)/)[^\s\"'<>]*")
#: a matplotlib glyph reference (<use xlink:href="#DejaVuSans-41">): words drawn as outlines
GLYPH_REF = re.compile(r"^#[A-Za-z][\w]*-[0-9a-f]{2,}$")
#: text written in place of a blank cell
BLANK_TEXT = frozenset({"", "nan", "na", "<na>", "none", "null"})
#: how many findings per file and rule the printed report lists before it only counts the rest
REPORT_CAP = 20
FINDING_COLUMNS = ["file", "where", "rule", "detail"]


@dataclass
class AuditResult:
    """What :func:`audit` found and what it checked.

    Attributes
    ----------
    findings : one row per finding, columns ``file`` (relative to the output folder, with
        ``/``), ``where`` (line, row and column, notebook cell), ``rule`` and ``detail``.
    checked : counts of what was read and looked for (files per kind, ids, tables, ...).
    notes : what could not be checked and why, ids skipped, and warnings (``local_path``).
    """

    findings: pd.DataFrame
    checked: dict
    notes: list[str]
    output_dir: str = ""
    data_dir: str = ""
    publication: bool = False

    @property
    def ok(self) -> bool:
        """True when there is no finding."""
        return self.findings.empty


# ---------------------------------------------------------------------------------------------
# What to look for, from the data
# ---------------------------------------------------------------------------------------------

@dataclass
class Targets:
    """The identifiers and schools an audit looks for (built by :func:`targets_from_dataset`).

    ``ids`` maps each lower-cased id to its kind; ``school_ids`` are the ids looked for as
    tokens (not those equal to a year); ``names`` maps a school id to a pattern that finds its
    name in lower-cased text; ``name_index`` maps the first token of each way of writing a name
    to its schools (a quick test before any pattern runs, with thousands of schools too).
    """

    ids: dict[str, str]
    schools: dict[str, str]
    school_ids: set[str]
    names: dict[str, re.Pattern] = field(default_factory=dict)
    name_index: dict[str, set[str]] = field(default_factory=dict)
    counts: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _fold(text: str) -> str:
    """``text`` without its macrons and accents (Mataī -> Matai)."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _name_pattern(name: str) -> tuple[re.Pattern, set[str]]:
    """A pattern finding ``name`` in lower-cased text, as written or without macrons, any spacing.

    Examples
    --------
    >>> p, first = _name_pattern("Mataī Valley School")
    >>> bool(p.search("the matai  valley\\nschool fair")), sorted(first)
    (True, ['mata', 'matai'])
    """
    variants = {unicodedata.normalize("NFC", name).lower(), _fold(name).lower()}
    alternatives = [r"\s+".join(map(re.escape, v.split())) for v in sorted(variants, key=len, reverse=True)]
    first = {TOKEN.findall(v)[0] for v in variants if TOKEN.findall(v)}
    return re.compile("|".join(alternatives)), first


def _data_years(ds) -> set[str]:
    """Every year in the data: ``year`` columns and the years of date columns."""
    years: set[str] = set()
    for table in ds.tables.values():
        for col in table.columns:
            s = table[col]
            if col == "year":
                years.update(str(int(y)) for y in pd.unique(s.dropna()))
            elif pd.api.types.is_datetime64_any_dtype(s):
                years.update(str(int(y)) for y in pd.unique(s.dt.year.dropna()))
    return years


def targets_from_dataset(ds) -> Targets:
    """The ids and schools to look for in outputs, from a loaded :class:`~hsp_eval.Dataset`.

    Ids shorter than :data:`MIN_ID_LENGTH` and school ids equal to a year of the data are left
    out, and ``notes`` says how many and why.

    Examples
    --------
    >>> import pandas as pd
    >>> from hsp_eval import Dataset
    >>> ds = Dataset({"schools": pd.DataFrame({"school_id": ["0042", "2023"], "school_name": ["A School", "B School"]}),
    ...               "enrolments": pd.DataFrame({"year": [2023, 2023], "school_id": ["0042", "2023"],
    ...                                           "student_id": ["04455661", "77"], "family_id": ["12345678", "9"]})})
    >>> t = targets_from_dataset(ds)
    >>> sorted(t.ids), sorted(t.school_ids), t.counts["ids_skipped_short"]
    (['04455661', '12345678'], ['0042'], 2)
    """
    ids: dict[str, str] = {}
    short = Counter()
    for table in ds.tables.values():
        for col in ID_COLUMNS:
            if col not in table.columns:
                continue
            for value in pd.unique(table[col].dropna().astype(str)):
                value = value.strip().lower()
                if len(value) < MIN_ID_LENGTH:
                    short[value] += 1
                elif value:
                    ids.setdefault(value, col)
    schools = ds["schools"]
    names = dict(zip(schools["school_id"].astype(str), schools["school_name"].astype(str)))
    years = _data_years(ds)
    year_like = sorted(s for s in names if s in years)
    counts = Counter(ids.values())
    t = Targets(ids=ids, schools=names, school_ids={s.lower() for s in names if s not in years},
                counts={"ids_looked_for": len(ids), **{f"ids_{k}": counts.get(k, 0) for k in ID_COLUMNS},
                        "ids_skipped_short": len(short), "schools": len(names),
                        "school_ids_skipped_year": len(year_like)})
    for sid, name in names.items():
        add_school_name(t, sid, name)
    if short:
        t.notes.append(f"{len(short)} id(s) shorter than {MIN_ID_LENGTH} characters were not looked for: "
                       f"they cannot be told apart from ordinary numbers in a report.")
    if year_like:
        t.notes.append(f"School id(s) {', '.join(year_like)} equal a year of the data, so they were not looked "
                       f"for as ids in other schools' reports (their names still were).")
    missing = [c for c in ID_COLUMNS if not counts.get(c)]
    if missing:
        t.notes.append(f"The data has no {', '.join(missing)} values (table not in the data): not looked for.")
    t.notes.append("Ids are matched as whole words: an id written without its leading zeros (4455661 for "
                   "04455661), split by spaces or spread over several cells cannot be recognised.")
    return t


def add_school_name(targets: Targets, school_id: str, name: str) -> None:
    """Look for ``name`` as the name of school ``school_id`` (see :func:`_name_pattern`)."""
    targets.names[school_id], first = _name_pattern(name)
    for tok in first or {""}:  # "": a name without a plain-letter word is always tried
        targets.name_index.setdefault(tok, set()).add(school_id)


# ---------------------------------------------------------------------------------------------
# Matching one piece of text
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hit:
    """One match in one piece of text: the rule, what was found and where in the text."""

    rule: str
    what: str
    start: int
    end: int


def _lower(text: str) -> str:
    """Lower-cased NFC text (so a name written with a combining macron still matches)."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text.lower()


def find_hits(text: str, targets: Targets, school: str | None = None) -> list[Hit]:
    """Every identifier in ``text`` and, in school ``school``'s report, every other school.

    Positions refer to ``_lower(text)`` (the same as ``text`` unless case folding changed lengths).

    Examples
    --------
    >>> t = Targets(ids={"04455661": "family_id"}, schools={"0113": "Own School", "0828": "Other School"},
    ...             school_ids={"0113", "0828"})
    >>> add_school_name(t, "0113", "Own School"); add_school_name(t, "0828", "Other School")
    >>> [(h.rule, h.what) for h in find_hits("Own School and OTHER school, family 04455661, 0828", t, "0113")]
    [('identifier', 'family_id 04455661'), ('other_school', 'school 0828'), ('other_school', 'Other School (0828)')]
    """
    low = _lower(text)
    tokens = set(TOKEN.findall(low))
    found_ids = tokens & targets.ids.keys()
    others = set()
    if school is not None:
        others = (tokens & targets.school_ids) - {school.lower()}
    hits: list[Hit] = []
    if found_ids or others:  # locate them (only when present: most text has none)
        for m in TOKEN.finditer(low):
            tok = m.group()
            if tok in found_ids:
                hits.append(Hit("identifier", f"{targets.ids[tok]} {tok}", m.start(), m.end()))
            elif tok in others:
                hits.append(Hit("other_school", f"school {tok}", m.start(), m.end()))
    if school is not None:
        hits.extend(_name_hits(low, tokens, targets, school))
    return hits


def _name_hits(low: str, tokens: set[str], targets: Targets, school: str) -> list[Hit]:
    """Other schools' names in ``low``, leaving out matches inside the school's own name."""
    candidates = set(targets.name_index.get("", ()))
    for tok in tokens & targets.name_index.keys():
        candidates |= targets.name_index[tok]
    candidates.discard(school)
    if not candidates:
        return []
    own = []
    if school in targets.names:  # "Tarata School" inside "North Tarata School" is the school itself
        own = [m.span() for m in targets.names[school].finditer(low)]
    hits = []
    for sid in sorted(candidates):
        for m in targets.names[sid].finditer(low):
            if not any(a <= m.start() and m.end() <= b for a, b in own):
                hits.append(Hit("other_school", f"{targets.schools[sid]} ({sid})", m.start(), m.end()))
    return hits


def _excerpt(text: str, start: int, end: int, width: int = 40) -> str:
    """The found token with ``width`` characters each side, on one line, the token in «».

    Examples
    --------
    >>> _excerpt("Family 04455661 came\\nto the hui.", 7, 15, width=5)
    '…mily «04455661» came…'
    """
    def flat(part: str) -> str:
        return re.sub(r"\s+", " ", part)
    return (("…" if start > width else "") + flat(text[max(0, start - width):start]) + "«" + text[start:end]
            + "»" + flat(text[end:end + width]) + ("…" if end + width < len(text) else ""))


# ---------------------------------------------------------------------------------------------
# Collecting findings
# ---------------------------------------------------------------------------------------------

class _Audit:
    """The state of one audit run: targets, findings, counts, notes, disclosure logs."""

    def __init__(self, root: Path, targets: Targets, publication: bool):
        self.root = root
        self.targets = targets
        self.publication = publication
        self.rows: list[tuple[str, str, str, str]] = []
        self.checked: Counter = Counter()
        self.notes: list[str] = []
        self.local_paths: list[str] = []
        self.glyph_files: set[str] = set()
        self.withheld: dict[str, dict[tuple, str]] = {}  # table stem -> withheld key -> rule

    def add(self, file: str, where: str, rule: str, detail: str) -> None:
        self.rows.append((file, where, rule, detail))

    def text(self, file: str, where, text: str, school: str | None, line: int | None = 1,
             html: bool = False, school_rule: bool = True) -> None:
        """Check one piece of text; ``where`` is a label, followed by the line when ``line`` is set."""
        hits = find_hits(text, self.targets, school if school_rule else None)
        if hits:
            low = _lower(text)
            shown = text if len(low) == len(text) else low
            for h in hits:
                place = where if line is None else _at_line(where, line + low.count("\n", 0, h.start))
                self.add(file, place, h.rule, f"{h.what}: {_excerpt(shown, h.start, h.end)}")
        if html:
            for m in LOCAL_PATH.finditer(text):
                place = where if line is None else _at_line(where, line + text.count("\n", 0, m.start()))
                found = _excerpt(text, m.start(), m.end(), 25)
                if school is not None:  # a school's page goes to its community: a path there fails the audit
                    self.add(file, place, "local_path", f"absolute local path in a school's page: {found}")
                    continue
                self.checked["local_path_warnings"] += 1
                self.local_paths.append(f"{file} {place}: {found}")


def _at_line(where: str, line: int) -> str:
    return f"{where} line {line}" if where else f"line {line}"


# ---------------------------------------------------------------------------------------------
# HTML and SVG
# ---------------------------------------------------------------------------------------------

class _HtmlText(HTMLParser):
    """Collects the text of an HTML or SVG document: data, text attributes, links, embedded SVG.

    ``pieces`` holds ``(line, text, visible)``; text inside ``<script>``/``<style>`` and links are
    not visible (checked for identifiers only). ``svgs`` holds ``(line, svg_text)`` of figures
    embedded as ``data:image/svg+xml`` URIs; ``images`` counts other embedded images.
    """

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pieces: list[tuple[int, str, bool]] = []
        self.svgs: list[tuple[int, str]] = []
        self.images = 0
        self.glyphs = 0
        self._hidden = 0  # inside <script> or <style>

    def handle_starttag(self, tag, attrs):
        line = self.getpos()[0]
        if tag in ("script", "style"):
            self._hidden += 1
        for name, value in attrs:
            if not value:
                continue
            if name in TEXT_ATTRIBUTES or name.startswith("aria-"):
                self.pieces.append((line, value, True))
            elif name in LINK_ATTRIBUTES:
                self._link(line, tag, value)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if data.strip():
            self.pieces.append((self.getpos()[0], data, not self._hidden))

    def handle_comment(self, data):
        if data.strip():
            self.pieces.append((self.getpos()[0], data, False))

    def _link(self, line: int, tag: str, value: str) -> None:
        """A link: an embedded figure is decoded, other embedded data counted, addresses kept."""
        if tag == "use" and GLYPH_REF.match(value):
            self.glyphs += 1
            return
        if not value.startswith("data:"):
            self.pieces.append((line, value, False))
            return
        head, _, payload = value.partition(",")
        if head.startswith("data:image/svg+xml"):
            try:
                raw = base64.b64decode(payload) if head.endswith(";base64") else urllib.parse.unquote(payload).encode()
                self.svgs.append((line, raw.decode("utf-8", errors="replace")))
                return
            except ValueError:
                pass
        self.images += 1


def _audit_markup(a: _Audit, file: str, text: str, school: str | None, where: str = "",
                  html: bool = False) -> None:
    """Check an HTML page or SVG figure (``where`` prefixes the place, e.g. a notebook cell)."""
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    for line, piece, visible in parser.pieces:
        a.text(file, where, piece, school, line=line, html=html, school_rule=visible)
    for k, (line, svg) in enumerate(parser.svgs, 1):
        a.checked["embedded_svg_figures"] += 1
        _audit_markup(a, file, svg, school, where=f"{_at_line(where, line)}, figure {k}")
    a.checked["embedded_images_not_checked"] += parser.images
    if parser.glyphs:
        a.glyph_files.add(file)


# ---------------------------------------------------------------------------------------------
# Notebooks, JSON and text files
# ---------------------------------------------------------------------------------------------

def _joined(value) -> str:
    """Notebook text is a string or a list of lines."""
    return "".join(value) if isinstance(value, list) else str(value)


def _walk_json(value, path: str = "$"):
    """Yield ``(path, text)`` for every key, string and number of a JSON value.

    Examples
    --------
    >>> list(_walk_json({"a": [1, "x"], "b": True}))
    [('$', 'a'), ('$.a[0]', '1'), ('$.a[1]', 'x'), ('$', 'b')]
    """
    if isinstance(value, dict):
        for k, v in value.items():
            yield path, str(k)
            yield from _walk_json(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk_json(v, f"{path}[{i}]")
    elif isinstance(value, str):
        yield path, value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield path, str(value)


def _audit_json_value(a: _Audit, file: str, value, school: str | None, prefix: str = "") -> None:
    for path, text in _walk_json(value):
        a.text(file, f"{prefix}{path}", text, school, line=None)


def _audit_notebook(a: _Audit, file: str, nb: dict, school: str | None) -> None:
    """Every cell's source and outputs, and the notebook's metadata (papermill parameters too)."""
    _audit_json_value(a, file, nb.get("metadata", {}), school, prefix="metadata ")
    for i, cell in enumerate(nb.get("cells", []), 1):
        a.text(file, f"cell {i} source", _joined(cell.get("source", "")), school)
        for j, out in enumerate(cell.get("outputs", []), 1):
            _audit_output(a, file, f"cell {i} output {j}", out, school)


def _audit_output(a: _Audit, file: str, where: str, out: dict, school: str | None) -> None:
    """One notebook output: stream text, error text, and every text-like representation."""
    if "text" in out:  # stream
        a.text(file, f"{where} {out.get('name', 'stream')}", _joined(out["text"]), school)
    if out.get("output_type") == "error":
        a.text(file, f"{where} error", "\n".join([out.get("ename", ""), out.get("evalue", ""),
                                                 *out.get("traceback", [])]), school)
    for mime, data in (out.get("data") or {}).items():
        if mime == REFERENCE_MIME:
            _audit_reference_output(a, file, f"{where} {mime}", data)
        if mime in ("text/html", "image/svg+xml"):
            if mime == "image/svg+xml":
                a.checked["embedded_svg_figures"] += 1
            _audit_markup(a, file, _joined(data), school, where=f"{where} {mime}")
        elif mime.startswith("image/"):
            a.checked["embedded_images_not_checked"] += 1
        elif isinstance(data, dict) or mime.endswith("json"):
            _audit_json_value(a, file, data, school, prefix=f"{where} {mime} ")
        else:
            a.text(file, f"{where} {mime}", _joined(data), school)


def _audit_json(a: _Audit, file: str, text: str, school: str | None) -> None:
    try:
        value = json.loads(text)
    except ValueError:  # not valid JSON: still read its text
        a.notes.append(f"{file} is not valid JSON: checked as plain text.")
        a.text(file, "", text, school)
        return
    _audit_json_value(a, file, value, school)


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------

def _read_table(path: Path) -> pd.DataFrame:
    """A CSV with every cell as written (text, blanks as NaN), or a Parquet file as stored."""
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def _row_label(kind: str, i: int) -> str:
    """Rows as a user counts them: a CSV's header is row 1; a Parquet file's first row is row 1."""
    return f"row {i + 2}" if kind == "csv" else f"row {i + 1}"


def _audit_table_text(a: _Audit, file: str, kind: str, df: pd.DataFrame, school: str | None) -> None:
    """Identifiers (and other schools, in a school's report) in column names and cells."""
    for col in df.columns:
        a.text(file, f"header, column {col}", str(col), school, line=None)
    digit_ids = {i for i in a.targets.ids if i.isdigit()}
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_bool_dtype(s):
            continue
        if pd.api.types.is_numeric_dtype(s):  # a numeric id lost its text form: compare the digits
            _numeric_ids(a, file, kind, col, s, digit_ids)
            continue
        text = s.astype(str).where(s.notna())
        for value in pd.unique(text.dropna()):
            hits = find_hits(value, a.targets, school)
            if not hits:
                continue
            low = _lower(value)
            shown = value if len(low) == len(value) else low
            for i in np.flatnonzero((text == value).to_numpy(dtype=bool)):
                for h in hits:
                    a.add(file, f"{_row_label(kind, i)}, column {col}", h.rule,
                          f"{h.what}: {_excerpt(shown, h.start, h.end)}")


def _numeric_ids(a: _Audit, file: str, kind: str, col: str, s: pd.Series, digit_ids: set[str]) -> None:
    v = _floats(s)
    whole = np.isfinite(v) & (np.abs(v) < 1e15) & (v == np.round(v)) & (np.abs(v) >= 10 ** (MIN_ID_LENGTH - 1))
    for i in np.flatnonzero(whole):
        tok = str(int(v[i]))
        if tok in digit_ids:
            a.add(file, f"{_row_label(kind, i)}, column {col}", "identifier",
                  f"{a.targets.ids[tok]} {tok}: «{tok}» (a number)")


def _floats(s: pd.Series) -> np.ndarray:
    """A column as floats (text that is not a number, and blanks, as NaN)."""
    return pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()


def _describe_rows(df: pd.DataFrame, rows) -> dict[int, str]:
    """The key of each row of ``rows`` in a few words (level area year indicator/group_type/group).

    Examples
    --------
    >>> df = pd.DataFrame({"level": ["school"], "area_id": ["0113"], "year": [2023], "indicator": ["reach"],
    ...                    "group_type": ["all"], "group": ["all"]})
    >>> _describe_rows(df, [0])
    {0: 'school 0113 2023 reach/all/all'}
    """
    rows = list(rows)
    cols = [df[c].to_numpy(dtype=object)[rows] for c in KEY_COLUMNS if c in df.columns]
    out = {}
    for k, i in enumerate(rows):
        parts = [str(col[k]) for col in cols if not pd.isna(col[k])]
        out[i] = " ".join(parts[:3]) + (" " + "/".join(parts[3:]) if len(parts) > 3 else "")
    return out


def _blank(s: pd.Series) -> np.ndarray:
    """True where a cell is blank (NaN, or empty / 'nan' text)."""
    blank = np.array(s.isna(), dtype=bool)  # a copy: pandas may hand out read-only arrays
    if not pd.api.types.is_numeric_dtype(s):
        blank |= s.astype(str).str.strip().str.lower().isin(BLANK_TEXT).to_numpy(dtype=bool)
    return blank


def _number(x) -> str:
    """A cell value as written (a float without a useless .0)."""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def _audit_publication(a: _Audit, file: str, kind: str, df: pd.DataFrame) -> None:
    """``publication_count`` and ``publication_precision`` on one table."""
    counts = [c for c in COUNT_COLUMNS if c in df.columns]
    values = [c for c in VALUE_COLUMNS if c in df.columns]
    if not counts and not values:
        return
    a.checked["publication_tables"] += 1
    for col in counts:
        raw = df[col]
        v = _floats(raw)
        given = ~_blank(raw)
        off3 = np.abs(v - 3 * np.round(v / 3)) > 1e-9
        small = (v >= 1) & (v <= 5)
        zero = (v == 0) & (col != "numerator")
        bad = np.flatnonzero(given & (np.isnan(v) | off3 | small | zero | (v < 0)))
        written, label = raw.to_numpy(dtype=object), _describe_rows(df, bad)
        for i in bad:
            if np.isnan(v[i]):
                why = "is not a number"
            elif v[i] < 0:
                why = "is negative"
            elif off3[i]:
                why = "is not a whole multiple of 3 (published counts are rounded to base 3)"
            elif small[i]:
                why = "is a count of 1 to 5 people (withheld in publication)"
            else:
                why = "is 0 (allowed only in numerator)"
            a.add(file, f"{_row_label(kind, i)}, column {col}", "publication_count",
                  f"{col} {_number(written[i])} {why} [{label[i]}]")
    if values:
        _audit_precision(a, file, kind, df, values)


def _audit_precision(a: _Audit, file: str, kind: str, df: pd.DataFrame, values: list[str]) -> None:
    """Values and intervals rounded to 0.001 (proportions) or 0.01 (means)."""
    if {"indicator", "group"} <= set(df.columns):  # the registry says (disclosure.value_places)
        from hsp_eval.indicators.disclosure import value_places

        num = pd.Series(np.where(_blank(df["numerator"]), np.nan, 1.0)) if "numerator" in df.columns else None
        proportion = value_places(df["indicator"], df["group"], num) == 3
    elif "numerator" in df.columns:
        proportion = ~_blank(df["numerator"])
    else:  # rows cannot be told apart: hold every row to the looser limit
        proportion = np.ones(len(df), dtype=bool)
        a.notes.append(f"{file} has no numerator column: its values were checked to at most 3 decimals "
                       f"(proportions and means cannot be told apart).")
    scale = np.where(proportion, 1000.0, 100.0)
    for col in values:
        v = _floats(df[col])
        unrounded = np.isfinite(v) & (np.abs(v * scale - np.round(v * scale)) >= 1e-6)
        bad = np.flatnonzero(unrounded)
        written, label = df[col].to_numpy(dtype=object), _describe_rows(df, bad)
        for i in bad:
            limit = "3 decimals (a proportion)" if proportion[i] else "2 decimals (a mean)"
            a.add(file, f"{_row_label(kind, i)}, column {col}", "publication_precision",
                  f"{col} {written[i]} is not rounded to {limit} [{label[i]}]")


def _key_strings(df: pd.DataFrame) -> pd.MultiIndex:
    """The key columns as text (years as '2023', blanks as ''), for matching a disclosure log."""
    cols = {}
    for c in KEY_COLUMNS:
        s = df[c]
        if pd.api.types.is_float_dtype(s):  # a year column with blanks is read as float
            s = s.map(lambda x: _number(x) if pd.notna(x) else "")
        cols[c] = s.astype(object).where(s.notna(), "").astype(str).str.strip().to_numpy()
    return pd.MultiIndex.from_arrays([cols[c] for c in KEY_COLUMNS], names=KEY_COLUMNS)


def _read_log(a: _Audit, file: str, df: pd.DataFrame) -> None:
    """Take the withheld cells of a disclosure log."""
    missing = [c for c in LOG_COLUMNS if c not in df.columns]
    if missing:
        a.notes.append(f"Disclosure log {file} lacks column(s) {', '.join(missing)}: it was not used.")
        return
    a.checked["disclosure_logs"] += 1
    withheld = df[df["status"].astype(str).str.strip().str.lower() == "withheld"]
    keys = _key_strings(withheld)
    for table, key, rule in zip(withheld["table"].astype(str).str.strip(), keys, withheld["rule"]):
        a.withheld.setdefault(table, {})[key] = "" if pd.isna(rule) else str(rule)
    a.checked["withheld_cells_in_logs"] += len(withheld)


def _audit_withheld(a: _Audit, file: str, kind: str, stem: str, df: pd.DataFrame) -> None:
    """``withheld_value``: rows withheld by a log, or marked suppressed, that still show numbers."""
    shown_cols = [c for c in BLANK_WHEN_WITHHELD if c in df.columns]
    if not shown_cols:
        return
    reason: dict[int, str] = {}
    if "suppressed" in df.columns:
        a.checked["tables_with_suppressed_flag"] += 1
        s = df["suppressed"]
        sup = (s.astype(str).str.strip().str.lower().isin({"true", "1", "yes"}) if not pd.api.types.is_bool_dtype(s)
               else s.fillna(False)).to_numpy(dtype=bool)
        for i in np.flatnonzero(sup):
            reason[i] = "marked suppressed"
    log = a.withheld.get(stem)
    if log is not None and all(c in df.columns for c in KEY_COLUMNS):
        a.checked["tables_checked_against_logs"] += 1
        keys = _key_strings(df)
        for i in np.flatnonzero(keys.isin(list(log))):
            rule = log[keys[i]]
            why = f"withheld by the disclosure log (rule {rule})" if rule else "withheld by the disclosure log"
            reason[i] = why + (" and marked suppressed" if i in reason else "")
    if not reason:
        return
    given = {c: ~_blank(df[c]) for c in shown_cols}
    written = {c: df[c].to_numpy(dtype=object) for c in shown_cols}
    bad = sorted(i for i in reason if any(given[c][i] for c in shown_cols))
    label = _describe_rows(df, bad)
    for i in bad:
        shown = ", ".join(f"{c}={_number(written[c][i])}" for c in shown_cols if given[c][i])
        a.add(file, _row_label(kind, i), "withheld_value", f"{reason[i]} but shows {shown} [{label[i]}]")


def _small_reference(schools, grouping, figures) -> bool:
    """A reference figure given (any of ``figures`` not blank) from too few schools or no group."""
    from hsp_eval.reports.reference import MIN_SCHOOLS

    try:
        n = float(schools)
    except (TypeError, ValueError):
        n = float("nan")
    given = any(f is not None and str(f).strip().lower() not in BLANK_TEXT for f in figures)
    return given and (not n >= MIN_SCHOOLS or str(grouping) == "none")


def _audit_reference_table(a: _Audit, file: str, kind: str, df: pd.DataFrame) -> None:
    """``reference_group`` in a reference table: every figure made of at least MIN_SCHOOLS schools."""
    figures = [c for c in ("q25", "median", "q75") if c in df.columns]
    if "schools" not in df.columns or not figures:
        return
    a.checked["reference_tables"] += 1
    grouping = df["grouping"] if "grouping" in df.columns else pd.Series("", index=df.index)
    values = df[figures].to_numpy(dtype=object)
    for i, (n, g) in enumerate(zip(df["schools"], grouping)):
        if _small_reference(n, g, values[i]):
            a.add(file, _row_label(kind, i), "reference_group",
                  f"a reference figure from {n} school(s) (grouping {g}): it could be one school's value")


def _audit_reference_output(a: _Audit, file: str, where: str, data) -> None:
    """``reference_group`` among the reference figures a school report records as shown."""
    figures = data.get("figures", []) if isinstance(data, dict) else []
    a.checked["reference_figures_recorded"] += len(figures)
    for k, f in enumerate(figures, 1):
        if not isinstance(f, dict) or _small_reference(f.get("schools"), f.get("grouping"),
                                                       [f.get(c) for c in ("q25", "median", "q75")]):
            what = f"{f.get('indicator')} {f.get('year')}" if isinstance(f, dict) else repr(f)[:40]
            n = f.get("schools") if isinstance(f, dict) else "?"
            a.add(file, f"{where}, figure {k}", "reference_group",
                  f"{what}: a reference figure from {n} school(s): it could be one school's value")


def _is_log(path: Path) -> bool:
    return path.suffix.lower() in (".csv", ".parquet") and path.name.lower().startswith("disclosure_log")


def _audit_table(a: _Audit, file: str, path: Path, kind: str, df: pd.DataFrame, school: str | None) -> None:
    a.checked["table_rows"] += len(df)
    _audit_table_text(a, file, kind, df, school)
    if a.publication or path.name.lower().startswith("publication"):
        _audit_publication(a, file, kind, df)
    if path.name.lower().startswith("reference"):
        _audit_reference_table(a, file, kind, df)
    _audit_withheld(a, file, kind, path.stem, df)


# ---------------------------------------------------------------------------------------------
# The walk
# ---------------------------------------------------------------------------------------------

def _output_files(root: Path, skip: Path | None) -> list[Path]:
    """Every file under ``root``, without hidden files and folders (``.ipynb_checkpoints``)."""
    files = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not p.is_file():
            continue
        if skip is not None and p.resolve().is_relative_to(skip):
            continue
        files.append(p)
    return files


def _school_of(rel: Path, targets: Targets) -> str | None:
    """The school whose report ``rel`` is (``<school_id>/...``), or None."""
    if len(rel.parts) > 1 and rel.parts[0] in targets.schools:
        return rel.parts[0]
    return None


def _load(path: Path, kind: str, tables: dict):
    """A file's content: text, a notebook's JSON, or a table (a disclosure log is already read)."""
    if kind in ("csv", "parquet"):
        return tables.pop(path) if path in tables else _read_table(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    return json.loads(text) if kind == "notebook" else text


def _audit_file(a: _Audit, path: Path, kind: str, content, school: str | None) -> None:
    """Check one file's content by its kind."""
    file = path.relative_to(a.root).as_posix()
    if kind in ("html", "svg"):
        _audit_markup(a, file, content, school, html=kind == "html")
    elif kind == "notebook":
        _audit_notebook(a, file, content, school)
    elif kind == "json":
        _audit_json(a, file, content, school)
    elif kind == "text":
        a.text(file, "", content, school)
    else:
        _audit_table(a, file, path, kind, content, school)


def _unreadable(a: _Audit, rel: str, e: Exception) -> None:
    """Say that a file could not be read (it is then not checked)."""
    a.notes.append(f"Could not read {rel} ({type(e).__name__}: {e}): not checked.")
    a.checked["unreadable"] += 1


def audit(output_dir, data_dir, publication: bool = False) -> AuditResult:
    """Check every output file under ``output_dir`` against the data of ``data_dir``.

    Parameters
    ----------
    output_dir : the release folder (school reports in ``<school_id>/``, ``national/``, tables...).
    data_dir : the dataset folder the outputs were made from (read with :func:`hsp_eval.load_dataset`),
        or that dataset already loaded (a :class:`~hsp_eval.Dataset`).
    publication : apply the publication rules to every table with count or value columns
        (without it, only to tables whose file name starts with ``publication``).

    Returns
    -------
    AuditResult
        ``findings`` (empty when the release is clean), ``checked`` counts and ``notes``.

    Raises
    ------
    FileNotFoundError
        When ``output_dir`` or ``data_dir`` is not a folder.

    Examples
    --------
    >>> r = audit("reports", "data/demo", publication=True)   # doctest: +SKIP
    >>> r.ok, r.checked["html"]                               # doctest: +SKIP
    (True, 23)
    """
    from hsp_eval.data.dataset import Dataset
    from hsp_eval.data.load import load_dataset

    root = Path(output_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"the output folder {root} does not exist (nothing to audit)")
    if isinstance(data_dir, Dataset):
        ds, data = data_dir, data_dir.source
    else:
        data = Path(data_dir)
        if not data.is_dir():
            raise FileNotFoundError(f"the data folder {data} does not exist (the audit needs the data to know "
                                    f"which ids to look for)")
        ds = load_dataset(data)
    targets = targets_from_dataset(ds)
    a = _Audit(root, targets, publication)
    a.checked.update(targets.counts)
    skip = None  # the data's own files, when they sit inside the output folder, are not outputs
    if data is not None and Path(data).resolve().is_relative_to(root.resolve()):
        skip = Path(data).resolve()
    if skip is not None:
        a.notes.append(f"The data folder {data} is inside the output folder: its files were not audited.")
    files = _output_files(root, skip)
    kinds = {p: KINDS.get(p.suffix.lower()) for p in files}
    tables = {}  # disclosure logs first: every table is checked against them
    for p in filter(_is_log, files):
        try:
            tables[p] = _read_table(p)
        except (OSError, ValueError) as e:
            _unreadable(a, p.relative_to(root).as_posix(), e)
            continue
        _read_log(a, p.relative_to(root).as_posix(), tables[p])
    others: dict[str, list[str]] = {}
    for p in files:
        rel = p.relative_to(root)
        kind = kinds[p]
        if kind is None:
            group = "images" if p.suffix.lower() in IMAGE_SUFFIXES else (p.suffix.lower() or "no suffix")
            others.setdefault(group, []).append(rel.as_posix())
            continue
        a.checked[kind] += 1
        school = _school_of(rel, targets)
        if school is not None:
            a.checked["school_report_files"] += 1
        if _is_log(p) and p not in tables:
            continue  # an unreadable log, already noted
        try:
            content = _load(p, kind, tables)
        except (OSError, ValueError) as e:  # not UTF-8 JSON, a broken Parquet file...: say so
            _unreadable(a, rel.as_posix(), e)
            continue
        _audit_file(a, p, kind, content, school)
    return _result(a, others, output_dir, data if data is not None else "the given dataset")


def _result(a: _Audit, others: dict[str, list[str]], output_dir, data_dir) -> AuditResult:
    """Gather the findings and notes into an :class:`AuditResult`."""
    notes = list(a.targets.notes)
    for group, names in sorted(others.items()):
        what = "images (png/jpg...)" if group == "images" else f"{group} files"
        a.checked[f"not_checked_{group.lstrip('.')}"] = len(names)
        listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        notes.append(f"Not checked: {len(names)} {what}, which hold no readable text: {listed}.")
    if a.checked["embedded_images_not_checked"]:
        notes.append(f"Not checked: {a.checked['embedded_images_not_checked']} raster images embedded in pages "
                     f"or notebooks (their words, if any, are pixels).")
    if a.glyph_files:
        notes.append(f"Some SVG figures draw words as glyph outlines, which cannot be read, in: "
                     f"{', '.join(sorted(a.glyph_files))}.")
    if a.checked["html"] or a.checked["svg"] or a.checked["notebook"]:
        notes.append("In HTML, other schools' ids and names were looked for in visible text and text attributes "
                     "(alt, title, aria-label...), not inside <script>/<style> or links, where numbers such as "
                     "coordinates would be mistaken for ids; identifiers were looked for everywhere.")
    notes.extend(a.notes)
    if a.local_paths:
        shown = a.local_paths[:10]
        notes.append(f"Warning (local_path; outside school folders, not a failure): {len(a.local_paths)} absolute "
                     f"local path(s) in HTML pages: " + "; ".join(shown) + (" ..." if len(a.local_paths) > 10 else ""))
    findings = pd.DataFrame(a.rows, columns=FINDING_COLUMNS)
    return AuditResult(findings=findings, checked=dict(a.checked), notes=notes, output_dir=str(output_dir),
                       data_dir=str(data_dir), publication=a.publication)


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------

def format_report(result: AuditResult, cap: int = REPORT_CAP) -> str:
    """The plain report of an audit: what was read and checked, notes, then one line per finding.

    At most ``cap`` findings per file and rule are listed; the rest are counted.

    Examples
    --------
    >>> r = AuditResult(pd.DataFrame([["a.html", "line 3", "identifier", "family_id 04455661: «04455661»"]],
    ...                              columns=FINDING_COLUMNS), {"html": 1, "ids_looked_for": 9}, [])
    >>> print(format_report(r).splitlines()[-1])
    FAILED: 1 finding(s).
    """
    c = Counter(result.checked)
    kinds = [("html", "HTML"), ("svg", "SVG"), ("notebook", "notebooks"), ("csv", "CSV"),
             ("parquet", "Parquet"), ("json", "JSON"), ("text", "text/log/md")]
    lines = [f"Audit of {result.output_dir} against the data in {result.data_dir}",
             f"Files read: {sum(c[k] for k, _ in kinds)} ("
             + ", ".join(f"{c[k]} {label}" for k, label in kinds)
             + f"), with {c['embedded_svg_figures']} SVG figures inside pages and notebooks"
             + (f"; {c['unreadable']} could not be read (see notes)." if c["unreadable"] else "."),
             f"Looked for {c['ids_looked_for']:,} identifiers ("
             + ", ".join(f"{c['ids_' + k]:,} {k}" for k in ID_COLUMNS) + f") and {c['schools']} schools.",
             "Checks run:",
             "  identifier             every file: text, attributes, figures, notebook cells, outputs and "
             "metadata, table cells and column names",
             f"  other_school           {c['school_report_files']} files in school folders (<school_id>/)",
             f"  publication_count, publication_precision   {c['publication_tables']} table(s) "
             + ("(every table: --publication)" if result.publication else "(files named publication*)"),
             f"  withheld_value         {c['disclosure_logs']} disclosure log(s) with {c['withheld_cells_in_logs']:,} "
             f"withheld cells, matched in {c['tables_checked_against_logs']} table(s); suppressed rows in "
             f"{c['tables_with_suppressed_flag']} table(s) ({c['table_rows']:,} table rows read)",
             f"  reference_group        {c['reference_tables']} reference table(s) and {c['reference_figures_recorded']:,} "
             f"reference figure(s) recorded in notebooks",
             f"  local_path             HTML pages in school folders (a finding); elsewhere a warning: "
             f"{c['local_path_warnings']} found"]
    if result.notes:
        lines.append("Notes:")
        lines.extend(f"  - {n}" for n in result.notes)
    f = result.findings
    if f.empty:
        lines.append("PASSED: no findings.")
        return "\n".join(lines)
    by_rule = f["rule"].value_counts()
    lines.append(f"Findings ({len(f):,}: " + ", ".join(f"{r} {n:,}" for r, n in by_rule.items()) + "):")
    for (file, rule), group in f.groupby(["file", "rule"], sort=True):
        for r in group.head(cap).itertuples():
            lines.append(f"  {r.file} | {r.where} | {r.rule} | {r.detail}")
        if len(group) > cap:
            lines.append(f"  {file} | ... | {rule} | and {len(group) - cap:,} more like these")
    lines.append(f"FAILED: {len(f):,} finding(s).")
    return "\n".join(lines)

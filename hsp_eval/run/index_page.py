"""``reports/index.html``: a plain page listing every school's reports and the national overview.

The page is built from the batch manifest (:mod:`hsp_eval.run.batch`): one table row per school
(its display name from the params file, its id, whether its reports use its params file or the
default settings, a link to each of its HTML reports and the report's status in words), then the
national overview, the data fingerprint, the date the
data was read and the date the page was made. It is plain HTML with no script: headings, a
table with a caption and header cells, link text that makes sense on its own to a screen
reader, status written out (never shown by colour alone) and every value escaped.

A failed report has no link (it was not published); its reason is in ``manifest.csv``, not
on the page, since an error message may quote data.

Examples
--------
>>> m = pd.DataFrame([{"school": "0113", "notebook": "school_evaluation", "status": "ok",
...                    "display_name": "Kura <A>", "html": "0113/school_evaluation.html", "data_fingerprint": "ab"}])
>>> page = render_index(m, {"data_fingerprint": "ab", "data_read_at": "2026-11-24T10:00:00+13:00"})
>>> 'href="0113/school_evaluation.html"' in page, "Kura &lt;A&gt;" in page
(True, True)
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import pandas as pd

from hsp_eval._version import __version__
from hsp_eval.reports import provenance
from hsp_eval.run.execute import write_text_atomic

#: the folder of the national reports, and their "school" in the manifest
NATIONAL = "national"
LABELS = {"school_evaluation": "Evaluation", "whanau_board_summary": "Whānau and Board summary",
          "national_overview": "National overview", "inquiry_impact": "Inquiry impact"}
#: the index page's words for a school whose reports use the default settings (manifest ``params``: defaults)
DEFAULTS_WORDS = "default settings (no params file)"
STATUS_WORDS = {"ok": "made in this run", "skipped": "current (inputs unchanged)",
                "failed": "failed: not published (reason in manifest.csv)"}

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.5;
       color: #1a1a1a; background: #fff; margin: 0; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0 2rem; }
caption { text-align: left; font-weight: 600; padding-bottom: .5rem; }
th, td { border: 1px solid #767676; padding: .4rem .6rem; text-align: left; vertical-align: top; }
thead th { background: #f0f0f0; }
a { color: #0b5394; }
a:focus { outline: 3px solid #e69f00; }
.status { display: block; font-size: .9em; color: #333; }
.failed { font-weight: 600; color: #8b0000; }
.vh { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
code { word-break: break-all; }
""".strip()


def _cell(row: dict | None, subject: str, current_fp: str | None) -> str:
    if row is None:
        return '<td><span class="status">not run</span></td>'
    status = str(row.get("status", ""))
    label = LABELS.get(str(row.get("notebook", "")), str(row.get("notebook", "")).replace("_", " ").capitalize())
    words = STATUS_WORDS.get(status, status)
    if status in ("ok", "skipped") and row.get("html"):
        link = (f'<a href="{escape(str(row["html"]), quote=True)}">{escape(label)}'
                f'<span class="vh"> of {escape(subject)}</span></a>')
        older = row.get("data_fingerprint") and current_fp and row.get("data_fingerprint") != current_fp
        note = " (made from earlier data)" if older else ""
        return f'<td>{link}<span class="status">{escape(words + note)}</span></td>'
    cls = ' class="status failed"' if status == "failed" else ' class="status"'
    return f'<td>{escape(label)}<span{cls}>{escape(words)}</span></td>'


def _settings(reports: dict[str, dict]) -> str:
    """A school's settings in words, from its reports' manifest column ``params`` ("defaults" or a file name)."""
    used = {r.get("params", "") for r in reports.values()} - {""}
    if "defaults" in used:
        return DEFAULTS_WORDS
    return "its params file" if used else ""


def render_index(manifest: pd.DataFrame, data: dict | None = None, made_at: str | None = None) -> str:
    """The index page's HTML from the manifest rows and the data's provenance record.

    Parameters
    ----------
    manifest : rows with at least ``school``, ``notebook``, ``status``, ``display_name`` and
        ``html`` (the path of the HTML report relative to the page); with ``params`` (the batch's
        manifest has it), a column says which schools' reports use the default settings.
    data : the provenance of the data the reports were made from (``data_fingerprint``,
        ``data_read_at``; see :mod:`hsp_eval.reports.provenance`).
    made_at : when the page was made (default: now).
    """
    data = data or {}
    fp = data.get("data_fingerprint") or None
    rows = manifest.fillna("").astype(str).to_dict("records")
    national = [r for r in rows if r["school"] == NATIONAL]
    schools = [r for r in rows if r["school"] != NATIONAL]
    notebooks = list(dict.fromkeys(r["notebook"] for r in sorted(
        schools, key=lambda r: (list(LABELS).index(r["notebook"]) if r["notebook"] in LABELS else 99, r["notebook"]))))
    by_school: dict[str, dict[str, dict]] = {}
    for r in schools:
        by_school.setdefault(r["school"], {})[r["notebook"]] = r
    counts = {s: sum(r["status"] == s for r in rows) for s in ("ok", "skipped", "failed")}
    settings = {sid: _settings(reps) for sid, reps in by_school.items()} if "params" in manifest else {}
    defaults = sum(v == DEFAULTS_WORDS for v in settings.values())
    out = ['<!DOCTYPE html>', '<html lang="en-NZ">', '<head>', '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           '<title>Home-school partnership reports</title>', f'<style>\n{_CSS}\n</style>', '</head>', '<body>',
           '<main>', '<h1>Home-school partnership reports</h1>',
           f'<p>{len(rows)} reports: {counts["ok"]} made in the last run, {counts["skipped"]} current from an '
           f'earlier run (inputs unchanged), {counts["failed"]} failed.</p>']
    if counts["failed"]:
        out.append('<p>A failed report is not published; <a href="manifest.csv">manifest.csv</a> says why.</p>')
    if defaults:
        out.append(f'<p>{defaults} of {len(settings)} schools have no params file, so their reports use the default '
                   'settings (no targets or focus groups) and say so; <code>hsp-eval params init --all</code> '
                   'writes a starting file for each.</p>')
    out.append('<h2 id="schools">Schools</h2>')
    if by_school:
        out += ['<table>', "<caption>Each school's reports</caption>", '<thead><tr>',
                '<th scope="col">School</th>', '<th scope="col">School id</th>']
        out += ['<th scope="col">Settings</th>'] if settings else []
        out += [f'<th scope="col">{escape(LABELS.get(nb, nb.replace("_", " ").capitalize()))}</th>' for nb in notebooks]
        out += ['</tr></thead>', '<tbody>']
        for sid in sorted(by_school):
            reps = by_school[sid]
            name = next((r["display_name"] for r in reps.values() if r.get("display_name")), f"School {sid}")
            own = f'<td>{escape(settings[sid])}</td>' if settings else ""
            out.append(f'<tr><th scope="row">{escape(name)}</th><td>{escape(sid)}</td>{own}'
                       + "".join(_cell(reps.get(nb), name, fp) for nb in notebooks) + '</tr>')
        out += ['</tbody>', '</table>']
    else:
        out.append('<p>No school reports.</p>')
    out.append('<h2 id="national">National overview</h2>')
    if national:
        out += ['<table>', '<caption>Reports across all schools</caption>', '<tbody>']
        for r in national:
            out.append(f'<tr><th scope="row">{escape(LABELS.get(r["notebook"], r["notebook"]))}</th>'
                       + _cell(r, "all schools", fp) + '</tr>')
        out += ['</tbody>', '</table>']
    else:
        out.append('<p>The national overview was not run.</p>')
    read_at = data.get("data_read_at") or "unknown"
    out += ['<h2 id="provenance">Data and provenance</h2>', '<dl>',
            f'<dt>Data fingerprint (SHA-256)</dt><dd><code>{escape(fp or "unknown")}</code></dd>',
            f'<dt>Data read at</dt><dd>{escape(read_at)}</dd>',
            f'<dt>This page made at</dt><dd>{escape(made_at or provenance.now())}</dd>',
            f'<dt>Made by</dt><dd>hsp_eval {escape(__version__)}, git commit '
            f'<code>{escape(provenance.git_commit())}</code></dd>',
            '</dl>',
            '<p>Every report ends with its own provenance (version, commit, data fingerprint, parameters and the '
            'date the data was read); <a href="manifest.csv">manifest.csv</a> lists the same for every report.</p>',
            '</main>', '</body>', '</html>']
    return "\n".join(out) + "\n"


def write_index(reports, manifest: pd.DataFrame, data: dict | None = None) -> Path:
    """Write ``reports/index.html`` (atomically) and return its path."""
    return write_text_atomic(Path(reports) / "index.html", render_index(manifest, data))

"""Run one parameterised notebook with papermill and publish it as HTML with the code hidden.

This is the single place hsp_eval executes a notebook: ``hsp-eval report``, the batch
runner and ``hsp-eval external run`` all call :func:`run_notebook`. Outputs are written
atomically (to a temporary name, then renamed), so a reader never sees half a report.

Examples
--------
>>> out = run_notebook("notebooks/school_evaluation.ipynb", "reports/0113/school_evaluation.ipynb",
...                    {"school_id": "0113"})                # doctest: +SKIP
>>> out["html"].name                                         # doctest: +SKIP
'school_evaluation.html'
"""

from __future__ import annotations

import functools
import logging
import os
import re
import warnings
from pathlib import Path

KERNEL = "python3"
log = logging.getLogger(__name__)

#: the page template: nbconvert's "lab" page, whose figures (SVG) take their ``alt`` from the
#: output's metadata (``{"image/svg+xml": {"alt": ...}}``, as :func:`hsp_eval.reports.plots.style`
#: has the kernel write it); a figure without one gets nbconvert's "No description has been
#: provided for this image" (tests/test_accessibility.py fails on it)
PAGE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{% block data_svg scoped -%}
{%- set alt = output | get_metadata('alt', 'image/svg+xml') -%}
<div class="jp-RenderedSVG jp-OutputArea-output {{ extra_class }}" data-mime-type="image/svg+xml">
<img src="data:image/svg+xml;base64,{{ output.data['image/svg+xml'] | text_base64 | escape_html }}"
{%- if alt %} alt="{{ alt | escape_html }}"{% endif %}>
</div>
{%- endblock data_svg %}
"""
#: a table header cell with nothing in it (pandas' corner above the row names, Styler's blanks)
EMPTY_HEADER = re.compile(r"<th(\s[^>]*)?>(?:\s|&nbsp;|&#160;)*</th>")


class NotebookFailed(RuntimeError):
    """A notebook raised an error; ``failed_path`` holds the executed notebook up to the error."""

    def __init__(self, message: str, failed_path: Path | None = None):
        super().__init__(message)
        self.failed_path = failed_path


def write_text_atomic(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary name and a rename; return the path.

    A reader never sees half a file; the folder is made when missing.

    Examples
    --------
    >>> import tempfile
    >>> write_text_atomic(Path(tempfile.mkdtemp()) / "a" / "b.txt", "kia ora\\n").read_text(encoding="utf-8")
    'kia ora\\n'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


@functools.cache
def _html_exporter():
    """One HTML exporter per process: its Jinja templates are compiled on first use, then reused.

    Examples
    --------
    >>> _html_exporter() is _html_exporter()
    True
    """
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    return HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                        extra_loaders=[DictLoader({"hsp_eval.html.j2": PAGE_TEMPLATE})],
                        template_file="hsp_eval.html.j2")


def empty_headers_as_cells(html: str) -> str:
    """``html`` with every empty table header cell made a data cell: a header names its row or column.

    pandas writes an empty ``<th>`` above the row names (and beside the column names' own
    name); a screen reader would announce it as a header of nothing.

    Examples
    --------
    >>> empty_headers_as_cells('<tr><th></th><th>year</th></tr><tr><th class="blank level0" >&nbsp;</th></tr>')
    '<tr><td></td><th>year</th></tr><tr><td class="blank level0" ></td></tr>'
    """
    return EMPTY_HEADER.sub(lambda m: f"<td{m.group(1) or ''}></td>", html)


def to_html(nb, title: str | None = None) -> str:
    """HTML of an executed notebook (nbformat node) with every code cell's input hidden.

    The page is nbconvert's, with each figure's alternative text (:data:`PAGE_TEMPLATE`) and
    no empty table header cells (:func:`empty_headers_as_cells`, in the tables of the outputs;
    ``nb`` is changed).

    Examples
    --------
    >>> import nbformat
    >>> figure = nbformat.v4.new_output("display_data", {"image/svg+xml": "<svg/>"},
    ...                                 metadata={"image/svg+xml": {"alt": "Chart: Reach."}})
    >>> page = to_html(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[figure])]))
    >>> 'alt="Chart: Reach."' in page
    True
    """
    if title:
        nb.metadata["title"] = title
    for cell in nb.cells:
        for output in cell.get("outputs", ()):
            html = output.get("data", {}).get("text/html")
            if html:
                output["data"]["text/html"] = empty_headers_as_cells("".join(html) if isinstance(html, list) else html)
    with warnings.catch_warnings():
        # outputs of hsp_eval's own mimetype (values recorded for checks) are not meant to be shown
        warnings.filterwarnings("ignore", message="Your element with mimetype")
        body, _ = _html_exporter().from_notebook_node(nb)
    return body


#: times a notebook is started again when its kernel never started (no cell had run)
KERNEL_START_RETRIES = 2


def kernel_did_not_start(error: BaseException) -> bool:
    """True for the errors jupyter_client and nbclient raise when a kernel never became ready.

    Two kernels started at the same moment can be handed the same free TCP port, and one of
    them then fails to bind it (a known race, papermill issue #511); nothing of the notebook
    has run yet, so starting it again is safe.

    Examples
    --------
    >>> kernel_did_not_start(RuntimeError("Kernel didn't respond in 60 seconds"))
    True
    >>> kernel_did_not_start(RuntimeError("something else"))
    False
    """
    text = str(error)
    return isinstance(error, RuntimeError) and ("Kernel didn't respond" in text
                                                or "Kernel died before replying to kernel_info" in text)


def run_notebook(notebook, output, parameters: dict | None = None, *, html: bool = True,
                 title: str | None = None, kernel_name: str = KERNEL, cwd=None,
                 engine_name: str | None = None, timeout: int | None = 1200) -> dict:
    """Execute ``notebook`` with ``parameters`` into ``output`` (.ipynb) and, with ``html``, beside it as .html.

    Parameters
    ----------
    notebook : path of the template notebook (it must have a cell tagged ``parameters``).
    output : path of the executed notebook; the HTML goes to the same name with ``.html``.
    parameters : values injected by papermill after the ``parameters`` cell.
    html : also write the HTML page (code hidden).
    title : the HTML page's title.
    kernel_name, engine_name, timeout : passed to :func:`papermill.execute_notebook`
        (``timeout`` is seconds per cell). papermill's standard engine (``engine_name`` None)
        starts its kernel with :class:`hsp_eval.run.warm.QuietKernelManager`, as the ``warm``
        engine does, so that a report that runs well prints nothing to the terminal.
    cwd : the folder the notebook runs in (default: the template's folder).

    Returns
    -------
    dict with ``ipynb`` and ``html`` paths (``html`` is None without ``html``).

    Raises
    ------
    NotebookFailed
        When a cell raises; the partly executed notebook is kept as ``<name>.failed.ipynb``
        and no report file of that name is left behind.
    """
    import nbformat
    import papermill as pm

    from hsp_eval.run import warm

    notebook, output = Path(notebook), Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.stem}.{os.getpid()}.running.ipynb")
    failed = output.with_name(output.stem + ".failed.ipynb")
    if not engine_name:  # papermill's standard engine
        kwargs = {"kernel_manager_class": warm.QuietKernelManager}
    else:
        kwargs = {"engine_name": engine_name}
        if engine_name == "warm":  # where hsp_eval is not installed, papermill has no entry point for it
            warm.register_engine()
    try:
        for attempt in range(1 + KERNEL_START_RETRIES):
            try:
                pm.execute_notebook(str(notebook), str(tmp), parameters=dict(parameters or {}),
                                    kernel_name=kernel_name, cwd=str(cwd or notebook.parent), progress_bar=False,
                                    log_output=False, language="python", execution_timeout=timeout, **kwargs)
                break
            except RuntimeError as e:
                if attempt == KERNEL_START_RETRIES or not kernel_did_not_start(e):
                    raise
                log.warning("%s: the kernel did not start (%s); starting another", notebook.name, e)
    except Exception as e:  # papermill raises PapermillExecutionError; kernels can die in other ways
        if tmp.exists():
            tmp.replace(failed)
        for stale in (output, output.with_suffix(".html")):
            stale.unlink(missing_ok=True)
        reason = getattr(e, "ename", type(e).__name__) + ": " + str(getattr(e, "evalue", e)).strip()
        raise NotebookFailed(f"{notebook.name} failed: {reason}", failed if failed.exists() else None) from e
    failed.unlink(missing_ok=True)
    html_path = None
    if html:
        html_path = output.with_suffix(".html")
        write_text_atomic(html_path, to_html(nbformat.read(tmp, as_version=4), title=title))
    tmp.replace(output)
    return {"ipynb": output, "html": html_path}


def run_external(name: str, out_dir="reports/external") -> dict:
    """Run public dataset ``name``'s notebook with papermill into ``out_dir`` (.ipynb and .html, code hidden).

    The datasets are :data:`hsp_eval.external.DATASETS`; ``hsp-eval external run NAME`` calls this.
    """
    from hsp_eval.external import DATASETS

    if name not in DATASETS:
        raise KeyError(f"'{name}' is not an external dataset; known: {', '.join(sorted(DATASETS))}")
    d = DATASETS[name]
    out = Path(out_dir) / d.notebook
    return run_notebook(d.notebook_path, out, {}, title=d.title)

"""Layer 4, public data: adapters for real public datasets, and the notebooks that reproduce analyses of them.

Each dataset has a module here that reads its raw file(s) from ``data/external/<name>/``
(copied there with their SOURCE and licence note, so a clone needs nothing else), documents
the coding (valid skips, missing codes, "N/A" strings, odd headers), and turns the records
into tidy frames or rows of hsp_eval's indicator table; and one notebook in
``notebooks/external/`` that runs the analysis. ``hsp-eval external list`` and
``hsp-eval external run NAME`` run them.

Examples
--------
>>> sorted(DATASETS)
['nhes-pfi-2019', 'nyc-school-survey', 'ssocs-2019-20', 'uci-student-performance']
>>> DATASETS["ssocs-2019-20"].notebook
'ssocs_2019_20.ipynb'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / "data" / "external"
NOTEBOOK_DIR = ROOT / "notebooks" / "external"


@dataclass(frozen=True)
class ExternalDataset:
    """One public dataset: its folder under ``data/external``, adapter module and notebook."""

    name: str
    title: str
    folder: str
    module: str
    notebook: str

    @property
    def data_dir(self) -> Path:
        return DATA_DIR / self.folder

    @property
    def notebook_path(self) -> Path:
        return NOTEBOOK_DIR / self.notebook

    def resolve_dir(self, data_dir=None) -> Path:
        """``data_dir`` when given, else the dataset's folder (:attr:`data_dir`).

        Each adapter's ``default_dir`` is this method of its dataset.

        Examples
        --------
        >>> d = DATASETS["ssocs-2019-20"]
        >>> d.resolve_dir("x").as_posix(), d.resolve_dir() == d.data_dir
        ('x', True)
        """
        return Path(data_dir) if data_dir is not None else self.data_dir


DATASETS = {d.name: d for d in [
    ExternalDataset("nhes-pfi-2019", "NHES Parent and Family Involvement 2019 (curated extract), US",
                    "nhes-pfi-2019", "hsp_eval.external.nhes", "nhes_pfi_2019.ipynb"),
    ExternalDataset("nyc-school-survey", "NYC School Survey 2011 and 2019, parent response and family ties",
                    "nyc-school-survey", "hsp_eval.external.nyc", "nyc_school_survey.ipynb"),
    ExternalDataset("uci-student-performance", "UCI Student Performance (two Portuguese schools)",
                    "uci-student-performance", "hsp_eval.external.uci", "uci_student_performance.ipynb"),
    ExternalDataset("ssocs-2019-20", "School Survey on Crime and Safety 2019-20, parent involvement, US",
                    "ssocs-2019-20", "hsp_eval.external.ssocs", "ssocs_2019_20.ipynb"),
]}


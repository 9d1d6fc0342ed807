"""hsp_eval: participation and partnership indicators for home-school partnerships.

Examples
--------
>>> import hsp_eval
>>> hsp_eval.__version__
'0.1.0'
"""

from importlib.metadata import PackageNotFoundError, version

from . import contract, indicators, vocab
from .dataset import Dataset
from .fingerprint import fingerprint
from .load import load_dataset
from .problems import DataContractError, Problem, ValidationReport

try:
    __version__ = version("hsp_eval")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.1.0"

__all__ = ["Dataset", "DataContractError", "Problem", "ValidationReport", "contract", "fingerprint", "indicators",
           "load_dataset", "vocab", "__version__"]

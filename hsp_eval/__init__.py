"""hsp_eval: participation and partnership indicators for home-school partnerships.

Examples
--------
>>> import hsp_eval
>>> hsp_eval.__version__
'0.1.0'
"""

from hsp_eval import indicators
from hsp_eval._version import __version__
from hsp_eval.data import contract, vocab
from hsp_eval.data.dataset import Dataset
from hsp_eval.data.fingerprint import fingerprint
from hsp_eval.data.load import load_dataset
from hsp_eval.data.problems import DataContractError, Problem, ValidationReport

__all__ = ["Dataset", "DataContractError", "Problem", "ValidationReport", "contract", "fingerprint", "indicators",
           "load_dataset", "vocab", "__version__"]

"""Layer 2, synthetic data: whole datasets under the data contract, with known effects planted.

Uses only the data layer (the contract and its vocabularies). :mod:`~hsp_eval.synthetic.build`
writes a dataset; :mod:`~hsp_eval.synthetic.roll` makes the roll (students, families, years),
:mod:`~hsp_eval.synthetic.school` each school's records, :mod:`~hsp_eval.synthetic.text` names and
texts. ``docs/synthetic.md`` describes the model.
"""

from hsp_eval.synthetic.build import KNOWN_EFFECTS, generate, write_dataset

__all__ = ["KNOWN_EFFECTS", "generate", "write_dataset"]

"""How the reference groups of "schools like ours" are formed on a dataset: the figures of docs/reference-groups.md.

    hsp-eval generate /tmp/g250 --schools 250 --years 2022-2025 --seed 7 --format parquet
    mkdir -p /tmp/p250 && .venv/bin/python -c "from hsp_eval.run.batch import prepare_data; \
        prepare_data('/tmp/g250', '/tmp/p250', '/tmp/r250', key_file='data/demo/disclosure.key')"
    .venv/bin/python bench/reference_groups.py /tmp/r250/_data

(the batch's data step alone, with no params files and the demo's key; any folder holding the
batch's ``publication.parquet`` and ``schools.parquet`` will do: the reference table is made again
from them, as the data step makes it). Prints, as Markdown: the schools by
type and Equity Index band; for every school, key indicator and year, which grouping its reference
used and how many schools the group had; and, for the last year, each (type, band) cell's grouping
for a share of families (``reach``) and for the indicator with the fewest published values.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from hsp_eval.reports import reference
from hsp_eval.reports.prepared import EQI_BANDS, NO_EQI


def markdown(df: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (index as the first columns)."""
    df = df.reset_index()
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="a folder with the batch's publication.parquet and schools.parquet")
    args = ap.parse_args(argv)
    schools = pd.read_parquet(args.data / "schools.parquet")
    ref = reference.reference_table(reference.publication_school_rows(args.data / "publication.parquet"), schools)
    bands = [b for b, _, _ in EQI_BANDS] + [NO_EQI]
    cells = schools.groupby(["school_type", "eqi_band"]).size().unstack(fill_value=0)
    cells = cells.reindex(columns=[b for b in bands if b in cells.columns])
    cells["all bands"] = cells.sum(axis=1)
    print(f"## Schools by type and Equity Index band ({len(schools)} schools)\n")
    print(markdown(cells))
    every = schools[["school_id", "school_type", "eqi_band"]].merge(ref, on=["school_type", "eqi_band"])
    n = len(every)
    print(f"\n## Grouping used, per school, key indicator and year ({n:,} comparisons)\n")
    share = every.groupby("grouping").agg(comparisons=("school_id", "size"), min_schools=("schools", "min"),
                                          median_schools=("schools", "median"), max_schools=("schools", "max"))
    share.insert(1, "share", (share["comparisons"] / n).map(lambda x: f"{x:.1%}"))
    print(markdown(share.reindex([g for g in reference.GROUPINGS if g in share.index])))
    print("\n## Grouping used, by indicator (comparisons: schools x years)\n")
    print(markdown(pd.crosstab(every["indicator"], every["grouping"]).reindex(list(reference.reference_indicators()))))
    last = int(ref["year"].max())
    fewest = (ref[ref["year"] == last].groupby("indicator")["schools"].max().idxmin())
    for ind in dict.fromkeys(["reach", fewest]):
        r = ref[(ref["year"] == last) & (ref["indicator"] == ind)]
        t = r.merge(cells["all bands"].rename("schools of the type").reset_index(), on="school_type")
        t = t.merge(schools.groupby(["school_type", "eqi_band"]).size().rename("schools in the cell").reset_index(),
                    on=["school_type", "eqi_band"])
        t = t.set_index(["school_type", "eqi_band"])[["schools in the cell", "schools of the type", "grouping",
                                                       "schools"]]
        print(f"\n## {ind}, {last}: each cell's reference group (schools: with a published value in the group)\n")
        print(markdown(t.rename(columns={"schools": "schools in its reference group"})))


if __name__ == "__main__":
    main()

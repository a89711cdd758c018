"""Plain Splink, run the way its own README quickstart and tutorials do: the comparison
library's default comparisons, tutorial-style blocking, EM training, clustering at 0.95.

The peer of Nexo's linkage in ``bench/linkage.py``: same records, same machine, same run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from nexo.linkage.domain import Demographics


def _clean(value: str | None) -> str | None:
    return value.strip().lower() or None if value else None


def plain_table(records: Sequence[Demographics]) -> pa.Table:
    """The records as a tutorial would prepare them: lower-cased text, ISO dates."""
    cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "unique_id",
            "first_name",
            "surname",
            "second_surname",
            "dob",
            "sex",
            "national_id",
            "city",
            "postcode",
            "email",
            "phone",
        )
    }
    for i, d in enumerate(records):
        cols["unique_id"].append(i)
        cols["first_name"].append(_clean(d.given_names))
        cols["surname"].append(_clean(d.family_name))
        cols["second_surname"].append(_clean(d.second_family_name))
        cols["dob"].append(d.birth_date.isoformat() if d.birth_date else None)
        cols["sex"].append(d.sex)
        cols["national_id"].append(d.id_value)
        cols["city"].append(_clean(d.locality))
        cols["postcode"].append(_clean(d.postcode))
        cols["email"].append(_clean(d.email))
        cols["phone"].append(_clean(d.phone))
    return pa.Table.from_pydict(cols)


def run_plain_splink(table: pa.Table) -> tuple[list[int], dict[str, float]]:
    """Cluster labels per record (position) and timings."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.WARNING)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    db_api = DuckDBAPI()
    df = db_api.register(table, dataset_display_name="persons")
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.NameComparison("second_surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.ExactMatch("national_id"),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode"),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("first_name", "surname"),
            block_on("surname", "dob"),
            block_on("first_name", "dob"),
            block_on("postcode", "first_name"),
            block_on("national_id"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    linker = Linker(df, settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "dob"), block_on("national_id")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name", "surname")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    timings["train"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_weight=-10, warning_mode="never")
    timings["predict"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.95)
    out = clusters.as_pyarrow_table().select(["unique_id", "cluster_id"])
    labels = [0] * table.num_rows
    for uid, cid in zip(
        out.column("unique_id").to_pylist(), out.column("cluster_id").to_pylist(), strict=True
    ):
        labels[uid] = cid
    timings["cluster"] = time.perf_counter() - t2
    timings["total"] = time.perf_counter() - t0
    return labels, timings

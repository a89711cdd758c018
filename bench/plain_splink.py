"""Plain Splink, run the way its own README quickstart and tutorials do: the comparison
library's default comparisons, tutorial-style blocking, EM training, clustering at 0.95.

The peer of Nexo's linkage in ``bench/linkage.py``: same records, same machine, same run.
"""

from __future__ import annotations

import logging
import time

import pyarrow as pa
import pyarrow.compute as pc


def _lower(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.utf8_lower(pc.utf8_trim_whitespace(column))


def plain_table(raw: pa.Table) -> pa.Table:
    """The records as a tutorial would prepare them: lower-cased text, ISO dates.

    ``raw`` is ``nexo.linkage.frame.raw_table`` of the records: the same input Nexo gets.
    """
    return pa.table(
        {
            "unique_id": raw["unique_id"],
            "first_name": _lower(raw["given_names"]),
            "surname": _lower(raw["family_name"]),
            "second_surname": _lower(raw["second_family_name"]),
            "dob": pc.strftime(pc.cast(raw["birth_date"], pa.timestamp("s")), format="%Y-%m-%d"),
            "sex": raw["sex"],
            "national_id": raw["id_value"],
            "city": _lower(raw["locality"]),
            "postcode": _lower(raw["postcode"]),
            "email": _lower(raw["email"]),
            "phone": _lower(raw["phone"]),
        }
    )


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

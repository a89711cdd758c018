"""The same pipeline on Splink's Spark backend (extra ``nexo[spark]``, local mode).

Runs in the default suite: the ``dev`` extra installs pyspark, and Java 17 must be on the PATH.
Where pyspark or Java is missing the test is skipped, and says why.
"""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import pytest
from town import TOWN, person, run_id

from nexo.linkage import batch, frame
from nexo.linkage.backend import DuckDBBackend, SparkBackend
from nexo.linkage.domain import Demographics, RecordKey
from nexo.linkage.model import adapt_prior
from nexo.linkage.service import default_model

pytest.importorskip("pyspark", reason="the Spark backend needs: pip install 'nexo[spark]'")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java 17 on the PATH", allow_module_level=True)


def test_spark_links_exactly_like_duckdb() -> None:
    records = [Demographics.of(RecordKey(a, s, r), p) for a, s, r, p in TOWN]
    records.append(  # a third copy of Camila, with a typo, for a chain of three
        Demographics.of(
            RecordKey("social", "beneficiaries", "B9"),
            person(
                "Camila", "Gonzales", "Muñoz", date(1990, 3, 8), "female", nid=run_id(17554321)
            ),  # fmt: skip
        )
    )
    table = frame.to_table(frame.raw_table(records))
    model = adapt_prior(default_model(), len(records))
    spark = SparkBackend(partitions=2)
    try:
        on_spark = batch.score(table, spark, model=model)
    finally:
        spark.close()
    on_duckdb = batch.score(table, DuckDBBackend(), model=model)

    def pairs(scored: batch.Scored) -> dict[tuple[int, int], float]:
        rows = scored.pairs.to_pylist()
        return {(r["unique_id_l"], r["unique_id_r"]): r["match_probability"] for r in rows}

    spark_pairs, duck_pairs = pairs(on_spark), pairs(on_duckdb)
    assert spark_pairs.keys() == duck_pairs.keys() and len(spark_pairs) >= 5
    for key, p in duck_pairs.items():
        assert spark_pairs[key] == pytest.approx(p, abs=1e-9)
    labels = batch.cluster_table(table, on_spark).labels
    assert labels == batch.cluster_table(table, on_duckdb).labels
    by_id = {d.key.record_id: labels[i] for i, d in enumerate(records)}
    assert by_id["E3"] == by_id["B5"] == by_id["B9"] and by_id["B3"] != by_id["B4"]


@pytest.mark.skipif(
    not os.environ.get("NEXO_TEST_SPARK_TRAINING"),
    reason="training on Spark takes minutes in local mode; set NEXO_TEST_SPARK_TRAINING=1",
)
def test_spark_trains_the_model_and_links_a_synthetic_country(country: Path) -> None:
    from test_frame import country_records

    from nexo.linkage.evaluate import accuracy
    from nexo.linkage.service import read_truth

    records = country_records(country, "cl")
    table = frame.to_table(frame.raw_table(records))
    spark = SparkBackend(partitions=4)
    try:
        scored = batch.score(
            table, spark, training=batch.Training(u_max_pairs=3e5, em_max_pairs=None)
        )
    finally:
        spark.close()
    labels = batch.cluster_table(table, scored).labels
    truth = read_truth(country / "truth" / "persons.csv")
    acc = accuracy({d.key: labels[i] for i, d in enumerate(records)}, truth)
    assert scored.model["sql_dialect"] == "spark"
    assert acc.f1 >= 0.99

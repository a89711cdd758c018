"""Where Splink runs: DuckDB in process (default) or Spark (extra ``nexo[spark]``).

A backend is a small seam: it gives Splink a database API, takes an Arrow table in and gives
Arrow tables back. Everything else in the pipeline is the same on both.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Protocol

import pyarrow as pa

from nexo.errors import ConfigurationError
from nexo.linkage.expr import DIALECTS, Dialect


class Backend(Protocol):
    name: str

    @property
    def dialect(self) -> Dialect: ...

    def db_api(self) -> Any:
        """The Splink database API object."""
        ...

    def register(self, table: pa.Table, name: str) -> Any:
        """Register an Arrow table with Splink; returns the SplinkDataFrame."""
        ...

    def to_arrow(self, splink_df: Any) -> pa.Table: ...

    def close(self) -> None: ...


class _SplinkApi:
    """What both backends do the same way through Splink's database API (``self._api``)."""

    name: str
    _api: Any

    @property
    def dialect(self) -> Dialect:
        return DIALECTS[self.name]

    def db_api(self) -> Any:
        return self._api

    def register(self, table: pa.Table, name: str) -> Any:
        return self._api.register(table, dataset_display_name=name)

    def to_arrow(self, splink_df: Any) -> pa.Table:
        table: pa.Table = splink_df.as_pyarrow_table()
        return table


class DuckDBBackend(_SplinkApi):
    name = "duckdb"

    def __init__(self, *, threads: int | None = None, memory_limit: str | None = None) -> None:
        import duckdb
        from splink import DuckDBAPI

        con = duckdb.connect(":memory:")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            con.execute("SET memory_limit = ?", [memory_limit])
        self._con = con
        self._api = DuckDBAPI(connection=con)

    def close(self) -> None:
        self._con.close()


class SparkBackend(_SplinkApi):
    """Splink on Spark. Without a session, starts one in local mode (``local[*]``)."""

    name = "spark"

    def __init__(self, session: Any | None = None, *, partitions: int = 8) -> None:
        try:
            from pyspark.sql import SparkSession
            from splink import SparkAPI
            from splink.backends.spark import similarity_jar_location
        except ImportError as e:
            raise ConfigurationError(
                "the Spark backend needs pyspark", hint='pip install "nexo[spark]"'
            ) from e
        self._own = session is None
        if session is None:
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            session = (
                SparkSession.builder.master("local[*]")
                .appName("nexo-linkage")
                .config("spark.jars", similarity_jar_location())
                .config("spark.sql.shuffle.partitions", str(partitions))
                .config("spark.default.parallelism", str(partitions))
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                .config("spark.driver.memory", "2g")
                .getOrCreate()
            )
            session.sparkContext.setLogLevel("ERROR")
            session.sparkContext.setCheckpointDir(
                os.path.join(os.environ.get("TMPDIR", "/tmp"), "nexo-spark-checkpoints")
            )
        self.session = session
        self._api = SparkAPI(  # type: ignore[no-untyped-call]
            spark_session=session,
            num_partitions_on_repartition=partitions,
            # in local mode, keeping intermediate tables in memory beats writing them out
            break_lineage_method="persist" if self._own else None,
        )

    def close(self) -> None:
        if self._own:
            self.session.stop()


def make_backend(name: str, **options: Any) -> Backend:
    if name == "duckdb":
        return DuckDBBackend(**options)
    if name == "spark":
        return SparkBackend(**options)
    raise ConfigurationError(
        f"unknown linkage backend {name!r}", hint="choose duckdb (default) or spark"
    )

"""Reader-only indexes: which they are, and that an upgrade builds any a bulk load left missing."""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text

from nexo.store import bulk
from nexo.store.migrate import upgrade


def _indexes(engine: Engine) -> set[str]:
    names: set[str] = set()
    insp = inspect(engine)
    for table in insp.get_table_names():
        names |= {str(i["name"]) for i in insp.get_indexes(table)}
    return names


def test_reader_only_indexes_are_plain_indexes_of_the_tables_written() -> None:
    persons = {i.name for i in bulk.reader_only_indexes({"person_record"})}
    assert persons == {"ix_person_identifier_lookup"}  # identifiers are written with persons
    every = bulk.reader_only_indexes()
    assert len(every) == 7 and not any(i.unique for i in every)
    assert {i.name for i in bulk.reader_only_indexes({"household_membership"})} == {
        "ix_household_membership_household_id",
        "ix_household_membership_person_record_id",
    }


def test_should_defer_only_loads_big_for_their_store() -> None:
    assert not bulk.should_defer(None, 0)  # an input whose size is unknown
    assert not bulk.should_defer(bulk.MIN_ROWS - 1, 0)
    assert bulk.should_defer(bulk.MIN_ROWS, 0)
    assert bulk.should_defer(50_000, 50_000)
    assert not bulk.should_defer(50_000, 50_001)


def test_restore_builds_reader_indexes_a_bulk_load_left_missing(engine: Engine) -> None:
    every = bulk.reader_only_indexes()
    with engine.begin() as conn:
        bulk.drop(conn, every)
    missing = {str(i.name) for i in every}
    assert not missing & _indexes(engine)
    upgrade(engine)  # a migration alone leaves them to the running load
    assert not missing & _indexes(engine)
    assert sorted(bulk.restore(engine)) == sorted(missing)
    assert missing <= _indexes(engine)
    assert bulk.restore(engine) == []  # nothing left to build
    if engine.dialect.name == "sqlite":  # (the sort's helper threads were for the build only)
        with engine.connect() as conn:
            bulk.restore(conn)
            assert conn.exec_driver_sql("PRAGMA threads").scalar_one() == 0


def test_versions_are_looked_up_through_the_unique_key(engine: Engine) -> None:
    """Ingest finds a record's versions by the unique version key (the key index is gone)."""
    assert "ix_source_record_key" not in _indexes(engine)
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        plan = " ".join(
            str(r[-1])
            for r in conn.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT id, version, content_hash FROM source_record "
                    "WHERE agency = 'a' AND "
                    "source = 's' AND entity_type IN ('person') AND source_record_id IN ('1', '2')"
                )
            )
        )
    assert "SEARCH source_record USING INDEX sqlite_autoindex" in plan, plan
    assert "source_record_id=?" in plan, plan


def test_postgres_statistics_keep_up_with_a_load(engine: Engine) -> None:
    """A load analyses the tables it writes each time it has doubled them (from 5,000 rows);
    SQLite plans without such statistics."""
    stats = bulk.Statistics(["source_record", "person_record"])
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        assert not stats.written(conn, bulk.ANALYZE_MIN_ROWS - 1)
        assert stats.written(conn, 1) is pg
        assert not stats.written(conn, bulk.ANALYZE_MIN_ROWS - 1)
        assert stats.written(conn, 1) is pg  # 5,000 more: as many as at the last analysis
        assert not stats.written(conn, 2 * bulk.ANALYZE_MIN_ROWS - 1)
    if pg:
        with engine.connect() as conn:
            analysed = conn.execute(
                text(
                    "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() "
                    "AND last_analyze IS NOT NULL"
                )
            )
            assert {r[0] for r in analysed} == {"source_record", "person_record"}

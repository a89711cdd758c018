"""Map chunks in worker processes while the main process reads and writes.

Mapping and validating rows is pure Python work bound to one core per process; on a machine
with more cores, workers map chunk k+1.. while the main process commits chunk k. Results come
back in input order, so commits (and their resume points) stay in order: a crash at any moment
leaves what a single-process ingest would have left.

Workers are spawned (not forked: the parent holds database connections and may run threads).
Read-ahead processes fork from multiprocessing's fork server instead, a clean process that
loaded their modules once (``PRELOAD``), where the platform has one.
Each has its own pipe and the parent keeps no copy of the worker's end, so a worker whose parent
dies (even by SIGKILL) reads end-of-file and exits. As with any spawned process, a program that
ingests with workers must guard its main module (``if __name__ == "__main__":``).
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing as mp
import os
import queue
import shutil
import tempfile
import threading
import traceback
from collections import deque
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from nexo.adapters.chunk import ChunkOut, MappedChunk, map_block, map_chunk
from nexo.adapters.readers import RawRow, ReadInfo, reader_for
from nexo.adapters.readers.csv_blocks import Chunk, PlainBlock, read_blocks, readable
from nexo.adapters.spec import CsvFormat, Mapping
from nexo.errors import NexoError
from nexo.model import EntityType
from nexo.store.repository import IDENT_KEYS, NewRecord, PersonBatch

IN_FLIGHT = 1  # a chunk per worker: a second one would block on the pipe (deadlock)
NICE = 5  # read-ahead processes' niceness
AHEAD = 1  # chunks the read-ahead process's receiving thread holds besides the one it reads


class WorkerFailed(NexoError):
    """A worker process failed while mapping a chunk."""

    code = "worker-failed"


Packed = tuple[Any, ...]


def pack_rows(rows: list[RawRow]) -> Packed:
    """Rows as plain lists and tuples (pickled many times faster than objects)."""
    keys = next((list(r.values) for r in rows if r.values and r.problem is None), [])
    values = [
        tuple(r.values.values()) if r.problem is None and list(r.values) == keys else r.values
        for r in rows
    ]
    return (
        [r.number for r in rows],
        [r.raw for r in rows],
        keys,
        values,
        {i: r.problem for i, r in enumerate(rows) if r.problem is not None},
    )


def unpack_rows(packed: Packed) -> list[RawRow]:
    numbers, raws, keys, values, problems = packed
    return [
        RawRow(
            n, raw, v if isinstance(v, dict) else dict(zip(keys, v, strict=True)), problems.get(i)
        )
        for i, (n, raw, v) in enumerate(zip(numbers, raws, values, strict=True))
    ]


def pack_result(mapped: MappedChunk) -> Packed:
    """Mapped records with their projection computed, as tuples (no model objects)."""
    keys: dict[str, list[str]] = {}
    records = []
    for r in mapped.records:
        columns, identifiers = r.projected()
        etype = r.entity_type.value
        names = keys.setdefault(etype, list(columns))
        records.append(
            (etype, r.record_id, r.text, r.content_hash, r.source_updated_on,
             tuple(columns[k] for k in names), tuple(tuple(i.values()) for i in identifiers))
        )  # fmt: skip
    return keys, records, mapped.quarantine, mapped.findings, mapped.ok_rows, mapped.batch


def unpack_result(packed: Packed) -> MappedChunk:
    keys, records, quarantine, findings, ok_rows, batch = packed
    types = {etype: EntityType(etype) for etype in keys}
    return MappedChunk(
        [
            NewRecord(
                types[etype], rid, None, text, digest, updated,
                dict(zip(keys[etype], columns, strict=True)),
                tuple(dict(zip(IDENT_KEYS, i, strict=True)) for i in idents),
            )
            for etype, rid, text, digest, updated, columns, idents in records
        ],
        quarantine,
        findings,
        ok_rows,
        batch,
    )  # fmt: skip


def _serve(conn: Connection, mapping: Mapping, out: ChunkOut) -> None:  # pragma: no cover
    """A worker's loop (runs in the child, hence invisible to coverage)."""
    import gc

    from nexo.adapters.mapper import RowMapper

    gc.set_threshold(50_000, 10, 10)
    try:
        mapper = RowMapper(mapping)
    except BaseException as e:  # noqa: BLE001 - reported to the parent
        conn.send(("error", f"{type(e).__name__}: {e}"))
        return
    while True:
        try:
            packed = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if packed is None:
            return
        try:
            conn.send(("ok", pack_result(map_chunk(mapper, unpack_rows(packed), out))))
        except (BrokenPipeError, OSError):
            return
        except BaseException:  # noqa: BLE001 - reported to the parent
            conn.send(("error", traceback.format_exc(limit=8)))
            return


def _read_ahead(  # pragma: no cover - runs in the child
    conn: Connection,
    starts: Connection,
    mapping: Mapping,
    path: Path,
    chunk_rows: int,
    stage: Path | None,
    part: tuple[int, int],
) -> None:
    """A read-ahead process: once ready, wait for the start (``starts``: the row ``after``
    which to read, the chunks' ``ChunkOut`` and the input's header), then read the input,
    map its part of the chunks (``part``: (i, n), chunks i, i + n, i + 2n...), send them
    (with ``stage``, a folder, their person batches staged: ``store/staging.py``)."""
    import gc

    from nexo.adapters.mapper import RowMapper
    from nexo.store.staging import PersonColumns
    from nexo.store.staging import stage as staged

    gc.set_threshold(50_000, 10, 10)
    with contextlib.suppress(AttributeError, OSError):  # (the ingest process, which writes
        os.nice(NICE)  # every chunk, is the one to wait least for a core)
    try:
        mapper = RowMapper(mapping)
        if stage is not None:
            import adbc_driver_sqlite.dbapi  # noqa: F401 - (loaded before the start)
        try:
            after, out, header = starts.recv()
        except EOFError:
            return  # not started: the ingest did not need this process after all
        starts.close()
        chunks = _chunks_after(mapping, mapper.columns, path, after, chunk_rows, header, part)
        for chunk in chunks:
            if isinstance(chunk, PlainBlock):
                mapped, last = map_block(mapper, chunk, out, stage is not None), chunk.last
            else:
                mapped, last = map_chunk(mapper, chunk, out), chunk[-1].number
            if stage is not None and isinstance(mapped.batch, PersonBatch | PersonColumns):
                mapped.batch = staged(mapped.batch, stage)
            conn.send(("ok", len(chunk), last, mapped))
        conn.send(("end", 0, 0, None))
    except (BrokenPipeError, EOFError, OSError):
        return  # the parent is gone
    except BaseException:  # noqa: BLE001 - reported to the parent
        try:
            conn.send(("error", 0, 0, traceback.format_exc(limit=8)))
        except OSError:
            return


def _chunks_after(
    mapping: Mapping,
    columns: list[str],
    path: Path,
    after: int,
    chunk_rows: int,
    header: list[str] | None,
    part: tuple[int, int] = (0, 1),
) -> Iterator[Chunk]:
    """The input's rows after row ``after``, in chunks: plain blocks of CSV lines where
    ``csv_blocks`` can read them, else the reader's rows. With ``part`` (i, n), only chunks
    i, i + n, i + 2n... (the others are read only to find where the next one starts)."""
    fmt = mapping.spec.format
    if isinstance(fmt, CsvFormat) and readable(fmt, header):
        assert header is not None
        yield from read_blocks(path, fmt, header, after, chunk_rows, part)
        return
    mine, every = part
    rows = (r for r in reader_for(fmt.type)(path, fmt, columns, ReadInfo()) if r.number > after)
    for k in itertools.count():
        chunk = list(itertools.islice(rows, chunk_rows))
        if not chunk:
            return
        if k % every == mine:
            yield chunk


PIPE_BYTES = 1 << 20


def _widen(conn: Connection) -> None:
    """A 1 MiB pipe where Linux allows it (the default 64 KiB costs a system call and a
    buffer per 64 KiB of a chunk of several MiB)."""
    setsize = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl else None
    if setsize is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(conn.fileno(), setsize, PIPE_BYTES)


def follow_on(
    after: int, chunks: Iterable[tuple[int, int, MappedChunk]]
) -> Iterator[tuple[int, int, MappedChunk]]:
    """``chunks`` (rows, last row number, chunk), each checked to start right after the one
    before (the first after row ``after``): read-ahead processes that each read the input must
    cut it alike, and do unless the input changes while they read it."""
    for rows, last, chunk in chunks:
        if last - rows != after:
            raise WorkerFailed(
                f"the read-ahead processes read the input differently: a chunk of rows "
                f"{last - rows + 1} to {last} came after row {after}",
                hint="the input must not change during an ingest; run it again on a copy that "
                "does not change, or read in one process: NEXO_INGEST__WORKERS=1",
            )
        after = last
        yield rows, last, chunk


#: what a read-ahead process needs, loaded once by the fork server its processes fork from
PRELOAD = [
    "nexo.adapters.workers",
    "nexo.adapters.mapper",
    "nexo.adapters.vector",
    "nexo.store.staging",
    "adbc_driver_sqlite.dbapi",
]


def _context() -> Any:
    """Where read-ahead processes come from: forked from a server process that loaded their
    modules once (about a second of a spawned process's start), else spawned."""
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


class _Reader:
    """One read-ahead process, its pipe, and the thread that takes chunks off the pipe while
    the ingest commits (else the child, its chunk larger than the pipe, would wait for the
    commit to end before it maps on)."""

    def __init__(self, ctx: Any, args: tuple[Any, ...]) -> None:
        self.conn, child = ctx.Pipe(duplex=False)
        starts, self.starts = ctx.Pipe(duplex=False)
        _widen(self.conn)
        self.proc = ctx.Process(target=_read_ahead, args=(child, starts, *args), daemon=True)
        self.proc.start()
        child.close()  # only the child holds its end: it sees a broken pipe if we die
        starts.close()  # (and end-of-file while it waits for the start)
        self.received: queue.Queue[tuple[str, int, int, Any]] = queue.Queue(maxsize=AHEAD)
        self.receiver = threading.Thread(target=self._receive, daemon=True)
        self.receiver.start()

    def _receive(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                message = ("stopped", 0, 0, None)
            self.received.put(message)
            if message[0] != "ok":
                return

    def stop(self) -> None:
        if self.receiver.is_alive():  # stopped early: the child's end of the pipe stops it
            self.proc.terminate()

    def close(self) -> None:
        self.starts.close()
        while self.receiver.is_alive():
            with contextlib.suppress(queue.Empty):
                self.received.get(timeout=0.05)  # (it may wait for room to say so)
        self.conn.close()
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(timeout=5)


class ReadAhead:
    """Processes that read and map the rest of an input while this one writes.

    For a vectorised mapping (``vector.py``) mapping costs less than sending rows to mapping
    workers; what this process then spends most on is writing. Each read-ahead process reads
    the input itself from the row after ``after``, maps every ``readers``-th chunk (the
    first process chunks 0, ``readers``, ...; the second chunks 1, ``readers`` + 1...) and
    sends them, in input order; this process takes them in turns and commits them as before.
    Only the pipes link them: a child blocks when a chunk is not taken yet (memory stays
    bounded) and exits when this process is gone, even by SIGKILL. With ``stage`` (for a
    SQLite store) it also stages each person batch (``store/staging.py``), so that what
    SQLite costs per value is spent in the child.
    """

    def __init__(
        self,
        mapping: Mapping,
        path: Path,
        chunk_rows: int,
        stage: bool = False,
        readers: int = 1,
    ) -> None:
        ctx = _context()
        # (the children stage each batch in a file of this folder; ``close`` removes it)
        self.folder = Path(tempfile.mkdtemp(prefix="nexo-read-ahead-")) if stage else None
        args = (mapping, path, chunk_rows, self.folder)
        self.after: int | None = None
        self._readers: list[_Reader] = []
        self._failed: BaseException | None = None
        # (from a thread: a process's start waits for the fork server to load its modules)
        self._starting = threading.Thread(
            target=self._start_up, args=(ctx, args, readers), name="nexo-read-ahead", daemon=True
        )
        self._starting.start()

    def _start_up(self, ctx: Any, args: tuple[Any, ...], readers: int) -> None:
        try:
            for i in range(readers):
                self._readers.append(_Reader(ctx, (*args, (i, readers))))
        except BaseException as e:  # noqa: BLE001 - raised where the processes are needed
            self._failed = e

    @property
    def readers(self) -> list[_Reader]:
        """The read-ahead processes, once started up."""
        self._starting.join()
        if self._failed is not None:
            raise WorkerFailed(f"a read-ahead process could not start: {self._failed}")
        return self._readers

    def start(self, after: int, out: ChunkOut, header: list[str] | None = None) -> None:
        """Read from the row after ``after`` on. (The processes start up when this object
        is made: starting one and loading its modules takes about a second, which the
        ingest spends meanwhile on its own first chunk.)"""
        self.after = after
        for reader in self.readers:
            reader.starts.send((after, out, header))

    @property
    def proc(self) -> Any:
        """The first read-ahead process."""
        return self.readers[0].proc

    def __iter__(self) -> Iterator[tuple[int, int, MappedChunk]]:
        """(rows, last row number, mapped chunk) for each chunk."""
        if self.after is None:
            raise RuntimeError("ReadAhead.start was not called")
        return follow_on(self.after, self._chunks())

    def _chunks(self) -> Iterator[tuple[int, int, MappedChunk]]:
        for reader in itertools.cycle(self.readers):
            status, rows, last, payload = reader.received.get()
            if status == "stopped":
                reader.proc.join(timeout=5)
                raise WorkerFailed(
                    f"the read-ahead process stopped (exit code {reader.proc.exitcode})",
                    hint="a program that starts an ingest must guard its main module with "
                    'if __name__ == "__main__"; or read in one process: NEXO_INGEST__WORKERS=0',
                )
            if status == "end":
                return  # (the chunk this one would have mapped next does not exist)
            if status != "ok":
                raise WorkerFailed(f"the read-ahead process failed:\n{payload}")
            yield rows, last, payload

    def close(self) -> None:
        self._starting.join()
        for reader in self._readers:
            reader.stop()
        for reader in self._readers:
            reader.close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


class MapperPool:
    """``workers`` processes mapping chunks; ``map`` yields results in input order."""

    def __init__(self, mapping: Mapping, out: ChunkOut, workers: int) -> None:
        ctx = mp.get_context("spawn")
        self.conns: list[Connection] = []
        self.procs: list[Any] = []
        for _ in range(workers):
            parent, child = ctx.Pipe(duplex=True)
            proc = ctx.Process(target=_serve, args=(child, mapping, out), daemon=True)
            proc.start()
            child.close()  # only the worker holds its end: it sees EOF if we die
            self.conns.append(parent)
            self.procs.append(proc)

    def _failed(self, worker: int) -> WorkerFailed:
        self.procs[worker].join(timeout=5)
        return WorkerFailed(
            f"mapping worker {worker} stopped (exit code {self.procs[worker].exitcode})",
            hint="a program that starts an ingest must guard its main module with "
            'if __name__ == "__main__"; or map in one process: NEXO_INGEST__WORKERS=0',
        )

    def _send(self, worker: int, chunk: list[RawRow]) -> None:
        try:
            self.conns[worker].send(pack_rows(chunk))
        except OSError:
            raise self._failed(worker) from None

    def _receive(self, worker: int) -> MappedChunk:
        try:
            status, payload = self.conns[worker].recv()
        except (EOFError, OSError):
            raise self._failed(worker) from None
        if status != "ok":
            raise WorkerFailed(f"mapping worker {worker} failed:\n{payload}")
        return unpack_result(payload)

    def map(self, chunks: Iterable[list[RawRow]]) -> Iterator[tuple[list[RawRow], MappedChunk]]:
        n = len(self.conns)
        pending: deque[tuple[int, list[RawRow]]] = deque()
        for k, chunk in enumerate(chunks):
            worker = k % n
            self._send(worker, chunk)
            pending.append((worker, chunk))
            if len(pending) >= IN_FLIGHT * n:
                worker, done = pending.popleft()
                yield done, self._receive(worker)
        while pending:
            worker, done = pending.popleft()
            yield done, self._receive(worker)

    def close(self) -> None:
        for conn in self.conns:
            try:
                conn.send(None)
            except OSError:
                pass
            conn.close()
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)

    def __enter__(self) -> MapperPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

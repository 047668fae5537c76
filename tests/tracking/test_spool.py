"""The spool file: what a writer leaves is read back exactly, a record torn by a crash or
damaged on disk is skipped without losing the others, and a live writer's file is never
taken from it. Numbered batches are written once by the local store."""

from __future__ import annotations

import math
import uuid
import zlib
from pathlib import Path

import pytest

from knot.errors import Unavailable
from knot.tracking import tables
from knot.tracking.buffer.spool import Spool, decode_record, spool_folder
from knot.tracking.buffer.writer import BatchWriter
from knot.tracking.entities import Batch, NewRun, RunStatus
from knot.tracking.sql_store import SqlTrackingStore
from tests.migrations import assert_migration_builds
from tests.servers import free_port

RUN = "a" * 32


def numbered(seq: int, writer: str = "b" * 32, **parts: object) -> Batch:
    batch = Batch(**parts)  # type: ignore[arg-type]
    batch.writer_id, batch.seq = writer, seq
    return batch


def sample() -> list[Batch]:
    start = NewRun(run_id=RUN, experiment_id="e" * 32, user="ana", start_time=5)
    values = [0.5, math.nan, math.inf, -math.inf]
    return [
        numbered(
            1,
            starts=[start],
            metrics=[(RUN, "loss", v, step, 10 + step) for step, v in enumerate(values)],
            params=[(RUN, "lr", "0.1")],
            tags=[(RUN, "phase", "offline")],
        ),
        numbered(2, ends=[(RUN, "FINISHED", 99)]),
    ]


def read_back(spool: Spool) -> list[Batch]:
    return [decode_record(record) for record, _ in spool.records() if record is not None]


def same(a: Batch, b: Batch) -> bool:
    # NaN != NaN, so compare the encoded form of the values
    return repr(a) == repr(b)


def test_an_abandoned_spool_is_adopted_whole_and_removed(tmp_path: Path) -> None:
    left = Spool(tmp_path, "1" * 32)
    left.add(sample())
    left.close()  # its process exited: the lock is gone, the file stays
    assert left.path.exists()
    heir = Spool(tmp_path, "2" * 32)
    assert heir.adopt() == 2
    assert not left.path.exists()
    got = read_back(heir)
    assert len(got) == 2 and all(same(x, y) for x, y in zip(got, sample(), strict=True))
    assert math.isnan(got[0].metrics[1][2]) and got[0].metrics[2][2] == math.inf


def test_a_record_torn_by_a_crash_or_damaged_is_skipped_and_the_rest_read(
    tmp_path: Path,
) -> None:
    left = Spool(tmp_path, "1" * 32)
    first, second = sample()
    left.add([first])
    left.close()
    data = left.path.read_bytes()
    body = data[9:-1]
    damaged = b"%08x %s\n" % (zlib.crc32(body) ^ 1, body)
    later = Spool(tmp_path, "3" * 32)
    later.add([second])
    later.close()
    good = later.path.read_bytes()
    later.path.unlink()
    # a damaged record, a good one, then an append cut short before its newline
    left.path.write_bytes(data + damaged + good + good[: len(good) // 2])
    heir = Spool(tmp_path, "2" * 32)
    assert heir.adopt() == 2
    got = read_back(heir)
    assert same(got[0], first) and same(got[1], second)


def test_a_live_writers_spool_is_not_taken(tmp_path: Path) -> None:
    live = Spool(tmp_path, "1" * 32)
    live.add(sample())  # still open: its lock is held
    other = Spool(tmp_path, "2" * 32)
    assert other.orphans() == [live.path]
    assert other.adopt() == 0
    assert live.path.exists() and not other.has_records()
    live.close()


def test_a_drained_spool_is_removed(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "1" * 32)
    spool.add(sample())
    ends = [end for _, end in spool.records()]
    spool.mark_sent(ends[0])
    assert spool.has_records() and spool.path.exists()
    spool.mark_sent(ends[1])
    assert not spool.has_records() and not spool.path.exists()


def test_the_spool_folder_is_per_store_and_never_holds_a_password(tmp_path: Path) -> None:
    a = spool_folder(tmp_path, "postgresql://ana:s3cret@db:5432/knot")
    b = spool_folder(tmp_path, "postgresql://ana:other@db:5432/knot")
    assert a != b and a.parent == tmp_path / "spool"
    assert "s3cret" not in str(a) and "ana" in a.name


def test_a_numbered_batch_delivered_twice_is_written_once(tmp_path: Path) -> None:
    store = SqlTrackingStore(f"sqlite:///{tmp_path / 'knot.db'}")
    exp = store.create_experiment("replays")
    start = NewRun(run_id=RUN, experiment_id=exp.experiment_id, user="ana", start_time=1)
    first = numbered(1, starts=[start], metrics=[(RUN, "loss", 0.5, 0, 1)])
    second = numbered(2, metrics=[(RUN, "loss", 0.25, 1, 2)], ends=[(RUN, "FINISHED", 3)])
    store.log_batch(first)
    store.log_batch(first)  # its answer was lost: sent again, no Conflict on the start
    store.log_batch(second)
    store.log_batch(first)  # an old one after a newer: still a replay
    run = store.get_run(RUN)
    assert run.status is RunStatus.FINISHED and run.metrics["loss"].count == 2
    assert [p.step for p in store.get_metric_history(RUN, "loss")] == [0, 1]
    # another writer's batch 1 is its own
    store.log_batch(numbered(1, writer="c" * 32, metrics=[(RUN, "loss", 0.1, 2, 4)]))
    assert store.get_run(RUN).metrics["loss"].count == 3
    store.close()


def test_the_migration_builds_the_writer_marks_table(tmp_path: Path) -> None:
    assert_migration_builds(tables, tmp_path)


def test_flush_raises_naming_the_spool_when_it_cannot_be_written(tmp_path: Path) -> None:
    from knot.client.rest_store import RestTrackingStore

    blocker = tmp_path / "spool"
    blocker.write_text("a file where the spool folder must go")
    folder = blocker / "store"
    store = RestTrackingStore(f"http://127.0.0.1:{free_port()}", connect_timeout=2.0)
    writer = BatchWriter(store, spool_folder=folder, retries=1)
    writer.add_metrics([(RUN, "loss", float(step), step, step) for step in range(100)])
    with pytest.raises(Unavailable) as info:
        writer.flush()
    assert str(folder / f"{writer.writer_id}.spool") in info.value.message
    assert "KNOT_HOME" in info.value.message
    with pytest.raises(Unavailable):
        writer.flush()  # still not durable: still an error
    blocker.unlink()  # room again: the points were held in memory and now go to the spool
    writer.flush()
    assert writer.spool is not None
    spooled = read_back(writer.spool)
    assert [m[3] for b in spooled for m in b.metrics] == list(range(100))
    writer.close()
    store.close()


def test_each_writer_numbers_its_batches(tmp_path: Path) -> None:
    store = SqlTrackingStore(f"sqlite:///{tmp_path / 'knot.db'}")
    exp = store.create_experiment("numbers")
    writer = BatchWriter(store, spool_folder=tmp_path / "spool")
    run_id = uuid.uuid4().hex
    writer.add_start(NewRun(run_id=run_id, experiment_id=exp.experiment_id, user="a", start_time=1))
    writer.flush()
    writer.add_metric(run_id, "loss", 1.0, 0, 0)
    writer.flush()
    from sqlalchemy import select

    with store.db.read() as conn:
        rows = conn.execute(select(tables.writer_marks)).all()
    assert [(r.writer_id, r.seq) for r in rows] == [(writer.writer_id, 2)]
    writer.close()
    store.close()


def test_a_closed_writer_leaves_its_spool_to_the_next_one(tmp_path: Path) -> None:
    from knot.client.rest_store import RestTrackingStore

    store = RestTrackingStore(f"http://127.0.0.1:{free_port()}", connect_timeout=2.0)
    writer = BatchWriter(store, spool_folder=tmp_path, retries=0)
    writer.add_metric(RUN, "loss", 1.0, 0, 0)
    writer.flush()
    writer.close()
    assert writer.spool is not None
    left = writer.spool.path.read_bytes()
    other = Spool(tmp_path, "9" * 32)
    other.add(sample())
    other.close()
    writer.flush(drain=True)  # what the exit hook does for every writer, closed ones too
    assert writer.spool.path.read_bytes() == left and other.path.exists()
    store.close()

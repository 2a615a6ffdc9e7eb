"""The fixes the fault suite called for, one behaviour each, in-process (fast)."""

from __future__ import annotations

import errno
import fcntl
import logging
import os

import numpy as np
import pandas as pd
import pytest

from pipeline.browse.limits import MAX_BODY, MAX_HEADERS, MAX_TARGET, RequestLimits
from pipeline.embedding_cache import EmbeddingCache
from pipeline.errors import ConfigError, StorageError, storage_problem
from pipeline.store import RunStore, text_key, write_parquet, write_text

# --- run folders ---------------------------------------------------------------------------------


def test_a_killed_runs_partial_folder_is_swept_by_the_next_run(tmp_path):
    dead = tmp_path / ".r.0badc0de.partial"
    dead.mkdir()
    (dead / "feedback.parquet").write_text("half")
    RunStore(tmp_path, "r").abandon()
    assert list(tmp_path.iterdir()) == []


def test_a_live_runs_partial_folder_is_left_alone(tmp_path):
    live = RunStore(tmp_path, "a")
    RunStore(tmp_path, "b").abandon()
    assert live.work_dir.is_dir()
    live.abandon()


def test_two_runs_of_one_id_assemble_apart_and_the_second_without_force_is_refused(tmp_path):
    first, second = RunStore(tmp_path, "r"), RunStore(tmp_path, "r")
    assert first.work_dir != second.work_dir
    write_text("first", first.path("insights.md"))
    first.commit()
    with pytest.raises(ConfigError, match="written by another run while this one ran"):
        second.commit()
    assert (tmp_path / "r" / "insights.md").read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_a_forced_run_swaps_in_place_and_frees_its_lock(tmp_path):
    RunStore(tmp_path, "r").commit()
    store = RunStore(tmp_path, "r", force=True)
    write_text("new", store.path("insights.md"))
    assert store.commit() == tmp_path / "r"
    assert (tmp_path / "r" / "insights.md").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["r"]
    fd = os.open(tmp_path / "r", os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # no lock left held on the published folder
    finally:
        os.close(fd)


def test_written_files_follow_the_umask_not_mkstemps_private_mode(tmp_path):
    write_text("x", tmp_path / "f.txt")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o666 & ~umask


# --- full disk -----------------------------------------------------------------------------------


def test_a_full_disk_while_writing_a_table_is_a_storage_error_naming_the_file(tmp_path, monkeypatch):
    def full(self, path, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    with pytest.raises(StorageError, match=r"themes\.parquet: cannot write it: no space left"):
        write_parquet(pd.DataFrame({"a": [1]}), tmp_path / "themes.parquet")
    assert list(tmp_path.iterdir()) == []


def test_pyarrows_errno_less_full_disk_is_recognised():
    assert storage_problem(OSError("[Errno 28] Error writing bytes to file. Detail: [errno 28] No space left")) == (
        "no space left on the device"
    )
    assert storage_problem(OSError(errno.EROFS, "Read-only file system")) == "the file system is read-only"
    assert storage_problem(ValueError("No space left on device")) is None
    assert storage_problem(OSError(errno.ENOENT, "gone")) is None


def test_a_cache_on_a_full_disk_only_warns_and_leaves_no_half_shard(tmp_path, monkeypatch, caplog):
    cache = EmbeddingCache(tmp_path, "model")
    real_save = np.save
    calls = []

    def save(handle, array):
        calls.append(array.shape)
        if len(calls) == 2:  # the vectors went in, the keys do not
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(handle, array)

    monkeypatch.setattr(np, "save", save)
    with caplog.at_level(logging.WARNING):
        cache.put_many([text_key("a")], np.ones((1, 3), np.float32))
        cache.put_many([text_key("b")], np.ones((1, 3), np.float32))  # no further try once unwritable
    assert "Embedding cache not written" in caplog.text
    assert len(calls) == 2
    assert sorted(p.name for p in cache.dir.iterdir()) == ["model.json"]


def test_a_shard_whose_keys_do_not_fit_its_vectors_is_skipped(tmp_path, caplog):
    cache = EmbeddingCache(tmp_path, "model")
    cache.put_many([text_key("a"), text_key("b")], np.ones((2, 3), np.float32))
    vecs = next(cache.dir.glob("shard-*.vecs.npy"))
    np.save(vecs, np.ones((5, 3), np.float32))
    with caplog.at_level(logging.WARNING):
        assert len(EmbeddingCache(tmp_path, "model")) == 0
    assert "Skipping embedding cache shard" in caplog.text


def test_garbage_of_a_writer_killed_mid_put_is_swept_once_old(tmp_path):
    cache = EmbeddingCache(tmp_path, "model")
    cache.dir.mkdir(parents=True)
    old_tmp, young_tmp = cache.dir / ".shard-x.vecs.npy.1.tmp", cache.dir / ".shard-y.vecs.npy.2.tmp"
    orphan = cache.dir / "shard-z.vecs.npy"
    for path in (old_tmp, young_tmp, orphan):
        path.write_bytes(b"half")
    for path in (old_tmp, orphan):
        os.utime(path, (1, 1))
    cache.put_many([text_key("a")], np.ones((1, 3), np.float32))
    assert young_tmp.exists() and not old_tmp.exists() and not orphan.exists()


# --- request limits ------------------------------------------------------------------------------


@pytest.fixture
def limited():
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"bytes": len(await request.body())})

    app = Starlette(routes=[Route("/", echo, methods=["GET", "POST"])], middleware=[Middleware(RequestLimits)])
    return TestClient(app)


def test_a_small_request_passes(limited):
    assert limited.post("/", content=b"x" * 100).json() == {"bytes": 100}


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(limited):
    response = limited.post("/", content=b"x" * (MAX_BODY + 1))
    assert response.status_code == 413 and "limit" in response.json()["error"]
    assert response.headers["connection"] == "close"


def test_a_streamed_body_over_the_limit_is_refused(limited):
    def chunks():
        for _ in range(4):
            yield b"x" * MAX_BODY

    assert limited.post("/", content=chunks()).status_code == 413


def test_a_long_url_and_too_many_headers_are_refused(limited):
    assert limited.get("/?q=" + "a" * MAX_TARGET).status_code == 414
    headers = {f"x-h{i}": "v" for i in range(MAX_HEADERS + 1)}
    assert limited.get("/", headers=headers).status_code == 431


def test_a_content_length_that_is_not_a_number_is_refused(limited):
    assert limited.post("/", content=b"{}", headers={"content-length": "2x"}).status_code == 400

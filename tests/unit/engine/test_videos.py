"""The video lanes' schedule and a job's state over time (:mod:`fakeai.engine.videos`)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from fakeai.engine import videos
from fakeai.errors import ApiError
from fakeai.store.sqlite import SQLiteStore


def test_jobs_take_the_lane_that_frees_first(tmp_path):
    store = SQLiteStore(tmp_path)
    assert videos.schedule(store, 2, 10.0, now=100.0) == (100.0, 110.0)
    assert videos.schedule(store, 2, 4.0, now=101.0) == (101.0, 105.0)
    assert videos.schedule(store, 2, 1.0, now=102.0) == (105.0, 106.0)  # both busy: after the shorter
    assert videos.schedule(store, 2, 1.0, now=200.0) == (200.0, 201.0)  # idle lanes start at once


def test_concurrent_writers_never_share_a_lane(tmp_path):
    """Two handles on one store (as two worker processes have) racing for one lane: every job gets its
    own slot, back to back."""
    stores = [SQLiteStore(tmp_path), SQLiteStore(tmp_path)]
    with ThreadPoolExecutor(8) as pool:
        slots = list(pool.map(lambda i: videos.schedule(stores[i % 2], 1, 1.0, now=0.0), range(40)))
    assert sorted(start for start, _ in slots) == [float(i) for i in range(40)]


def test_a_deleted_unfinished_job_gives_its_lane_back(tmp_path):
    store = SQLiteStore(tmp_path)
    running = videos.schedule(store, 1, 10.0, now=100.0)  # (100, 110)
    queued = videos.schedule(store, 1, 10.0, now=101.0)  # (110, 120)
    videos.release(store, *queued, now=102.0)  # last on its lane: the lane frees when it would have started
    assert videos.schedule(store, 1, 1.0, now=103.0) == (110.0, 111.0)
    videos.release(store, 110.0, 111.0, now=104.0)
    videos.release(store, *running, now=105.0)  # running, and last again: the lane frees now
    assert videos.schedule(store, 1, 1.0, now=106.0) == (106.0, 107.0)
    videos.release(store, 106.0, 107.0, now=108.0)  # finished: nothing to give back
    assert videos.schedule(store, 1, 1.0, now=108.0) == (108.0, 109.0)


def test_a_deleted_job_with_a_job_behind_it_keeps_the_lane(tmp_path):
    store = SQLiteStore(tmp_path)
    first = videos.schedule(store, 1, 10.0, now=0.0)
    videos.schedule(store, 1, 10.0, now=0.0)  # (10, 20), behind the first
    videos.release(store, *first, now=1.0)
    assert videos.schedule(store, 1, 1.0, now=2.0) == (20.0, 21.0)


def test_a_job_is_queued_then_in_progress_then_completed():
    job = {"id": "video_x", "status": "queued", "progress": 0, "_state": {"start": 10.0, "end": 20.0}}
    assert videos.view(job, 5.0)["status"] == "queued"
    middle = videos.view(job, 15.0)
    assert (middle["status"], middle["progress"]) == ("in_progress", 50)
    done = videos.view(job, 20.0)
    assert (done["status"], done["progress"], done["completed_at"]) == ("completed", 100, 20)
    assert done["expires_at"] == 20 + videos.ASSET_TTL_S
    assert "_state" not in done and job["status"] == "queued"  # the stored job is not changed


def test_generation_time_scales_with_seconds_pixels_and_model():
    sora, pro = videos.video_model("sora-2"), videos.video_model("sora-2-pro-2025-10-06")
    assert videos.generation_seconds(sora, 720, 1280, 4, 5.0) == pytest.approx(5.0)
    assert videos.generation_seconds(sora, 1280, 720, 12, 5.0) == pytest.approx(15.0)
    assert videos.generation_seconds(pro, 1792, 1024, 4, 5.0) == pytest.approx(
        10.0 * 1792 * 1024 / (720 * 1280)
    )


@pytest.mark.parametrize(
    "model, size, seconds",
    [
        ("sora-2", "1792x1024", "4"),
        ("sora-2", "720x1280", "16"),
        ("wan", "15x16", 4),
        ("wan", "1920x1922", 4),
    ],
)
def test_model_limits(model, size, seconds):
    rules = videos.video_model(model)
    with pytest.raises(ApiError) as e:
        rules.size(size)
        rules.clip_seconds(seconds)
    assert e.value.status == 400 and e.value.param in ("size", "seconds")


def test_frame_rate_from_fps_or_frames():
    assert videos.frame_rate(None, None, 4) == 24
    assert videos.frame_rate(16, None, 4) == 16
    assert videos.frame_rate(None, 81, 5) == 17
    with pytest.raises(ApiError):
        videos.frame_rate(None, 10**6, 1)

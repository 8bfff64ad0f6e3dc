"""``/v1/videos`` through the official openai SDK and plain JSON (SGLang, AIPerf): jobs that queue on
shared lanes and complete, MP4s a real decoder (FFmpeg, through PyAV) plays, and bad input as 4xx."""

from __future__ import annotations

import base64
import io
import struct
import time
import zlib

import av
import httpx
import openai
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def a_png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = zlib.compress((b"\x00" + b"\x80\x40\x20" * width) * height)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def decode(mp4: bytes) -> tuple[int, int, int, list[bytes]]:
    """``(width, height, frames, [first and last frame's luma])`` as FFmpeg decodes the file, which
    must be H.264 with no decoder warning."""
    with av.logging.Capture() as logs, av.open(io.BytesIO(mp4)) as container:
        stream = container.streams.video[0]
        stream.codec_context.options = {"err_detect": "explode"}
        assert stream.codec_context.name == "h264"
        frames = list(container.decode(stream))
    assert not [entry for entry in logs if entry[0] <= av.logging.WARNING], logs
    luma = [bytes(frames[i].planes[0]) for i in (0, -1)]
    return frames[0].width, frames[0].height, len(frames), luma


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def fast(start_server):
    """A server whose videos take 0.3 s per 4 s of 720p, on one lane."""
    with start_server("--video-duration", "0.3", "--video-lanes", "1") as url:
        yield url


@pytest.fixture()
def sdk(fast):
    return openai.OpenAI(base_url=fast + "/v1", api_key="sk-test", max_retries=0)


def test_the_sdk_creates_polls_and_downloads_a_playable_video(sdk: openai.OpenAI) -> None:
    video = sdk.videos.create_and_poll(
        prompt="A calico cat playing a piano on stage", model="sora-2", seconds="4", size="1280x720"
    )
    assert video.status == "completed" and video.progress == 100 and video.error is None
    assert video.object == "video" and video.id.startswith("video_")
    assert (video.model, video.seconds, video.size) == ("sora-2", "4", "1280x720")
    assert video.prompt == "A calico cat playing a piano on stage"
    assert video.created_at <= video.completed_at < video.expires_at
    mp4 = sdk.videos.download_content(video.id).read()
    width, height, frames, (first, last) = decode(mp4)
    assert (width, height, frames) == (1280, 720, 4 * 24)
    assert first != last  # something moves
    thumb = sdk.videos.download_content(video.id, variant="thumbnail").read()
    assert png_size(thumb) == (1280, 720)
    sheet = sdk.videos.download_content(video.id, variant="spritesheet").read()
    assert png_size(sheet)[0] > 0
    # the same job draws the same bytes again (any worker, any time)
    assert sdk.videos.download_content(video.id).read() == mp4
    # a player seeking asks for byte ranges
    url = f"{sdk.base_url}videos/{video.id}/content"
    part = httpx.get(url, headers={"range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == mp4[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(mp4)}"
    tail = httpx.get(url, headers={"range": "bytes=-16"})
    assert tail.status_code == 206 and tail.content == mp4[-16:]
    past = httpx.get(url, headers={"range": f"bytes={len(mp4)}-"})
    assert past.status_code == 416 and past.json()["error"]["code"] == "range_not_satisfiable"
    assert past.headers["content-range"] == f"bytes */{len(mp4)}"
    several = httpx.get(url, headers={"range": "bytes=0-1,5-6"})
    assert several.status_code == 200 and several.content == mp4


def test_a_job_queues_behind_a_busy_lane_and_reports_its_progress(sdk: openai.OpenAI, fast: str) -> None:
    first = sdk.videos.create(prompt="first", model="sora-2-pro", size="1792x1024", seconds="12")
    second = sdk.videos.create(prompt="second", model="sora-2")
    assert first.status == "queued" or first.status == "in_progress"
    assert second.status == "queued"  # the one lane is busy for 0.3 x 2 x 2 x 3 ~ 3.5 s
    r = httpx.get(f"{fast}/v1/videos/{second.id}", headers={"authorization": "Bearer x"})
    assert r.status_code == 200 and r.headers["openai-poll-after-ms"] == "250"
    seen = set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        a, b = sdk.videos.retrieve(first.id), sdk.videos.retrieve(second.id)
        seen.add((a.status, b.status))
        assert 0 <= a.progress <= 100 and 0 <= b.progress <= 100
        if b.status == "completed":
            break
        time.sleep(0.1)
    # (the two are read one after the other, so the pair can straddle the moment the lane passes on:
    # that one lane serves one job at a time is test_every_worker_reports_the_same_lanes)
    assert ("in_progress", "queued") in seen and ("completed", "in_progress") in seen
    b = sdk.videos.retrieve(second.id)
    assert b.completed_at >= sdk.videos.retrieve(first.id).completed_at
    assert "openai-poll-after-ms" not in httpx.get(f"{fast}/v1/videos/{second.id}").headers


def test_every_worker_reports_the_same_lanes(start_server) -> None:
    """Two worker processes, one lane: jobs created over many connections (both workers take some)
    finish one after another, each a whole generation after the one before."""
    with start_server("--workers", "2", "--video-duration", "0.5", "--video-lanes", "1") as url:
        ids = []
        for i in range(4):
            with httpx.Client(base_url=url) as c:
                ids.append(c.post("/v1/videos", json={"prompt": f"clip {i}", "model": "sora-2"}).json()["id"])
        finished: dict[str, float] = {}
        deadline = time.monotonic() + 30
        while len(finished) < 4 and time.monotonic() < deadline:
            for video_id in ids:
                with httpx.Client(base_url=url) as c:
                    if (
                        video_id not in finished
                        and c.get(f"/v1/videos/{video_id}").json()["status"] == "completed"
                    ):
                        finished[video_id] = time.monotonic()
        assert list(finished) == ids  # in creation order
        times = list(finished.values())
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert all(gap > 0.3 for gap in gaps), gaps  # one lane: 0.5 s apart, not side by side


def test_sglang_json_bodies_with_any_model_size_and_frame_rate(fast: str) -> None:
    """AIPerf's ``video_generation`` posts JSON with SGLang's extras, polls, then downloads."""
    with httpx.Client(base_url=fast) as c:
        body = {
            "prompt": "a drone shot over a forest",
            "model": "Wan-AI/Wan2.1-T2V-1.3B-Diffusers",
            "size": "854x480",
            "seconds": 2,
            "fps": 16,
            "seed": 7,
            "num_inference_steps": 50,
            "guidance_scale": 5.0,
            "negative_prompt": "blurry",
        }
        job = c.post("/v1/videos", json=body).json()
        assert job["status"] in ("queued", "in_progress") and (job["seconds"], job["size"]) == (
            "2",
            "854x480",
        )
        deadline = time.monotonic() + 20
        while c.get(f"/v1/videos/{job['id']}").json()["status"] != "completed":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        mp4 = c.get(f"/v1/videos/{job['id']}/content").content
        assert decode(mp4)[:3] == (854, 480, 32)
        # num_frames sets the rate over the clip's seconds; the seed changes the picture
        other = c.post("/v1/videos", json={**body, "seed": 8, "fps": None, "num_frames": 20}).json()
        while c.get(f"/v1/videos/{other['id']}").json()["status"] != "completed":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        other_mp4 = c.get(f"/v1/videos/{other['id']}/content").content
        assert decode(other_mp4)[:3] == (854, 480, 20)
        assert (
            c.get(f"/v1/videos/{other['id']}/content?variant=thumbnail").content
            != c.get(f"/v1/videos/{job['id']}/content?variant=thumbnail").content
        )


def test_list_pages_and_delete(sdk: openai.OpenAI) -> None:
    made = [sdk.videos.create(prompt=f"page {i}").id for i in range(3)]
    newest = sdk.videos.list(limit=2)
    assert [v.id for v in newest.data] == made[::-1][:2] and newest.has_more
    rest = sdk.videos.list(limit=2, after=newest.data[-1].id)
    assert rest.data[0].id == made[0]
    oldest = sdk.videos.list(order="asc", limit=100).data
    assert [v.id for v in oldest][-3:] == made
    gone = sdk.videos.delete(made[1])
    assert (gone.id, gone.deleted, gone.object) == (made[1], True, "video.deleted")
    with pytest.raises(openai.NotFoundError) as e:
        sdk.videos.retrieve(made[1])
    assert e.value.body["code"] == "not_found"
    with pytest.raises(openai.NotFoundError):
        sdk.videos.delete(made[1])


def test_deleting_an_unfinished_job_frees_its_lane(start_server) -> None:
    """One lane of 2 s jobs: deleting the queued job, then the running one, lets the next job start at
    once (before, the lane stayed booked for the deleted jobs' whole generation time)."""
    with start_server("--video-duration", "2", "--video-lanes", "1") as url:
        sdk = openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0)
        running, queued = sdk.videos.create(prompt="a"), sdk.videos.create(prompt="b")
        assert (running.status, queued.status) == ("in_progress", "queued")
        sdk.videos.delete(queued.id)
        sdk.videos.delete(running.id)
        assert sdk.videos.create(prompt="c").status == "in_progress"


def test_remix_edit_extend_and_characters(sdk: openai.OpenAI, fast: str) -> None:
    source = sdk.videos.create_and_poll(prompt="a red ball", seconds="4", size="720x1280")
    remix = sdk.videos.remix(source.id, prompt="a blue ball")
    assert remix.remixed_from_video_id == source.id and remix.prompt == "a blue ball"
    assert (remix.size, remix.seconds, remix.model) == (source.size, source.seconds, source.model)
    # the SDK cannot send {"id"} in its multipart body (it expects a file there): what it would send
    edited = httpx.post(
        f"{fast}/v1/videos/edits", data={"prompt": "make it night", "video[id]": source.id}
    ).json()
    assert edited["size"] == source.size and edited["remixed_from_video_id"] is None
    extended = httpx.post(
        f"{fast}/v1/videos/extensions",
        json={"prompt": "and then it rains", "seconds": "8", "video": {"id": source.id}},
    ).json()
    assert extended["seconds"] == "12"  # the stitched total
    mp4 = sdk.videos.download_content(source.id).read()
    uploaded = sdk.videos.edit(prompt="from a file", video=("clip.mp4", mp4, "video/mp4"))
    assert (uploaded.size, uploaded.seconds) == ("720x1280", "4")
    character = sdk.videos.create_character(name="Ball", video=("clip.mp4", mp4, "video/mp4"))
    assert character.name == "Ball" and character.id
    assert sdk.videos.get_character(character.id).name == "Ball"
    # a source that is not finished yet cannot be remixed
    pending = sdk.videos.create(prompt="later", model="sora-2-pro", size="1792x1024", seconds="12")
    with pytest.raises(openai.BadRequestError) as e:
        sdk.videos.remix(pending.id, prompt="x")
    assert e.value.body["code"] == "video_not_ready"
    with pytest.raises(openai.BadRequestError) as e:
        sdk.videos.download_content(pending.id)
    with pytest.raises(openai.BadRequestError) as e:
        sdk.videos.create_character(name="x", video=("a.mp4", b"not a video", "video/mp4"))
    assert e.value.body["code"] == "invalid_video_format"


def test_an_input_reference_must_be_an_image_of_the_clip_size(sdk: openai.OpenAI, fast: str) -> None:
    ok = sdk.videos.create(
        prompt="from a still", size="720x1280", input_reference=("a.png", a_png(720, 1280))
    )
    assert ok.status in ("queued", "in_progress")
    with pytest.raises(openai.BadRequestError) as e:
        sdk.videos.create(prompt="x", size="720x1280", input_reference=("a.png", a_png(64, 64)))
    assert e.value.body["param"] == "input_reference" and "720x1280" in e.value.body["message"]
    with pytest.raises(openai.BadRequestError) as e:
        sdk.videos.create(prompt="x", input_reference=("a.png", b"GIF89a-no"))
    assert e.value.body["code"] == "invalid_image_format"
    small = "data:image/png;base64," + base64.b64encode(a_png(64, 64)).decode()
    r = httpx.post(f"{fast}/v1/videos", json={"prompt": "x", "input_reference": {"image_url": small}})
    assert r.status_code == 400 and r.json()["error"]["param"] == "input_reference.image_url"
    assert "64x64" in r.json()["error"]["message"]
    r = httpx.post(f"{fast}/v1/videos", data={"prompt": "x", "input_reference[file_id]": "file-nope"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "input_reference.file_id"


def test_a_failure_rate_fails_jobs_after_their_generation_time(start_server) -> None:
    with start_server("--video-duration", "0.3", "--video-failure-rate", "1") as url:
        sdk = openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0)
        created = sdk.videos.create(prompt="graphic violence: stab and kill and murder him")
        assert created.status == "in_progress" and created.error is None
        video = sdk.videos.poll(created.id, poll_interval_ms=50)
        assert video.status == "failed" and video.error is not None
        assert video.error.code == "video_generation_failed" and video.error.message
        with pytest.raises(openai.BadRequestError) as e:
            sdk.videos.download_content(video.id)
        assert e.value.body["code"] == "video_not_ready"


def test_flagged_prompts_are_not_failures(sdk: openai.OpenAI) -> None:
    video = sdk.videos.create_and_poll(prompt="graphic violence: stab and kill and murder him")
    assert video.status == "completed" and video.error is None


@pytest.mark.parametrize(
    "body, param",
    [
        ({"prompt": "x", "model": "sora-2", "size": "1024x1792"}, "size"),
        ({"prompt": "x", "model": "sora-2-pro", "size": "1000x1000"}, "size"),
        ({"prompt": "x", "model": "wan", "size": "abc"}, "size"),
        ({"prompt": "x", "model": "wan", "size": "99999x2"}, "size"),
        ({"prompt": "x", "model": "wan", "size": "641x480"}, "size"),
        ({"prompt": "x", "model": "wan", "size": ["1280x720"]}, "size"),
        ({"prompt": "x", "seconds": "5"}, "seconds"),
        ({"prompt": "x", "seconds": 2**70}, "seconds"),
        ({"prompt": "x", "model": "wan", "seconds": 21}, "seconds"),
        ({"prompt": "x", "seconds": True}, "seconds"),
        ({"prompt": "x", "model": "wan", "fps": 0}, "fps"),
        ({"prompt": "x", "model": "wan", "fps": 2**64}, "fps"),
        ({"prompt": "x", "model": "wan", "num_frames": 10**9}, "num_frames"),
        ({"prompt": "x", "seed": 2**64}, "seed"),
        ({"prompt": "x", "seed": "abc"}, "seed"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": 5}, "prompt"),
        ({"prompt": "x" * 32001}, "prompt"),
        ({"model": "sora-2"}, "prompt"),
        ({"prompt": "x", "input_reference": "nope"}, "input_reference"),
        (
            {"prompt": "x", "input_reference": {"image_url": "data:image/png;base64,!!"}},
            "input_reference.image_url",
        ),
        ({"prompt": "x", "input_reference": {"image_url": 5}}, "input_reference.image_url"),
        ({"prompt": "x", "model": 7}, "model"),
    ],
)
def test_bad_create_bodies_are_400s_naming_the_parameter(fast: str, body: dict, param: str) -> None:
    r = httpx.post(f"{fast}/v1/videos", json=body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error" and error["message"]


#: A form's file part, sent where a text field belongs.
A_FILE = ("f", b"x")


@pytest.mark.parametrize(
    "path, kwargs, param",
    [
        (
            "/v1/videos",
            {"data": {"prompt": "x"}, "files": {"input_reference[file_id]": A_FILE}},
            "input_reference.file_id",
        ),
        (
            "/v1/videos",
            {"json": {"prompt": "x", "input_reference": {"file_id": {"a": 1}}}},
            "input_reference.file_id",
        ),
        (
            "/v1/videos",
            {"json": {"prompt": "x", "input_reference": {"file_id": 5}}},
            "input_reference.file_id",
        ),
        ("/v1/videos", {"data": {"prompt": "x"}, "files": {"seed": A_FILE}}, "seed"),
        ("/v1/videos", {"data": {"prompt": "x"}, "files": {"fps": A_FILE}}, "fps"),
        ("/v1/videos", {"json": {"prompt": "x", "seed": {"a": 1}}}, "seed"),
        ("/v1/videos", {"json": {"prompt": "x", "num_frames": [1]}}, "num_frames"),
        ("/v1/videos", {"data": {"prompt": "x"}, "files": {"seconds": A_FILE}}, "seconds"),
        ("/v1/videos", {"json": {"prompt": "x", "seconds": {"a": 1}}}, "seconds"),
        ("/v1/videos/extensions", {"data": {"prompt": "x"}, "files": {"seconds": A_FILE}}, "seconds"),
    ],
)
def test_a_value_of_the_wrong_kind_is_named_never_shown_as_a_python_repr(
    fast: str, path: str, kwargs: dict, param: str
) -> None:
    """A file part or a JSON object where text or a number belongs is a 400 naming the parameter; the
    message said ``No file found with id UploadFile(filename='f', size=1, headers=Headers(...))``."""
    r = httpx.post(fast + path, **kwargs)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == param, r.text
    assert not any(leak in error["message"] for leak in ("UploadFile", "Headers", "{'a'", "[1]")), r.text
    if param == "input_reference.file_id":
        assert (
            error["message"] == "'input_reference.file_id' must be a string."
            and error["code"] == "invalid_type"
        )


@pytest.mark.parametrize(
    "method, path, kwargs, status",
    [
        ("GET", "/v1/videos/video_nope", {}, 404),
        ("GET", "/v1/videos/video_nope/content", {}, 404),
        ("DELETE", "/v1/videos/video_nope", {}, 404),
        ("POST", "/v1/videos/video_nope/remix", {"json": {"prompt": "x"}}, 404),
        ("GET", "/v1/videos?limit=0", {}, 400),
        ("GET", "/v1/videos?order=sideways", {}, 400),
        (
            "POST",
            "/v1/videos",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            400,
        ),
        ("POST", "/v1/videos", {"json": [1, 2]}, 400),
        ("POST", "/v1/videos/edits", {"json": {"prompt": "x"}}, 400),
        ("POST", "/v1/videos/edits", {"json": {"prompt": "x", "video": {"id": 5}}}, 400),
        ("POST", "/v1/videos/edits", {"json": {"prompt": "x", "video": {"id": "video_nope"}}}, 404),
        ("POST", "/v1/videos/extensions", {"json": {"prompt": "x", "video": {"id": "video_nope"}}}, 400),
        (
            "POST",
            "/v1/videos/extensions",
            {"json": {"prompt": "x", "seconds": "3", "video": {"id": "v"}}},
            400,
        ),
        ("POST", "/v1/videos/characters", {"data": {"name": "x"}, "files": {"other": ("a", b"1")}}, 400),
        ("POST", "/v1/videos/characters", {"json": {"name": "x" * 300}}, 400),
        ("GET", "/v1/videos/characters/char_nope", {}, 404),
        ("POST", "/v1/videos", {"data": {f"f{i}": "1" for i in range(101)}}, 400),
        ("POST", "/v1/videos", {"data": {"prompt": "x", "seconds": "7"}}, 400),
    ],
)
def test_bad_requests_get_the_envelope(fast: str, method: str, path: str, kwargs: dict, status: int) -> None:
    r = httpx.request(method, fast + path, **kwargs)
    assert r.status_code == status, r.text
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}


def test_content_variants_and_unfinished_jobs(fast: str) -> None:
    with httpx.Client(base_url=fast) as c:
        job = c.post(
            "/v1/videos", json={"prompt": "slow", "model": "sora-2-pro", "size": "1792x1024", "seconds": "12"}
        )
        video_id = job.json()["id"]
        r = c.get(f"/v1/videos/{video_id}/content")
        assert r.status_code == 400 and r.json()["error"]["code"] == "video_not_ready"
        r = c.get(f"/v1/videos/{video_id}/content?variant=gif")
        assert r.status_code == 400 and r.json()["error"]["param"] == "variant"

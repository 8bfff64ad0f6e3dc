"""``/v1/videos``: OpenAI's Videos API (Sora) as the official SDK and SGLang's diffusion server speak it.

- ``POST /v1/videos`` creates a job from a JSON body (SGLang, AIPerf's ``video_generation``) or a
  ``multipart/form-data`` one (the SDK), with an optional ``input_reference`` (an uploaded PNG, JPEG or
  WebP of the clip's size, ``{"file_id"}`` or ``{"image_url"}``); SGLang's ``seed``, ``fps`` and
  ``num_frames`` are honoured, its other sampling fields accepted.
- ``GET /v1/videos`` (cursor pages), ``GET``/``DELETE /v1/videos/{id}``, ``POST /v1/videos/{id}/remix``,
  ``POST /v1/videos/edits`` and ``/extensions`` (the source as ``{"id"}`` or an uploaded MP4), and the
  characters (``POST /v1/videos/characters``, ``GET /v1/videos/characters/{id}``).
- ``GET /v1/videos/{id}/content`` answers a real, playable MP4 (H.264, no audio track) drawn by the Rust
  core, deterministic for the model, prompt and ``seed``; ``variant=thumbnail`` a PNG of its first
  frame and ``variant=spritesheet`` a PNG grid of frames (OpenAI sends WebP and JPEG there: fakeai
  writes PNG, with its content type); a ``Range`` header gets its bytes (:mod:`fakeai.http.ranges`),
  so a browser's ``<video>`` can seek.

A job's ``queued`` / ``in_progress`` / ``completed`` state follows simulated lanes
(:mod:`fakeai.engine.videos`); retrieving an unfinished job answers ``openai-poll-after-ms``, which the
SDK's ``poll`` helpers follow. ``--video-failure-rate`` of the jobs end ``failed`` at the end of their
generation time, with an ``error`` (a gateway fault, off by default: fakeai's moderation lexicons would
flag a third of AIPerf's synthetic prompts, so a flagged prompt is not a failure).
"""

from __future__ import annotations

import asyncio
import time
import zlib
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai import _core
from fakeai.api.resources import fetch, json_response, list_response, page_params
from fakeai.context import ServerContext
from fakeai.engine import videos as engine
from fakeai.engine.videos import KIND, VideoModel, video_model
from fakeai.errors import ApiError, bad_request, missing, shown
from fakeai.http import multipart, ranges
from fakeai.http.asgi import read_body, read_json
from fakeai.schemas.common import decimal
from fakeai.store import Obj, Store
from fakeai.store.objects import new_id

CHARACTER_KIND = "video.character"
#: Renders of MP4s, thumbnails and sprite sheets one worker runs at once (each holds a few MB).
RENDERS_PER_WORKER = 2
POLL_AFTER_MS = 250
MAX_NAME_CHARS = 256
MAX_FORM_FIELDS = 100
#: The image and video headers ``input_reference`` and uploaded videos are read from.
IMAGE_TYPES = ("png", "jpeg", "webp", "gif")
OBJECT = msgspec.json.Decoder(dict[str, Any])


async def read_fields(request: Request, limit: int) -> dict[str, Any]:
    """The request's fields from a JSON object, a multipart form or a URL-encoded form; a form's
    ``video[id]`` becomes ``{"video": {"id": ...}}``, as the SDK flattens nested objects into form
    fields."""
    content_type = request.headers.get("content-type", "").lower()
    items: list[tuple[str, Any]]
    if content_type.startswith("multipart/"):
        items = list((await multipart.read_small_form(request, limit)).multi_items())
    elif content_type.startswith("application/x-www-form-urlencoded"):
        body = (await read_body(request.receive, limit)).decode("utf-8", "replace")
        try:
            items = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
        except ValueError:
            raise bad_request(f"The form has more than {MAX_FORM_FIELDS} fields.") from None
    else:
        return await read_json(request.receive, OBJECT, limit)
    fields: dict[str, Any] = {}
    for key, value in items:
        outer, bracket, inner = key.partition("[")
        if bracket and inner.endswith("]"):
            nested = fields.setdefault(outer, {})
            if isinstance(nested, dict):
                nested[inner[:-1]] = value
        else:
            fields[key] = value
    return fields


def text_field(fields: dict[str, Any], name: str, *, required: bool = False, limit: int = 256) -> str | None:
    value = fields.get(name)
    if value is None or value == "":
        if required:
            raise missing(name)
        return None
    if not isinstance(value, str):
        raise bad_request(f"'{name}' must be a string.", param=name, code="invalid_type")
    if len(value) > limit:
        raise bad_request(
            f"'{name}' is too long: {len(value)} characters, the maximum is {limit}.",
            param=name,
            code="string_above_max_length",
        )
    return value


def int_field(fields: dict[str, Any], name: str, lo: int, hi: int) -> int | None:
    """An integer from JSON or from a form's text (``"42"``), within ``lo..hi``."""
    value = fields.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str):  # a form's text: an optional minus, then ASCII digits
        negative = value.startswith("-")
        magnitude = decimal(value[negative:], max(-lo, hi))
        value = value if magnitude is None else -magnitude if negative else magnitude
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise bad_request(
            f"Invalid value for '{name}': expected an integer from {lo} to {hi}, got {shown(value)}.",
            param=name,
            code="invalid_value",
        )
    return value


class Videos:
    """The jobs, their lanes and their rendered assets."""

    def __init__(self, ctx: ServerContext) -> None:
        self.store: Store = ctx.store
        self.limit = ctx.settings.max_body_bytes
        self.lanes = ctx.settings.video_lanes
        self.per_reference = ctx.settings.video_duration_s
        self.failure_rate = ctx.settings.video_failure_rate
        self.budget = ctx.settings.max_expiring_bytes
        self.renders = asyncio.Semaphore(RENDERS_PER_WORKER)

    def fetch(self, video_id: str) -> Obj:
        return fetch(self.store, KIND, video_id, "video")

    def completed(self, video_id: str, param: str = "video_id") -> Obj:
        job = self.fetch(video_id)
        shown = engine.view(job)
        if shown["status"] != "completed":
            raise bad_request(
                f"Video '{video_id}' is {shown['status']}; only a completed video can be used here.",
                param=param,
                code="video_not_ready",
            )
        return job

    def start(
        self,
        model: VideoModel,
        prompt: str,
        width: int,
        height: int,
        seconds: int,
        *,
        fps: int = engine.DEFAULT_FPS,
        seed: int = 0,
        remixed_from: str | None = None,
    ) -> Obj:
        """Store a new job on the lane that frees first; ``--video-failure-rate`` of them will fail."""
        now = time.time()
        job: Obj = {
            "id": new_id("video_"),
            "object": "video",
            "created_at": int(now),
            "completed_at": None,
            "error": None,
            "expires_at": None,
            "model": model.name,
            "progress": 0,
            "prompt": prompt,
            "remixed_from_video_id": remixed_from,
            "seconds": str(seconds),
            "size": f"{width}x{height}",
            "status": "queued",
        }
        duration = engine.generation_seconds(model, width, height, seconds, self.per_reference)
        start, end = engine.schedule(self.store, self.lanes, duration, now)
        fails = zlib.crc32(job["id"].encode()) < self.failure_rate * 2**32
        job["_state"] = {"start": start, "end": end, "fps": fps, "seed": seed, "fails": fails}
        self.store.insert_expiring([(KIND, job)], self.budget)
        return job

    def answer(self, job: Obj) -> Response:
        shown = engine.view(job)
        headers = (
            {"openai-poll-after-ms": str(POLL_AFTER_MS)}
            if shown["status"] in ("queued", "in_progress")
            else None
        )
        return Response(msgspec.json.encode(shown), media_type="application/json", headers=headers)

    def check_reference(self, reference: object, width: int, height: int) -> None:
        """``input_reference``: an uploaded image of the clip's size, a stored file, or an image URL
        (a ``data:`` URL's image must be of the clip's size too; an ``http(s)`` one is not fetched)."""
        if reference is None or reference == "":
            return
        if isinstance(reference, bytes):
            return _check_image_size(_core.image_size(reference), width, height, "input_reference")
        if not isinstance(reference, dict) or not ({"file_id", "image_url"} & reference.keys()):
            raise bad_request(
                '\'input_reference\' must be an uploaded image, {"file_id"} or {"image_url"}.',
                param="input_reference",
                code="invalid_type",
            )
        file_id = reference.get("file_id")
        if file_id is not None:
            param = "input_reference.file_id"
            if not isinstance(file_id, str):  # e.g. a form's file part, or a JSON object
                raise bad_request(f"'{param}' must be a string.", param=param, code="invalid_type")
            if self.store.get("file", file_id) is None:
                raise bad_request(f"No file found with id {shown(file_id)}.", param=param)
            return
        url = reference.get("image_url")
        param = "input_reference.image_url"
        if not isinstance(url, str):
            raise bad_request(f"'{param}' must be a string.", param=param)
        if url.startswith(("http://", "https://")):
            return
        try:
            size = _core.data_url_image_size(url)
        except ValueError as exc:
            raise bad_request(
                f"'{param}' must be an http(s) URL or a data URL: {exc}.", param=param
            ) from None
        _check_image_size(size, width, height, param)


def _check_image_size(size: tuple[int, int] | None, width: int, height: int, param: str) -> None:
    if size is None:
        raise bad_request(
            f"'{param}' must be a PNG, JPEG, GIF or WebP image.", param=param, code="invalid_image_format"
        )
    if size != (width, height):
        raise bad_request(
            f"'{param}' is {size[0]}x{size[1]}; it must match the video's size, {width}x{height}.",
            param=param,
            code="invalid_value",
        )


def prompt_of(fields: dict[str, Any]) -> str:
    prompt = text_field(fields, "prompt", required=True, limit=engine.MAX_PROMPT_CHARS)
    if prompt is None or not prompt.strip():
        raise bad_request("'prompt' must not be empty.", param="prompt", code="invalid_value")
    return prompt


async def upload(value: object) -> object:
    """An uploaded file's bytes; any other field value as it is."""
    return await value.read() if isinstance(value, UploadFile) else value


def routes(ctx: ServerContext) -> list[Route]:
    videos = Videos(ctx)
    limit = videos.limit
    store = videos.store

    async def create(request: Request) -> Response:
        fields = await read_fields(request, limit)
        model = video_model(text_field(fields, "model"))
        prompt = prompt_of(fields)
        width, height = model.size(text_field(fields, "size"))
        seconds = model.clip_seconds(fields.get("seconds"))
        fps = engine.frame_rate(
            int_field(fields, "fps", -(2**31), 2**31),
            int_field(fields, "num_frames", -(2**31), 2**31),
            seconds,
        )
        seed = int_field(fields, "seed", -(2**63), 2**63 - 1) or 0
        videos.check_reference(await upload(fields.get("input_reference")), width, height)
        return videos.answer(videos.start(model, prompt, width, height, seconds, fps=fps, seed=seed))

    async def list_videos(request: Request) -> Response:
        limit_, order, after = page_params(request)
        data, more = store.page(KIND, after=after, limit=limit_, order=order)
        return list_response([engine.view(job) for job in data], more)

    async def retrieve(request: Request) -> Response:
        return videos.answer(videos.fetch(request.path_params["video_id"]))

    async def delete(request: Request) -> Response:
        video_id = request.path_params["video_id"]
        job = store.delete(KIND, video_id)
        if job is None:
            videos.fetch(video_id)  # the 404
        elif "_state" in job:
            engine.release(store, job["_state"]["start"], job["_state"]["end"], time.time())
        return json_response({"id": video_id, "object": "video.deleted", "deleted": True})

    async def content(request: Request) -> Response:
        video_id = request.path_params["video_id"]
        variant = request.query_params.get("variant", "video")
        if variant not in ("video", "thumbnail", "spritesheet"):
            raise bad_request(
                f"Invalid value for 'variant': {variant!r}; supported values are video, thumbnail, spritesheet.",
                param="variant",
                code="invalid_value",
            )
        job = videos.completed(video_id)
        if time.time() >= job["_state"]["end"] + engine.ASSET_TTL_S:
            raise ApiError(404, f"The assets of video '{video_id}' have expired.", code="video_expired")
        width, height = map(int, job["size"].split("x"))
        state = job["_state"]
        key = f"{job['model']}\x00{job['prompt']}"
        async with videos.renders:
            if variant == "video":
                data = await run_in_threadpool(
                    _core.video_mp4, key, width, height, int(job["seconds"]), state["fps"], state["seed"]
                )
                return ranges.ranged(data, request.headers.get("range"), "video/mp4")
            if variant == "thumbnail":
                data = await run_in_threadpool(_core.video_thumbnail, key, width, height, state["seed"])
            else:
                data = await run_in_threadpool(
                    _core.video_spritesheet,
                    key,
                    width,
                    height,
                    int(job["seconds"]),
                    state["fps"],
                    state["seed"],
                )
        return ranges.ranged(data, request.headers.get("range"), "image/png")

    async def remix(request: Request) -> Response:
        source = videos.completed(request.path_params["video_id"])
        fields = await read_fields(request, limit)
        prompt = prompt_of(fields)
        return videos.answer(derived(source, prompt, int(source["seconds"]), remixed=True))

    def derived(source: Obj, prompt: str, seconds: int, *, remixed: bool = False) -> Obj:
        width, height = map(int, source["size"].split("x"))
        return videos.start(
            video_model(source["model"]),
            prompt,
            width,
            height,
            seconds,
            fps=source["_state"]["fps"],
            seed=source["_state"]["seed"],
            remixed_from=source["id"] if remixed else None,
        )

    async def source_of(fields: dict[str, Any]) -> Obj:
        """The ``video`` an edit or extension starts from: ``{"id"}`` of a completed video, or an MP4."""
        value = await upload(fields.get("video"))
        if isinstance(value, dict) and isinstance(value.get("id"), str):
            return videos.completed(value["id"], param="video.id")
        if isinstance(value, bytes):
            info = _core.mp4_info(value)
            if info is None:
                raise bad_request("'video' must be an MP4 file.", param="video", code="invalid_video_format")
            width, height, seconds = info
            return {
                "id": None,
                "model": "sora-2",
                "size": f"{min(max(16, width - width % 2), engine.MAX_SIDE)}x"
                f"{min(max(16, height - height % 2), engine.MAX_SIDE)}",
                "seconds": str(min(max(1, round(seconds)), engine.MAX_SECONDS)),
                "_state": {"fps": engine.DEFAULT_FPS, "seed": 0},
            }
        if value is None:
            raise missing("video")
        raise bad_request(
            "'video' must be {\"id\": ...} of a completed video or an MP4 upload.", param="video"
        )

    async def edit(request: Request) -> Response:
        fields = await read_fields(request, limit)
        prompt = prompt_of(fields)
        source = await source_of(fields)
        return videos.answer(derived(source, prompt, int(source["seconds"])))

    async def extend(request: Request) -> Response:
        fields = await read_fields(request, limit)
        prompt = prompt_of(fields)
        if fields.get("seconds") is None:
            raise missing("seconds")
        added = video_model(None).clip_seconds(fields.get("seconds"), engine.EXTENSION_SECONDS)
        source = await source_of(fields)
        total = int(source["seconds"]) + added
        if total > engine.MAX_TOTAL_SECONDS:
            raise bad_request(
                f"The extended video would be {total} seconds; the longest is {engine.MAX_TOTAL_SECONDS}.",
                param="seconds",
                code="invalid_value",
            )
        return videos.answer(derived(source, prompt, total))

    async def create_character(request: Request) -> Response:
        fields = await read_fields(request, limit)
        name = text_field(fields, "name", required=True, limit=MAX_NAME_CHARS)
        value = await upload(fields.get("video"))
        if not isinstance(value, bytes):
            raise bad_request(
                "'video' must be an uploaded MP4 file.", param="video", code="missing_required_parameter"
            )
        if _core.mp4_info(value) is None:
            raise bad_request("'video' must be an MP4 file.", param="video", code="invalid_video_format")
        character = {"id": new_id("char_"), "created_at": int(time.time()), "name": name}
        store.insert_expiring([(CHARACTER_KIND, character)], videos.budget)
        return json_response(character)

    async def get_character(request: Request) -> Response:
        return json_response(fetch(store, CHARACTER_KIND, request.path_params["character_id"], "character"))

    base = "/v1/videos/{video_id}"
    return [
        Route("/v1/videos", create, methods=["POST"]),
        Route("/v1/videos", list_videos, methods=["GET"]),
        Route("/v1/videos/edits", edit, methods=["POST"]),
        Route("/v1/videos/extensions", extend, methods=["POST"]),
        Route("/v1/videos/characters", create_character, methods=["POST"]),
        Route("/v1/videos/characters/{character_id}", get_character, methods=["GET"]),
        Route(base, retrieve, methods=["GET"]),
        Route(base, delete, methods=["DELETE"]),
        Route(base + "/content", content, methods=["GET"]),
        Route(base + "/remix", remix, methods=["POST"]),
    ]

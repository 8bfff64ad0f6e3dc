"""What each video model accepts, how long a simulated generation takes, and a job's state at a time.

``sora-2`` and ``sora-2-pro`` (and their dated ids) follow OpenAI's published limits: 720x1280 or
1280x720 (``sora-2-pro`` also 1024x1792 and 1792x1024), 4, 8 or 12 seconds. Any other model id (an
SGLang-served Wan or Hunyuan checkpoint, say) is accepted as SGLang accepts it: any ``WxH`` of even
sides from 16 to 1920 pixels and 1 to 20 seconds. Every video is drawn at 24 frames a second unless an
SGLang-style ``fps`` or ``num_frames`` says otherwise.

**Timing.** A generation holds one of ``--video-lanes`` lanes (GPUs, or OpenAI's concurrency per
project) for ``--video-duration`` seconds per 4 seconds of 720p video on ``sora-2``, scaled by the
clip's seconds and pixels and doubled on ``sora-2-pro``. A job created while every lane is busy is
``queued`` until one frees. The lanes are one shared schedule for the whole server (a store object
updated compare-and-set), so every worker process queues against the same lanes; a job's state at
any time follows from its stored start and end, so every worker reports the same state.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from fakeai.errors import bad_request, shown
from fakeai.schemas.common import decimal
from fakeai.store import Conflict, Obj, Store

KIND = "video"
LANES_KIND = "video.lanes"
SORA_SIZES = ("720x1280", "1280x720")
SORA_PRO_SIZES = SORA_SIZES + ("1024x1792", "1792x1024")
SORA_SECONDS = (4, 8, 12)
#: Seconds an extension may add (OpenAI's ``VideoExtendParams``).
EXTENSION_SECONDS = (4, 8, 12, 16, 20)
MAX_PROMPT_CHARS = 32000
MAX_SIDE = 1920
MAX_SECONDS = 20
#: The longest clip an extension may stitch together.
MAX_TOTAL_SECONDS = 60
DEFAULT_FPS = 24
MAX_FPS = 60
#: Pixels x seconds of the reference clip ``--video-duration`` times: 4 s of 720x1280.
REFERENCE_WORK = 720 * 1280 * 4
#: The ``error`` of a job ``--video-failure-rate`` fails.
FAILURE = {"code": "video_generation_failed", "message": "The video could not be generated; try again."}
#: How long a finished video's assets stay downloadable.
ASSET_TTL_S = 24 * 3600


@dataclass(frozen=True, slots=True)
class VideoModel:
    name: str
    sizes: tuple[str, ...] | None
    seconds: tuple[int, ...] | None
    cost: float

    @property
    def sora(self) -> bool:
        return self.sizes is not None

    def size(self, size: str | None) -> tuple[int, int]:
        size = size or (self.sizes[0] if self.sizes else "1280x720")
        if self.sizes is not None and size not in self.sizes:
            raise bad_request(
                f"Invalid size {size!r} for {self.name}; supported values are {', '.join(self.sizes)}.",
                param="size",
                code="invalid_value",
            )
        width, _, height = size.partition("x")
        w, h = decimal(width, 99_999), decimal(height, 99_999)
        if w is None or h is None:
            raise bad_request(
                f"Invalid size {size!r}: expected WIDTHxHEIGHT, e.g. '1280x720'.",
                param="size",
                code="invalid_value",
            )
        if not (16 <= w <= MAX_SIDE and 16 <= h <= MAX_SIDE) or w % 2 or h % 2:
            raise bad_request(
                f"Invalid size {size!r}: each side must be an even number of pixels from 16 to {MAX_SIDE}.",
                param="size",
                code="invalid_value",
            )
        return w, h

    def clip_seconds(
        self, seconds: object, allowed: tuple[int, ...] | None = None, param: str = "seconds"
    ) -> int:
        """The clip's whole seconds from ``"4"`` or ``4``; ``allowed`` overrides the model's values."""
        allowed = allowed or self.seconds
        if seconds is None:
            return allowed[0] if allowed else 4
        text = str(seconds) if isinstance(seconds, (str, int)) and not isinstance(seconds, bool) else ""
        value = decimal(text, 9_999)
        if value is None:
            raise bad_request(
                f"Invalid value for '{param}': expected a whole number of seconds, got {shown(seconds)}.",
                param=param,
                code="invalid_value",
            )
        if allowed is not None and value not in allowed:
            raise bad_request(
                f"Invalid value for '{param}': {value}; supported values are {', '.join(map(str, allowed))}.",
                param=param,
                code="invalid_value",
            )
        if not 1 <= value <= MAX_SECONDS:
            raise bad_request(
                f"Invalid value for '{param}': must be from 1 to {MAX_SECONDS} seconds, got {value}.",
                param=param,
                code="invalid_value",
            )
        return value


def video_model(name: str | None) -> VideoModel:
    name = name or "sora-2"
    if name.startswith("sora-2-pro"):
        return VideoModel(name, SORA_PRO_SIZES, SORA_SECONDS, 2.0)
    if name.startswith("sora-2"):
        return VideoModel(name, SORA_SIZES, SORA_SECONDS, 1.0)
    return VideoModel(name, None, None, 1.0)


def frame_rate(fps: object, num_frames: object, seconds: int) -> int:
    """SGLang's ``fps`` (or ``num_frames`` over the clip's seconds), else 24."""
    for name, value in (("fps", fps), ("num_frames", num_frames)):
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            raise bad_request(
                f"'{name}' must be an integer, got {value!r}.", param=name, code="invalid_value"
            )
        rate = value if name == "fps" else math.ceil(value / seconds)
        if not 1 <= rate <= MAX_FPS:
            raise bad_request(
                f"Invalid value for '{name}': the frame rate must be from 1 to {MAX_FPS} per second.",
                param=name,
                code="invalid_value",
            )
        return rate
    return DEFAULT_FPS


def generation_seconds(
    model: VideoModel, width: int, height: int, seconds: int, per_reference: float
) -> float:
    """Simulated seconds one lane spends drawing this clip."""
    return per_reference * model.cost * width * height * seconds / REFERENCE_WORK


def schedule(store: Store, lanes: int, duration: float, now: float) -> tuple[float, float]:
    """Take the lane that frees first: ``(start, end)`` of a generation of ``duration`` seconds.

    The lanes' free times are one store object, replaced compare-and-set on its version (kept in the
    ``status`` column the store compares), so concurrent creations in several workers never share a lane.
    """
    while True:
        current = store.get(LANES_KIND, "lanes")
        if current is None:
            fresh: Obj = {"id": "lanes", "status": "0", "free": []}
            try:
                store.insert(LANES_KIND, fresh)
            except Conflict:  # another worker inserted it first: read theirs
                pass
            continue
        free = sorted(current["free"])[:lanes]
        free += [0.0] * (lanes - len(free))
        start = max(now, free[0])
        end = start + duration
        free[0] = end
        changed = {"id": "lanes", "status": str(int(current["status"]) + 1), "free": free}
        if store.update(LANES_KIND, changed, expect=(current["status"],)):
            return start, end


def release(store: Store, start: float, end: float, now: float) -> None:
    """A deleted job that had not finished gives its lane back: when the lane's free time is still
    the job's ``end`` (nothing was scheduled behind it there), the lane frees at ``max(now, start)``.
    A job already queued behind it on that lane keeps its slot (its times were shown to its client),
    so that lane's gap stays idle."""
    if now >= end:
        return
    while True:
        current = store.get(LANES_KIND, "lanes")
        if current is None or end not in current["free"]:
            return
        free = list(current["free"])
        free[free.index(end)] = max(now, start)
        changed = {"id": "lanes", "status": str(int(current["status"]) + 1), "free": free}
        if store.update(LANES_KIND, changed, expect=(current["status"],)):
            return


def view(job: Obj, now: float | None = None) -> Obj:
    """The job as the API shows it at ``now``: its status and progress follow from its stored lane
    times (``_state``), which clients never see."""
    now = time.time() if now is None else now
    state = job["_state"]
    shown = {k: v for k, v in job.items() if k != "_state"}
    start, end = state["start"], state["end"]
    if now < start:
        shown.update(status="queued", progress=0)
    elif now < end:
        shown.update(
            status="in_progress", progress=min(99, int(100 * (now - start) / max(end - start, 1e-9)))
        )
    elif state.get("fails"):
        shown.update(status="failed", error=FAILURE)
    else:
        shown.update(
            status="completed", progress=100, completed_at=int(end), expires_at=int(end) + ASSET_TTL_S
        )
    return shown

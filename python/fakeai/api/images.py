"""``POST /v1/images/generations``, ``/v1/images/edits``, ``/v1/images/variations`` and
``GET /images/{id}.png``.

Pictures are real PNGs of the requested size drawn by the Rust core, deterministic for the prompt
(and the fakeai extra ``seed``). ``url`` answers store the files where every worker can serve them
and expire after ``--image-url-ttl`` seconds, the oldest earlier when they pass ``--max-image-bytes``
(:mod:`fakeai.store.images`); ``b64_json`` answers carry them inline.
"""

from __future__ import annotations

import time
import zlib

import msgspec
import orjson
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakeai import _core
from fakeai.context import ServerContext
from fakeai.engine.images import ImageModel, image_model
from fakeai.engine.usage import UsageMeter
from fakeai.errors import ApiError, bad_request, missing
from fakeai.http import multipart
from fakeai.http.asgi import Endpoint, Receive, Scope, Send, read_json, send_bytes
from fakeai.schemas.images import ImageGenerationRequest
from fakeai.store.images import ImageStore

#: Image tokens an input picture adds to a GPT image edit's usage (a 1024x1024 high-detail image).
INPUT_IMAGE_TOKENS = 765
#: dall-e-2 edits and variations take PNGs smaller than this.
DALL_E_2_MAX_BYTES = 4 * 1024 * 1024


def origin(scope: Scope, public_url: str) -> str:
    """``scheme://host:port`` of image URLs: ``--public-url`` when set, else the address the
    connection reached. Never the request's ``Host`` header: a client must not choose the host other
    clients' image URLs point to."""
    if public_url:
        return public_url.rstrip("/")
    host, port = scope["server"]
    return f"{scope['scheme']}://{host}:{port}"


class Images:
    """Drawing, storing and rendering the answers of all three image endpoints."""

    def __init__(self, store: ImageStore, usage: UsageMeter, public_url: str = "") -> None:
        self.store = store
        self.public_url = public_url
        self.usage = usage

    def answer(
        self,
        scope: Scope,
        model: ImageModel,
        *,
        prompt: str,
        size: str,
        n: int,
        seed: int,
        quality: str | None,
        style: str | None,
        response_format: str | None,
        input_images: int = 0,
    ) -> bytes:
        width, height, fmt = model.check(
            size=size, n=n, prompt=prompt, quality=quality, style=style, response_format=response_format
        )
        b64 = fmt == "b64_json"
        files = _core.png_images(f"{model.name}\x00{prompt}", width, height, n, seed, b64)
        self.usage.record("images", model.name, 0, n)  # /v1/organization/usage/images counts images
        revised = model.revised_prompt(prompt, style, quality)
        if b64:
            data = [{"b64_json": f.decode("ascii")} for f in files]
        else:
            base = origin(scope, self.public_url)
            data = [{"url": f"{base}/images/{self.store.put(f)}"} for f in files]
        if revised is not None:
            for item in data:
                item["revised_prompt"] = revised
        body: dict[str, object] = {"created": int(time.time()), "data": data}
        if model.gpt_image:
            # Pictures are RGB: a transparent background is accepted, and reported as what was drawn.
            body.update(
                background="opaque",
                output_format="png",
                quality=quality if quality in ("low", "medium", "high") else "medium",
                size=f"{width}x{height}",
            )
            body["usage"] = model.usage(
                _core.count_tokens(prompt), INPUT_IMAGE_TOKENS * input_images, width, height, quality, n
            )
        return orjson.dumps(body)


def _default_size(model: ImageModel) -> str:
    return "auto" if model.gpt_image else "1024x1024"


class Generations(Endpoint):
    def __init__(self, images: Images, limit: int) -> None:
        self.images = images
        self.decoder = msgspec.json.Decoder(ImageGenerationRequest)
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        req = await read_json(receive, self.decoder, self.limit)
        if req.output_format not in (None, "png"):
            raise bad_request(
                f"output_format {req.output_format!r} is not supported by fakeai; it writes png.",
                param="output_format",
                code="unsupported_value",
            )
        model = image_model(req.model)
        body = self.images.answer(
            scope,
            model,
            prompt=req.prompt,
            size=req.size or _default_size(model),
            n=req.n,
            seed=req.seed,
            quality=req.quality,
            style=req.style,
            response_format=req.response_format,
        )
        await send_bytes(send, body)


def _check_png(data: bytes, param: str) -> tuple[int, int]:
    size = _core.png_size(data)
    if size is None:
        raise bad_request(
            f"Invalid input image: '{param}' must be a valid PNG file.",
            param=param,
            code="invalid_image_format",
        )
    return size


async def _uploaded_pngs(form: FormData) -> list[tuple[bytes, tuple[int, int]]]:
    """Every uploaded ``image`` / ``image[]`` file with its size; each must be a PNG."""
    uploads = [f for key in ("image", "image[]") for f in form.getlist(key)]
    if not uploads:
        raise missing("image")
    if any(isinstance(f, str) for f in uploads):
        raise bad_request("'image' must be an uploaded file, not a text field.", param="image")
    files = [await f.read() for f in uploads if not isinstance(f, str)]  # no str is left: see above
    return [(data, _check_png(data, "image")) for data in files]


def routes(ctx: ServerContext) -> list[Route]:
    store = ImageStore(ctx.settings.image_url_ttl, ctx.settings.max_image_bytes)
    images = Images(store, ctx.usage, ctx.settings.public_url)
    limit = ctx.settings.max_body_bytes

    async def edit_or_vary(request: Request, *, edit: bool) -> Response:
        form = await multipart.read_small_form(request, limit)
        model = image_model(multipart.text(form, "model", "dall-e-2"))
        if edit and not model.edits:
            raise bad_request(
                f"{model.name} does not support image edits.", param="model", code="unsupported_value"
            )
        if not edit and not model.variations:
            raise bad_request(
                f"{model.name} does not support image variations.", param="model", code="unsupported_value"
            )
        pngs = await _uploaded_pngs(form)
        image, (width, height) = pngs[0]
        if model.name == "dall-e-2":
            if width != height:
                raise bad_request(
                    f"Invalid input image: dall-e-2 needs a square PNG, got {width}x{height}.",
                    param="image",
                    code="invalid_image_format",
                )
            if len(image) >= DALL_E_2_MAX_BYTES:
                raise bad_request(
                    "Invalid input image: dall-e-2 needs a PNG smaller than 4 MB.",
                    param="image",
                    code="image_too_large",
                )
        mask = await multipart.file_bytes(form, "mask", required=False) if edit else None
        if mask is not None and _check_png(mask, "mask") != (width, height):
            raise bad_request(
                "The mask must be a PNG of the same size as the image.",
                param="mask",
                code="invalid_image_format",
            )
        prompt = multipart.text(form, "prompt", required=edit) or "a variation of the uploaded image"
        body = images.answer(
            request.scope,
            model,
            prompt=prompt,
            size=multipart.text(form, "size", _default_size(model)),
            n=int(multipart.number(form, "n", 1, 1, 10, integer=True)),
            seed=zlib.crc32(image),
            quality=multipart.text(form, "quality"),
            style=None,
            response_format=multipart.text(form, "response_format"),
            input_images=len(pngs),
        )
        return Response(body, media_type="application/json")

    async def edits(request: Request) -> Response:
        return await edit_or_vary(request, edit=True)

    async def variations(request: Request) -> Response:
        return await edit_or_vary(request, edit=False)

    async def serve_image(request: Request) -> Response:
        name = request.path_params["name"]
        png = images.store.get(name)
        if png is None:
            raise ApiError(404, f"The image '{name}' does not exist or has expired.", code="image_not_found")
        return Response(png, media_type="image/png", headers={"cache-control": "private, max-age=60"})

    return [
        Route("/v1/images/generations", Generations(images, limit), methods=["POST"]),
        Route("/v1/images/edits", edits, methods=["POST"]),
        Route("/v1/images/variations", variations, methods=["POST"]),
        Route("/images/{name}", serve_image, methods=["GET"]),
    ]

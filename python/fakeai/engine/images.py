"""What each image model accepts and how its answers look: sizes, ``n``, quality, style, formats,
revised prompts and GPT-image token usage.

``dall-e-2`` and ``dall-e-3`` follow OpenAI's published limits; every id starting with ``gpt-image``
follows ``gpt-image-1``. An unknown model id is accepted (as fakeai accepts unknown chat models) with
the union of the known sizes and both response formats.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from fakeai.errors import bad_request

DALLE2_SIZES = ("256x256", "512x512", "1024x1024")
DALLE3_SIZES = ("1024x1024", "1792x1024", "1024x1792")
GPT_IMAGE_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")

#: Output tokens of one gpt-image-1 picture by quality, for square and for portrait/landscape sizes.
GPT_IMAGE_TOKENS = {"low": (272, 408), "medium": (1056, 1584), "high": (4160, 6240)}


@dataclass(frozen=True, slots=True)
class ImageModel:
    name: str
    sizes: tuple[str, ...]
    max_n: int
    max_prompt: int
    qualities: tuple[str, ...]
    styles: tuple[str, ...]
    formats: tuple[str, ...]
    default_format: str
    edits: bool = True
    variations: bool = False

    @property
    def gpt_image(self) -> bool:
        return self.name.startswith("gpt-image")

    def check(
        self,
        *,
        size: str,
        n: int,
        prompt: str | None,
        quality: str | None,
        style: str | None,
        response_format: str | None,
    ) -> tuple[int, int, str]:
        """Validate a request; returns ``(width, height, response_format)``."""
        if prompt is not None:
            if not prompt.strip():
                raise bad_request("'prompt' must not be empty.", param="prompt", code="invalid_value")
            if len(prompt) > self.max_prompt:
                raise bad_request(
                    f"'prompt' is too long: {len(prompt)} characters, the maximum for {self.name} is "
                    f"{self.max_prompt}.",
                    param="prompt",
                    code="string_above_max_length",
                )
        if size not in self.sizes:
            raise bad_request(
                f"Invalid size {size!r} for {self.name}; supported sizes are {', '.join(self.sizes)}.",
                param="size",
                code="invalid_value",
            )
        if not 1 <= n <= self.max_n:
            message = (
                f"{self.name} only supports n=1."
                if self.max_n == 1
                else f"'n' must be between 1 and {self.max_n}, got {n}."
            )
            raise bad_request(message, param="n", code="invalid_value")
        if quality is not None and quality not in self.qualities:
            raise bad_request(
                f"Invalid quality {quality!r} for {self.name}; supported values are "
                f"{', '.join(self.qualities)}.",
                param="quality",
                code="invalid_value",
            )
        if style is not None and style not in self.styles:
            supported = (
                f"supported values are {', '.join(self.styles)}" if self.styles else "it takes no style"
            )
            raise bad_request(
                f"Invalid style {style!r} for {self.name}; {supported}.", param="style", code="invalid_value"
            )
        fmt = response_format or self.default_format
        if fmt not in self.formats:
            raise bad_request(
                f"response_format {fmt!r} is not supported by {self.name}; it returns "
                f"{' or '.join(self.formats)}.",
                param="response_format",
                code="unsupported_value",
            )
        width, height = (1024, 1024) if size == "auto" else map(int, size.split("x"))
        return width, height, fmt

    def revised_prompt(self, prompt: str, style: str | None, quality: str | None) -> str | None:
        """dall-e-3 rewrites every prompt; fakeai's rewrite is a fixed, readable expansion."""
        if self.name != "dall-e-3":
            return None
        detail = "finely detailed" if quality == "hd" else "clearly detailed"
        look = "natural, true-to-life" if style == "natural" else "vivid, dramatic"
        return (
            f"{prompt.strip().rstrip('.')}. The image is {detail}, with a {look} look, a balanced "
            "composition and soft, even lighting."
        )

    def usage(
        self, prompt_tokens: int, image_tokens: int, width: int, height: int, quality: str | None, n: int
    ) -> dict[str, object] | None:
        """Token usage, reported by GPT image models only."""
        if not self.gpt_image:
            return None
        per_image = GPT_IMAGE_TOKENS.get(quality or "medium", GPT_IMAGE_TOKENS["medium"])[width != height]
        output = per_image * n
        total_in = prompt_tokens + image_tokens
        return {
            "input_tokens": total_in,
            "input_tokens_details": {"text_tokens": prompt_tokens, "image_tokens": image_tokens},
            "output_tokens": output,
            "output_tokens_details": {"image_tokens": output, "text_tokens": 0},
            "total_tokens": total_in + output,
        }


DALL_E_2 = ImageModel(
    "dall-e-2", DALLE2_SIZES, 10, 1000, ("standard", "auto"), (), ("url", "b64_json"), "url", variations=True
)
DALL_E_3 = ImageModel(
    "dall-e-3",
    DALLE3_SIZES,
    1,
    4000,
    ("standard", "hd", "auto"),
    ("vivid", "natural"),
    ("url", "b64_json"),
    "url",
    edits=False,
)
GPT_IMAGE = ImageModel(
    "gpt-image-1",
    GPT_IMAGE_SIZES,
    10,
    32000,
    ("low", "medium", "high", "auto"),
    (),
    ("b64_json",),
    "b64_json",
)
ANY_SIZES = tuple(dict.fromkeys(DALLE2_SIZES + DALLE3_SIZES + GPT_IMAGE_SIZES))


def image_model(name: str) -> ImageModel:
    if name == "dall-e-2":
        return DALL_E_2
    if name == "dall-e-3":
        return DALL_E_3
    if name.startswith("gpt-image"):
        return GPT_IMAGE if name == GPT_IMAGE.name else replace(GPT_IMAGE, name=name)
    return ImageModel(
        name,
        ANY_SIZES,
        10,
        32000,
        ("standard", "hd", "low", "medium", "high", "auto"),
        ("vivid", "natural"),
        ("url", "b64_json"),
        "url",
        variations=True,
    )

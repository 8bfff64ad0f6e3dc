"""Type stubs for ``fakeai._core``, the Rust extension (rust/fakeai_core)."""

from collections.abc import Awaitable, Callable, Sequence
from os import PathLike
from typing import Any, Literal, final

__all__ = [
    "ATTEMPTS_TABLE_WIDTH",
    "Answer",
    "ChatCall",
    "Cluster",
    "EngineModel",
    "HISTOGRAM_BOUNDS",
    "HISTOGRAM_WIDTH",
    "HotApp",
    "InvalidInput",
    "LengthDistribution",
    "MODERATION_CATEGORIES",
    "MODERATION_IMAGE_CATEGORIES",
    "MessagesCall",
    "messages_input_tokens",
    "Meter",
    "Pacer",
    "PrefixCache",
    "RateLimiter",
    "RequestIds",
    "SPEECH_CHARS_PER_SECOND",
    "SPEECH_SAMPLE_RATE",
    "SHARED_KEY_BYTES",
    "SharedEngine",
    "SharedTable",
    "Steps",
    "VOCAB_SIZE",
    "VOCAB_TABLE_WIDTH",
    "block_hashes",
    "chat",
    "chunk_text",
    "completion",
    "cosine",
    "data_url_image_size",
    "count_tokens",
    "custom_tool_input",
    "detokenize",
    "diarization",
    "deployment_info",
    "embed",
    "embedding_matrix",
    "engine_catalog",
    "frontend_arrivals",
    "generate_text",
    "histogram_quantile",
    "image_moderation_scores",
    "image_size",
    "json_shape",
    "metrics_begin",
    "metrics_finish",
    "metrics_inference",
    "metrics_started",
    "moderation_scores",
    "mp4_info",
    "png_images",
    "png_size",
    "probe_audio",
    "rank_logits",
    "sample_json",
    "simulate_closed_loop",
    "simulate_poisson",
    "simulate_trace",
    "speech",
    "speech_tokens",
    "tokenize",
    "tokenize_chat",
    "top_k",
    "transcription",
    "video_mp4",
    "video_spritesheet",
    "video_thumbnail",
]

VOCAB_SIZE: int
HISTOGRAM_WIDTH: int
#: Width of the shared table of learned token pieces (``tokenize``/``detokenize``'s ``vocab``).
VOCAB_TABLE_WIDTH: int
#: Width of the shared table ``SharedTable.count_attempt`` counts in.
ATTEMPTS_TABLE_WIDTH: int
HISTOGRAM_BOUNDS: list[float]
MODERATION_CATEGORIES: list[str]
MODERATION_IMAGE_CATEGORIES: list[str]
SPEECH_CHARS_PER_SECOND: float
SPEECH_SAMPLE_RATE: int
#: Longest :class:`SharedTable` key, in UTF-8 bytes.
SHARED_KEY_BYTES: int

class InvalidInput(ValueError):
    """A request value the core cannot use; the caller knows which parameter it came from."""

@final
class Steps:
    """A long stream's SSE steps, rendered on demand (the same bytes as a whole rendering)."""

    def __len__(self) -> int: ...
    def __getitem__(self, k: int, /) -> bytes: ...
    def window(self, start: int, end: int) -> bytes:
        """Steps ``start..end`` (clamped) joined."""

@final
class Answer:
    """What :func:`chat`, :func:`completion` and :class:`MessagesCall` return."""

    @property
    def payload(self) -> bytes | list[bytes] | Steps:
        """The JSON body, or the SSE steps of a stream (a long one's: a :class:`Steps`)."""
    @property
    def schedule(self) -> tuple[float, float] | list[float]:
        """``(first_token_at, done_at)`` of a body, or each stream step's due offset (seconds)."""
    @property
    def prompt_tokens(self) -> int: ...
    @property
    def completion_tokens(self) -> int: ...
    @property
    def ticket(self) -> int:
        """The request's slot in the simulated cluster (0 without one), for :meth:`Cluster.release`."""
    @property
    def label(self) -> str | None:
        """With a ``meter``: the model label the request counts under in the metrics (the model id
        with metrics off or off the live path; None when the metrics table is full)."""

@final
class RequestIds:
    """Request ids for requests that bring none: 32 hex digits like vLLM's ``uuid4().hex``, unique per
    server (a random prefix per object, then a counter)."""

    def __new__(cls) -> RequestIds: ...
    def new(self) -> bytes:
        """A new id."""

@final
class HotApp:
    """The ASGI app granian calls: the hot routes served from Rust when nothing needs Python, every
    other request handed to ``fallback`` (see :mod:`fakeai.api.hot`)."""

    def __new__(
        cls,
        *,
        fallback: Any,
        rearm: Callable[[], tuple[int, int, bool]],
        control: SharedTable,
        control_key: str,
        served_key: str,
        loras: SharedTable,
        lora_key: str,
        routes: list[tuple[str, str, Callable[[bytes], Any], Callable[[str], Any]]],
        limit: int,
        max_depth: int,
        max_weight: int,
        override_prefix: bytes,
        return_error: bytes,
        metrics: tuple[SharedTable, float] | None,
        meter: Meter,
        respond: Callable[..., Awaitable[None]],
        monotonic: Callable[[], float],
        headers: list[tuple[bytes, bytes]],
        body_clock: Any,
        timed_out_key: str,
    ) -> HotApp: ...
    def __call__(self, scope: dict[str, Any], receive: Any, send: Any, /) -> Awaitable[None]: ...

@final
class ChatCall:
    """What the server decides for every chat (or legacy completion) request of one model (``chat``'s
    and ``completion``'s arguments after the request, but ``now``), held once: ``call(request, now)``
    is ``chat(request, model_info, ..., now=now)``. The Rust hot path keeps one per model and route
    and renders completions with it too."""

    def __new__(
        cls,
        model_info: Any = None,
        *,
        fingerprint: str = ...,
        ttft: float = 0.0,
        itl: float = 0.0,
        jitter: float = 0.0,
        extra_prompt_tokens: int = 0,
        forced_tokens: int | None = None,
        cached_tokens: int = 0,
        echo_mode: bool = False,
        lengths: LengthDistribution | None = None,
        audio: Callable[[str], bytes] | None = None,
        prefill_per_token: float = 0.0,
        cluster: Cluster | None = None,
        engine: SharedEngine | None = None,
        max_generated: int = ...,
        meter: Meter | None = None,
        live: bool = False,
        reveal_reasoning: bool = False,
    ) -> ChatCall: ...
    def __call__(self, request: Any, now: float = 0.0) -> Answer: ...

@final
class Meter:
    """What an answered request records (usage per minute, kind and model; the live path's inference
    metrics), from inside the core call that renders it."""

    def __new__(
        cls, usage: SharedTable, metrics: SharedTable | None = None, max_models: int = ...
    ) -> Meter: ...
    def usage(self, kind: str, model: str, input: int, output: int = 0, cached: int = 0) -> None:
        """Add usage only (images, speech, transcriptions)."""
    def record(
        self,
        kind: str,
        model: str,
        prompt_tokens: int,
        completion_tokens: int = 0,
        schedule: Any = None,
        live: bool = True,
    ) -> str | None:
        """Usage, and with ``live`` the inference metrics, of a request rendered elsewhere; returns the
        model label (see :attr:`Answer.label`)."""
    @property
    def dropped(self) -> int:
        """Usage entries dropped because the usage table was full (this process)."""

def count_tokens(text: str) -> int: ...
def tokenize(text: str, vocab: SharedTable | None = None) -> list[int]:
    """Token ids of ``text``; each piece is remembered in ``vocab`` for :func:`detokenize`."""

def tokenize_chat(
    messages: Sequence[Any], vocab: SharedTable | None = None, add_generation_prompt: bool = True
) -> list[int]:
    """Token ids of a chat prompt through the chat template (as many as a chat completion counts)."""

def detokenize(ids: Sequence[int], vocab: SharedTable | None = None) -> str: ...
def chat(request: Any, model_info: Any = None, *, now: float = 0.0, **kwargs: Any) -> Answer:
    """Render the chat completion (or its stream) asked by ``request``, a decoded ``ChatRequest``.
    ``model_info`` (``capabilities``, ``context_length``) enables the capability and context-window
    checks; the keyword arguments are :class:`ChatCall`'s (``reveal_reasoning``: show the reasoning
    of a model that hides it in chat, capability ``hidden_reasoning``). A rejected value raises
    ``InvalidInput(message, param, code)``."""

def completion(request: Any, model_info: Any = None, *, now: float = 0.0, **kwargs: Any) -> Answer:
    """Render the legacy text completion (or its stream) asked by ``request``, a decoded
    ``CompletionRequest``. ``model_info`` (``context_length``) enables the context-window check; the
    keyword arguments are :class:`ChatCall`'s (``extra_prompt_tokens``, ``cached_tokens`` and
    ``audio`` do not apply)."""

def embed(model: str, input: str | Sequence[Any], dims: int, base64: bool = False) -> tuple[bytes, int]:
    """Render an embeddings list: ``(body, prompt_tokens)``."""

def cosine(a: str, b: str, dims: int = 256) -> float: ...

@final
class LengthDistribution:
    """A parsed ``--output-length-distribution``: ``uniform:LO:HI``, ``normal:MEAN:STD``, ``fixed:N`` or
    ``histogram:LO-HI=WEIGHT,...``; a bad spec raises :class:`InvalidInput`."""

    def __new__(cls, spec: str) -> LengthDistribution: ...
    def sample(self, count: int, seed: int) -> list[int]: ...

@final
class SharedTable:
    """Named atomic counters in a shared-memory file, shared by every worker process."""

    def __new__(cls, path: str | PathLike[str], capacity: int, width: int) -> SharedTable: ...
    def add(self, key: str, index: int, delta: int) -> int: ...
    def add_row(self, key: str, deltas: Sequence[int]) -> None: ...
    def get(self, key: str) -> list[int] | None: ...
    def load(self, key: str, index: int) -> int: ...
    def store(self, key: str, index: int, value: int) -> None: ...
    def compare_exchange(self, key: str, index: int, current: int, new: int) -> int: ...
    def count_attempt(self, id: str, now_ms: int, sets: int) -> int: ...
    def items(self) -> list[tuple[str, list[int]]]: ...
    def observe(self, key: str, seconds: float) -> None: ...
    def histogram(self, key: str) -> tuple[int, float, list[int]] | None: ...
    def quantile(self, key: str, q: float) -> float: ...
    @property
    def width(self) -> int: ...

@final
class Cluster:
    """The simulated cluster (routing, prefix caches, batch slots), passed to :func:`chat` /
    :func:`completion`."""

    def __new__(
        cls,
        workers: int = 4,
        *,
        block_size: int = 16,
        cache_blocks: int = 16384,
        batch_size: int = 256,
        overlap_weight: float = 1.0,
        load_weight: float = 1.0,
        prefill_workers: int = 0,
        table: SharedTable | None = None,
        kv_events: bool = False,
        max_num_seqs: int = 0,
        max_waiting: int | None = None,
        time_factor: float = 1.0,
    ) -> Cluster: ...
    def release(self, ticket: int, now: float) -> None: ...
    def workers(self, now: float) -> list[dict[str, Any]]: ...
    def drain_events(self) -> list[tuple[int, list[int], int | None, list[int] | None]]:
        """KV events since the last call: ``(worker, hashes, parent, token_ids)`` stored, or
        ``(worker, hashes, None, None)`` evicted (only with ``kv_events=True``)."""
    def admit(self, now: float) -> bool:
        """False when ``max_waiting`` requests already wait for a slot."""
    def load(self, now: float) -> tuple[int, int]:
        """``(running, waiting)`` requests of the whole cluster."""
    @property
    def block_size(self) -> int: ...
    @property
    def batch_size(self) -> int: ...

@final
class Pacer:
    """The slots and streams of one worker process's ticker (:class:`fakeai.engine.pacing.Ticker`):
    due stream steps are written through each stream's ASGI ``send`` from :meth:`fire`."""

    def __new__(cls, resolution: float) -> Pacer: ...
    def play(
        self,
        send: Any,
        steps: Sequence[bytes] | Steps,
        offsets: Sequence[float],
        start: float,
        done: Any,
        engine: SharedEngine | None = None,
        ticket: int = 0,
        answer: Answer | None = None,
    ) -> tuple[int, int]:
        """Park a stream: ``(stream, slot of its first step)``; ``done`` (a future) gets the outcome.
        With ``engine`` and ``ticket``, the steps move with the first token's settled time; an
        engine-timed live ``answer`` (metrics on) then counts its settled TTFT and ITL."""
    def wait(
        self,
        future: Any,
        deadline: float,
        engine: SharedEngine | None = None,
        ticket: int = 0,
        first: float = 0.0,
        now: float | None = None,
        answer: Answer | None = None,
    ) -> int:
        """Give ``future`` the result None at ``deadline``; returns its slot. With ``engine`` and
        ``ticket``, ``deadline`` (the last token as forecast) is settled with the engine: asked at once
        when ``now`` is given, else first when the first token is forecast (``first``); ``answer``
        (an engine-timed live answer, metrics on) then counts its settled TTFT and ITL."""
    def cancel(self, stream: int) -> None:
        """End ``stream`` now (its client left); stale ids are ignored."""
    def earliest(self) -> int | None: ...
    def fire(self, due: float, now: float) -> list[tuple[int, Any, Any]]:
        """Wake and write everything due; returns the writes still pending as
        ``(stream, iterator, first_yielded)``, each to finish as a task and then :meth:`resume`."""
    def resume(self, stream: int, error: BaseException | None) -> int | None:
        """A pending write ended; returns the slot of the stream's next step (None once it ended)."""
    def __len__(self) -> int: ...
    @property
    def streams(self) -> int: ...

@final
class MessagesCall:
    """What every Anthropic Messages request of one model is rendered with: the model's
    :class:`ChatCall` (timing, lengths, and on the live path the cluster, engine and meter), held once.
    ``call(request, now=, tool=, server=)`` renders the decoded ``MessagesRequest`` that arrived at
    ``now`` (its whole prompt counted as input, its ``thinking`` honoured; ``tool`` is
    ``(name, input_json)`` for a tool call, ``server`` a server tool's
    :class:`fakeai.engine.anthropic_tools.ServerTurn`). The Rust hot path keeps one per model."""

    def __new__(cls, call: ChatCall) -> MessagesCall: ...
    def __call__(
        self,
        request: Any,
        *,
        now: float = 0.0,
        tool: tuple[str, str] | None = None,
        server: Any = None,
    ) -> Answer: ...

def messages_input_tokens(request: Any) -> int:
    """The input tokens a decoded Messages (or count-tokens) request is charged, as its
    ``usage.input_tokens`` reports them without prompt caching: tools, system prompt and messages,
    every kind of block counted. Raises ``InvalidInput`` for a bad image or PDF, a bad ``thinking``,
    or a structured output (``output_config.format``, ``output_format``) that ``/v1/messages`` refuses."""

@final
class RateLimiter:
    """GCRA rate-limit buckets per key in a shared-memory file, shared by every worker process."""

    def __new__(cls, path: str | PathLike[str], capacity: int) -> RateLimiter: ...
    def admit(
        self, key: str, rpm: int, tpm: int, rpd: int, tpd: int, tokens: int
    ) -> tuple[int, float, list[tuple[bytes, bytes]]]:
        """``(refused, retry_after_s, x-ratelimit-* headers)``; refused 0 when allowed, else the limit
        that refused: 1 rpm, 2 tpm, 3 rpd, 4 tpd."""
    def usage(self) -> list[tuple[str, list[int], list[int]]]: ...

def sample_json(schema: bytes, key: str) -> str:
    """A tool call's arguments: JSON text valid against the tool parameters' JSON schema ``schema``
    (an object schema); the same ``key`` gives the same document. A schema the generator cannot
    satisfy, or whose root is not an object, raises :class:`InvalidInput`."""

def custom_tool_input(tool: bytes, at: str, key: str) -> str:
    """The input of one call of the Responses API custom tool ``tool`` (JSON text) declared at ``at``
    (``tools[2]``): prose, or a string matching its regex grammar; the same ``key`` gives the same
    input. A bad ``format`` raises :class:`InvalidInput` naming the field."""

def block_hashes(tokens: Sequence[int], block_size: int = 16) -> list[int]:
    """The chained hashes of the full ``block_size``-token blocks of ``tokens``."""

@final
class PrefixCache:
    """One radix-tree prefix cache over block hashes."""

    def __new__(cls, capacity: int) -> PrefixCache: ...
    def insert(self, hashes: Sequence[int]) -> int: ...
    def matched(self, hashes: Sequence[int]) -> int: ...
    def __len__(self) -> int: ...

def chunk_text(text: str, max_tokens: int, overlap: int) -> list[str]:
    """The token-window chunks of ``text`` (OpenAI's static chunking strategy)."""

def embedding_matrix(texts: Sequence[str], dims: int) -> bytes:
    """The embeddings of ``texts`` as one little-endian ``f32`` matrix (rows of ``dims``)."""

def top_k(query: str, matrix: bytes, dims: int, k: int) -> list[tuple[int, float]]:
    """The ``k`` best rows of ``matrix`` for ``query``: ``[(row, score), ...]``, best first."""

def generate_text(n: int, seed: int) -> str:
    """``n`` tokens of fakeai's generated prose for ``seed``."""

def json_shape(data: bytes, depth: int, heaviest: int) -> Literal["fits", "too_deep", "too_heavy"]: ...
def rank_logits(query: str, passages: Sequence[str]) -> list[float]:
    """One relevance logit per passage (BM25 plus embedding cosine), in the passages' order."""

def moderation_scores(text: str) -> list[float]:
    """Scores of ``text`` for each of :data:`MODERATION_CATEGORIES`."""

def image_moderation_scores(url: str) -> list[float]:
    """Scores of an image (by URL) for each of :data:`MODERATION_CATEGORIES`."""

def png_images(
    prompt: str, width: int, height: int, n: int = 1, seed: int = 0, b64: bool = False
) -> list[bytes]:
    """``n`` PNG files of ``width`` x ``height``, deterministic for ``(prompt, seed)``."""

def png_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` of a PNG file, or None when ``data`` is not one."""

def video_mp4(key: str, width: int, height: int, seconds: float, fps: int, seed: int = 0) -> bytes:
    """An MP4 file (H.264 Constrained Baseline, one video track, no audio) of ``round(seconds * fps)``
    frames of the picture for ``(key, seed)``, its discs moving; frame 0 is :func:`video_thumbnail`.

    Out-of-range values are clamped, not rejected: each side to 16..=4096 and down to even, ``fps`` to
    1..=120, the length to 1..=7200 frames."""

def video_thumbnail(key: str, width: int, height: int, seed: int = 0) -> bytes:
    """A PNG file of the first frame of that video (the picture :func:`png_images` draws for the same
    seed and an even size)."""

def video_spritesheet(
    key: str, width: int, height: int, seconds: float, fps: int, seed: int = 0, tiles: int = 10
) -> bytes:
    """A PNG file of ``tiles`` frames of that video spread evenly from the first, in rows of up to five,
    each at most 256 pixels on its long side."""

def image_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` of a PNG, JPEG, GIF or WebP file, or None when ``data`` is none of them."""

def data_url_image_size(url: str) -> tuple[int, int] | None:
    """``(width, height)`` of the image a ``data:`` URL carries, or None when it is not an image; a
    ``ValueError`` saying what is wrong with the URL itself."""

def mp4_info(data: bytes) -> tuple[int, int, float] | None:
    """``(width, height, seconds)`` of an MP4 file from its ``mvhd`` and ``tkhd`` boxes, or None."""

def speech(text: str, voice: str, speed: float, format: str) -> bytes:
    """The audio of ``text`` spoken by ``voice`` at ``speed`` as ``wav``, ``flac`` or ``pcm``."""

def probe_audio(data: bytes) -> tuple[float, str]:
    """``(seconds, container)`` of an audio file (container ``unknown``: the duration is estimated).

    Raises :class:`InvalidInput` about ``file`` when its header claims more than the file can hold."""

def transcription(
    data: bytes,
    duration: float,
    response_format: str,
    task: str = "transcribe",
    language: str = "english",
    temperature: float = 0.0,
    words: bool = False,
) -> bytes:
    """The response body of a transcription or translation of ``data``."""

def diarization(data: bytes, duration: float, names: list[str]) -> list[tuple[str, float, float, str]]:
    """The diarized transcript of ``data`` (``duration`` seconds): ``(speaker, start, end, text)`` per
    segment, in order; speakers ``A``, ``B``... or ``names`` (at most 4 known speakers)."""

def speech_tokens(text: str, speed: float) -> int:
    """Audio output tokens of ``text`` spoken at ``speed``: 20 a second of speech, rounded up."""

def histogram_quantile(buckets: Sequence[int], q: float) -> float:
    """The ``q``-quantile of per-bucket counts (:data:`HISTOGRAM_BOUNDS` then +Inf)."""

def metrics_started(table: SharedTable, now_ms: int) -> int:
    """Record the server's start time (epoch ms) unless a worker already did; returns the recorded one."""

def metrics_begin(table: SharedTable) -> None:
    """A request entered the server (in-flight + 1)."""

def metrics_inference(
    table: SharedTable,
    model: str,
    max_models: int,
    prompt_tokens: int,
    completion_tokens: int,
    schedule: Any,
) -> str:
    """An inference request started: returns the model label it is counted under."""

def metrics_finish(
    table: SharedTable,
    endpoint: str,
    status: int,
    seconds: float,
    slo_seconds: float,
    model: str | None = None,
    error: tuple[str, str] | None = None,
) -> None:
    """A request left the server with ``status`` after ``seconds``."""

# The engine model (rust/fakeai_core/src/simulation/engine). A deployment is a dict of
# ``fakeai.engine.deployment.DeploymentOptions`` fields (plus ``coefficients``, overriding fitted ones);
# a bad value raises InvalidInput(message, param, "invalid_deployment"). Levels are dicts with
# ``ttft_ms``/``itl_ms``/``e2e_ms`` ({mean, p50, p99}), ``output_tokens_per_s``, ``requests_per_s``,
# ``preemptions``, ``requests`` (measured), ``warmup_requests`` (left out before them) and ``simulated_s``.

def simulate_closed_loop(
    deployment_spec: dict[str, Any],
    isl: int,
    osl: int,
    concurrency: int,
    requests: int,
    progress: Callable[[float], object] | None = None,
    measurement_interval: float | None = None,
    stability: float = ...,
) -> dict[str, Any]: ...
def simulate_poisson(
    deployment_spec: dict[str, Any],
    isl: int,
    osl: int,
    rate: float,
    requests: int,
    seed: int = 0,
    progress: Callable[[float], object] | None = None,
) -> dict[str, Any]: ...
def simulate_trace(
    deployment_spec: dict[str, Any],
    entries: Sequence[tuple[float, int, int, Sequence[int]]],
    progress: Callable[[float], object] | None = None,
) -> dict[str, Any]: ...
def deployment_info(deployment_spec: dict[str, Any]) -> dict[str, Any]: ...
def frontend_arrivals(deployment_spec: dict[str, Any], sends: Sequence[float]) -> list[float]:
    """When requests reaching the server at ``sends`` (seconds, in order) reach the engine, through the
    front end the live server and ``fakeai simulate``'s closed loop share."""

def engine_catalog() -> tuple[list[str], list[str]]:
    """``(architecture names, GPU names)``."""

@final
class EngineModel:
    """One deployment's engine on the caller's clock (seconds): ``run_until(now)``, ``submit(now, ...)``,
    then ``forecast(id)`` gives the request's token times if nothing else arrives."""

    def __new__(cls, deployment_spec: dict[str, Any]) -> EngineModel: ...
    def run_until(self, t: float) -> None: ...
    def submit(
        self, now: float, prompt_tokens: int, max_output_tokens: int, cached_tokens: int = 0
    ) -> int: ...
    def forecast(self, id: int) -> list[float]: ...
    def token_times(self, id: int) -> list[float]: ...
    def status(self) -> dict[str, Any]: ...

@final
class SharedEngine:
    """The server's engine for one deployment, in a shared-memory region every worker process opens:
    ``submit`` returns ``(ticket, token offsets from now)``, ``cancel`` ends a request early, ``status``
    reports the engine (server-wide). Times are ``time.monotonic()`` seconds."""

    def __new__(
        cls,
        path: str,
        deployment_spec: dict[str, Any],
        waiting: int,
        tag: int = 0,
        sustain: bool = True,
        overlap_weight: float = 1.0,
        load_weight: float = 1.0,
    ) -> SharedEngine: ...
    def submit(
        self, now: float, prompt_tokens: int, output_tokens: int, cached_tokens: int = 0
    ) -> tuple[int, list[float]]: ...
    def route(self, token_ids: list[int], now: float) -> tuple[int, int]:
        """``(replica, cached_tokens)`` of a prompt in the replicas' prefix caches (stores its blocks)."""
    def replicas(self, now: float) -> list[dict[str, Any]]:
        """Per replica: engine state and prefix-cache figures (server-wide)."""
    def settle(self, ticket: int, now: float, last: bool = False) -> tuple[str, float]:
        """``("at", t)``, ``("later", ask_again_at)`` or ``("gone", nan)`` for the first (or last)
        token of ``ticket``."""
    def cancel(self, ticket: int, now: float) -> bool: ...
    def status(self, now: float) -> dict[str, Any]: ...
    @property
    def waiting_capacity(self) -> int: ...

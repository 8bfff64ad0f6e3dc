"""Request bodies of ``/v1/evals``, its runs, and ``/v1/fine_tuning/alpha/graders``, as the SDK's
``EvalCreateParams``, ``RunCreateParams``, ``GraderRunParams`` and the ``graders`` types declare
them. Graders and data sources are unions tagged by ``type``: an unknown ``type`` or ``operation``,
a missing field, or an unknown one (OpenAI answers ``Unrecognized request argument``) is a 400
naming the parameter (:func:`fakeai.errors.invalid_body`).

Bounds OpenAI does not document are fakeai's, checked while decoding so nothing is allocated for
more: at most :data:`MAX_CRITERIA` testing criteria, :data:`MAX_ITEMS` rows in a run's
``file_content``, :data:`MAX_MESSAGES` messages of :data:`MAX_PARTS` content parts in a model
grader's ``input`` or a run's template, :data:`MAX_LABELS` labels, :data:`MAX_TEMPLATE_CHARS`
characters in one template string, a python grader's ``source`` of at most
:data:`MAX_SOURCE_CHARS` (OpenAI's 256 KB), a multi grader's ``calculate_output`` of at most
:data:`fakeai.engine.formula.MAX_CHARS`. What decoding cannot check (a label outside ``labels``, a
formula that names no sub-grader, a template variable outside ``item`` and ``sample``) is checked by
:func:`fakeai.engine.graders.check`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from fakeai.engine.formula import MAX_CHARS as MAX_FORMULA_CHARS
from fakeai.engine.similarity import METRICS
from fakeai.schemas.common import Metadata, ModelId, PositiveInt, Probability, Seed, Temperature

MAX_CRITERIA = 32
MAX_ITEMS = 2000
MAX_MESSAGES = 64
MAX_PARTS = 64
MAX_LABELS = 64
MAX_SUB_GRADERS = 16
MAX_TEMPLATE_CHARS = 100_000
MAX_SOURCE_CHARS = 256 * 1024
MAX_NAME_CHARS = 256
MAX_TOOLS = 128

Name = Annotated[str, Meta(min_length=1, max_length=MAX_NAME_CHARS)]
Template = Annotated[str, Meta(max_length=MAX_TEMPLATE_CHARS)]
Id = Annotated[str, Meta(min_length=1, max_length=128)]
Label = Annotated[str, Meta(min_length=1, max_length=MAX_NAME_CHARS)]
Threshold = Annotated[float, Meta(ge=-1e9, le=1e9)]
Effort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
Metric = Literal[METRICS]  # type: ignore[valid-type]
#: A message's content: a string, one content part, or a list of them (parts are checked by
#: :func:`fakeai.engine.graders.check_content`).
Content = Template | dict[str, Any] | Annotated[list[Template | dict[str, Any]], Meta(max_length=MAX_PARTS)]


class Message(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    role: Literal["user", "assistant", "system", "developer"]
    content: Content
    type: Literal["message"] | None = None


Messages = Annotated[list[Message], Meta(min_length=1, max_length=MAX_MESSAGES)]


class GraderSampling(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    seed: Seed | None = None
    top_p: Probability | None = None
    temperature: Temperature | None = None
    max_completions_tokens: PositiveInt | None = None
    reasoning_effort: Effort | None = None


class _Grader(msgspec.Struct, tag_field="type", forbid_unknown_fields=True, omit_defaults=True):
    name: Name


class StringCheck(_Grader, tag="string_check"):
    input: Template
    reference: Template
    operation: Literal["eq", "ne", "like", "ilike"]


class TextSimilarity(_Grader, tag="text_similarity"):
    input: Template
    reference: Template
    evaluation_metric: Metric
    pass_threshold: Threshold | None = None


class Python(_Grader, tag="python"):
    source: Annotated[str, Meta(max_length=MAX_SOURCE_CHARS)]
    image_tag: Annotated[str, Meta(max_length=MAX_NAME_CHARS)] | None = None
    pass_threshold: Threshold | None = None


class ScoreModel(_Grader, tag="score_model"):
    model: ModelId
    input: Messages
    range: Annotated[list[Threshold], Meta(min_length=2, max_length=2)] | None = None
    sampling_params: GraderSampling | None = None
    pass_threshold: Threshold | None = None


class LabelModel(_Grader, tag="label_model"):
    model: ModelId
    input: Messages
    labels: Annotated[list[Label], Meta(min_length=1, max_length=MAX_LABELS)]
    passing_labels: Annotated[list[Label], Meta(min_length=1, max_length=MAX_LABELS)]


class Multi(_Grader, tag="multi"):
    #: One grader, as the SDK's type says, or (as OpenAI's graders guide writes it) an object of
    #: graders by name: read by :func:`fakeai.engine.graders.sub_graders`.
    graders: Annotated[dict[str, Any], Meta(max_length=MAX_SUB_GRADERS)]
    calculate_output: Annotated[str, Meta(min_length=1, max_length=MAX_FORMULA_CHARS)]


#: A grader that is not a ``multi`` (a multi grader's sub-grader).
SimpleGrader = StringCheck | TextSimilarity | Python | ScoreModel | LabelModel
Grader = StringCheck | TextSimilarity | Python | ScoreModel | LabelModel | Multi


# -- evals


class CustomConfig(msgspec.Struct, tag_field="type", tag="custom", forbid_unknown_fields=True):
    item_schema: dict[str, Any]
    include_sample_schema: bool = False


class LogsConfig(msgspec.Struct, tag_field="type", tag="logs", forbid_unknown_fields=True):
    metadata: dict[str, Any] | None = None


class StoredCompletionsConfig(
    msgspec.Struct, tag_field="type", tag="stored_completions", forbid_unknown_fields=True
):
    metadata: dict[str, Any] | None = None


class CreateEval(msgspec.Struct, forbid_unknown_fields=True):
    data_source_config: CustomConfig | LogsConfig | StoredCompletionsConfig
    testing_criteria: Annotated[list[Grader], Meta(max_length=MAX_CRITERIA)]
    metadata: Metadata | None = None
    name: Annotated[str, Meta(max_length=MAX_NAME_CHARS)] | None = None


class UpdateEval(msgspec.Struct, forbid_unknown_fields=True):
    metadata: Metadata | None = None
    name: Annotated[str, Meta(max_length=MAX_NAME_CHARS)] | None = None


# -- runs


class Row(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    item: dict[str, Any]
    sample: dict[str, Any] | None = None


class FileContent(msgspec.Struct, tag_field="type", tag="file_content", forbid_unknown_fields=True):
    content: Annotated[list[Row], Meta(max_length=MAX_ITEMS)]


class FileId(msgspec.Struct, tag_field="type", tag="file_id", forbid_unknown_fields=True):
    id: Id


Limit = Annotated[int, Meta(ge=1, le=MAX_ITEMS)]
Time = Annotated[int, Meta(ge=0, le=2**40)]


class StoredCompletions(
    msgspec.Struct, tag_field="type", tag="stored_completions", forbid_unknown_fields=True, omit_defaults=True
):
    created_after: Time | None = None
    created_before: Time | None = None
    limit: Limit | None = None
    metadata: Metadata | None = None
    model: ModelId | None = None


class StoredResponses(
    msgspec.Struct, tag_field="type", tag="responses", forbid_unknown_fields=True, omit_defaults=True
):
    created_after: Time | None = None
    created_before: Time | None = None
    instructions_search: Template | None = None
    metadata: Metadata | None = None
    model: ModelId | None = None
    reasoning_effort: Effort | None = None
    temperature: Temperature | None = None
    tools: Annotated[list[Label], Meta(max_length=MAX_TOOLS)] | None = None
    top_p: Probability | None = None
    users: Annotated[list[Label], Meta(max_length=MAX_LABELS)] | None = None


class TemplateMessages(msgspec.Struct, tag_field="type", tag="template", forbid_unknown_fields=True):
    template: Annotated[list[Message], Meta(min_length=1, max_length=MAX_MESSAGES)]


class ItemReference(msgspec.Struct, tag_field="type", tag="item_reference", forbid_unknown_fields=True):
    item_reference: Annotated[str, Meta(min_length=1, max_length=MAX_NAME_CHARS)]


class _Sampling(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    max_completion_tokens: PositiveInt | None = None
    #: The spelling of OpenAI's own examples (and of graders' ``sampling_params``): read alike.
    max_completions_tokens: PositiveInt | None = None
    reasoning_effort: Effort | None = None
    seed: Seed | None = None
    temperature: Temperature | None = None
    top_p: Probability | None = None
    tools: Annotated[list[dict[str, Any]], Meta(max_length=MAX_TOOLS)] | None = None


class CompletionsSampling(_Sampling):
    response_format: dict[str, Any] | None = None


class ResponsesSampling(_Sampling):
    text: dict[str, Any] | None = None


class JsonlSource(msgspec.Struct, tag_field="type", tag="jsonl", forbid_unknown_fields=True):
    source: FileContent | FileId


class CompletionsSource(
    msgspec.Struct, tag_field="type", tag="completions", forbid_unknown_fields=True, omit_defaults=True
):
    source: FileContent | FileId | StoredCompletions
    input_messages: TemplateMessages | ItemReference | None = None
    model: ModelId | None = None
    sampling_params: CompletionsSampling | None = None


class ResponsesSource(
    msgspec.Struct, tag_field="type", tag="responses", forbid_unknown_fields=True, omit_defaults=True
):
    source: FileContent | FileId | StoredResponses
    input_messages: TemplateMessages | ItemReference | None = None
    model: ModelId | None = None
    sampling_params: ResponsesSampling | None = None


DataSource = JsonlSource | CompletionsSource | ResponsesSource


class CreateRun(msgspec.Struct, forbid_unknown_fields=True):
    data_source: DataSource
    metadata: Metadata | None = None
    name: Annotated[str, Meta(max_length=MAX_NAME_CHARS)] | None = None


# -- /v1/fine_tuning/alpha/graders


class RunGrader(msgspec.Struct, forbid_unknown_fields=True):
    grader: Grader
    model_sample: Annotated[str, Meta(max_length=MAX_TEMPLATE_CHARS)]
    item: Any = None


class ValidateGrader(msgspec.Struct, forbid_unknown_fields=True):
    grader: Grader

"""The ``required`` keys of OpenAI's published OpenAPI schemas, for the objects fakeai emits.

Source: OpenAI's OpenAPI description, ``openapi.yaml`` of https://github.com/openai/openai-openapi
(``components.schemas.<name>.required``, with ``allOf`` parts merged), written down by hand since
the tests run offline. Each schema maps a path inside the object to the keys required there: ``""``
is the object itself, ``choices[]`` each element of its ``choices`` list, ``choices[].message`` the
``message`` of each choice; a path whose value is absent or null is skipped (the parent's list says
whether it must be there). Keys listed here must be present in fakeai's JSON (with null where the
schema allows it), whatever the SDK's types default.
"""

from __future__ import annotations

USAGE = ["prompt_tokens", "completion_tokens", "total_tokens"]
LIST = ["object", "data", "has_more"]
STREAM_EVENT = ["type", "sequence_number"]

REQUIRED: dict[str, dict[str, list[str]]] = {
    "CreateChatCompletionResponse": {
        "": ["id", "object", "created", "model", "choices"],
        "choices[]": ["finish_reason", "index", "message", "logprobs"],
        "choices[].message": ["role", "content", "refusal"],
        "choices[].message.tool_calls[]": ["id", "type", "function"],
        "choices[].message.tool_calls[].function": ["name", "arguments"],
        "choices[].logprobs": ["content", "refusal"],
        "choices[].logprobs.content[]": ["token", "logprob", "bytes", "top_logprobs"],
        "choices[].logprobs.content[].top_logprobs[]": ["token", "logprob", "bytes"],
        "usage": USAGE,
    },
    "CreateChatCompletionStreamResponse": {
        "": ["id", "object", "created", "model", "choices"],
        "choices[]": ["delta", "finish_reason", "index"],
        "choices[].delta.tool_calls[]": ["index"],
        "usage": USAGE,
    },
    "CreateCompletionResponse": {
        "": ["id", "object", "created", "model", "choices"],
        "choices[]": ["finish_reason", "index", "logprobs", "text"],
        "usage": USAGE,
    },
    "CreateEmbeddingResponse": {
        "": ["object", "model", "data", "usage"],
        "data[]": ["index", "object", "embedding"],
        "usage": ["prompt_tokens", "total_tokens"],
    },
    "Model": {"": ["id", "object", "created", "owned_by"]},
    "ListModelsResponse": {"": ["object", "data"], "data[]": ["id", "object", "created", "owned_by"]},
    "OpenAIFile": {"": ["id", "object", "bytes", "created_at", "filename", "purpose", "status"]},
    "ListFilesResponse": {"": ["object", "data", "first_id", "last_id", "has_more"]},
    "DeleteFileResponse": {"": ["id", "object", "deleted"]},
    "Batch": {
        "": ["id", "object", "endpoint", "input_file_id", "completion_window", "status", "created_at"],
        "request_counts": ["total", "completed", "failed"],
    },
    "ListBatchesResponse": {"": LIST},
    "FineTuningJob": {
        "": [
            "id",
            "object",
            "created_at",
            "error",
            "fine_tuned_model",
            "finished_at",
            "hyperparameters",
            "model",
            "organization_id",
            "result_files",
            "status",
            "trained_tokens",
            "training_file",
            "validation_file",
            "seed",
        ],
        "error": ["code", "message", "param"],
    },
    "ListPaginatedFineTuningJobsResponse": {"": LIST},
    "FineTuningJobEvent": {"": ["id", "object", "created_at", "level", "message"]},
    "ListFineTuningJobEventsResponse": {"": LIST},
    "FineTuningJobCheckpoint": {
        "": [
            "id",
            "object",
            "created_at",
            "fine_tuned_model_checkpoint",
            "fine_tuning_job_id",
            "metrics",
            "step_number",
        ]
    },
    "ListFineTuningJobCheckpointsResponse": {"": ["object", "data", "has_more"]},
    "Response": {
        "": [
            "id",
            "object",
            "created_at",
            "error",
            "incomplete_details",
            "instructions",
            "model",
            "tools",
            "output",
            "parallel_tool_calls",
            "metadata",
            "tool_choice",
            "temperature",
            "top_p",
        ],
        "usage": [
            "input_tokens",
            "input_tokens_details",
            "output_tokens",
            "output_tokens_details",
            "total_tokens",
        ],
        "usage.input_tokens_details": ["cached_tokens"],
        "usage.output_tokens_details": ["reasoning_tokens"],
    },
    "OutputMessage": {
        "": ["id", "type", "role", "content", "status"],
        "content[]": ["type", "text", "annotations", "logprobs"],
    },
    "FunctionToolCall": {"": ["type", "call_id", "name", "arguments"]},
    "FileSearchToolCall": {"": ["id", "type", "status", "queries"]},
    "ResponseItemList": {"": ["object", "data", "has_more", "first_id", "last_id"]},
    # ResponseStreamEvent: one schema per event type.
    "ResponseCreatedEvent": {"": [*STREAM_EVENT, "response"]},
    "ResponseInProgressEvent": {"": [*STREAM_EVENT, "response"]},
    "ResponseCompletedEvent": {"": [*STREAM_EVENT, "response"]},
    "ResponseIncompleteEvent": {"": [*STREAM_EVENT, "response"]},
    "ResponseOutputItemAddedEvent": {"": [*STREAM_EVENT, "output_index", "item"]},
    "ResponseOutputItemDoneEvent": {"": [*STREAM_EVENT, "output_index", "item"]},
    "ResponseContentPartAddedEvent": {
        "": [*STREAM_EVENT, "item_id", "output_index", "content_index", "part"]
    },
    "ResponseContentPartDoneEvent": {"": [*STREAM_EVENT, "item_id", "output_index", "content_index", "part"]},
    "ResponseTextDeltaEvent": {
        "": [*STREAM_EVENT, "item_id", "output_index", "content_index", "delta", "logprobs"]
    },
    "ResponseTextDoneEvent": {
        "": [*STREAM_EVENT, "item_id", "output_index", "content_index", "text", "logprobs"]
    },
    "ResponseOutputTextAnnotationAddedEvent": {
        "": [*STREAM_EVENT, "item_id", "output_index", "content_index", "annotation_index", "annotation"]
    },
    "ResponseFunctionCallArgumentsDeltaEvent": {"": [*STREAM_EVENT, "item_id", "output_index", "delta"]},
    "ResponseFunctionCallArgumentsDoneEvent": {
        "": [*STREAM_EVENT, "item_id", "name", "output_index", "arguments"]
    },
    "ResponseFileSearchCallInProgressEvent": {"": [*STREAM_EVENT, "output_index", "item_id"]},
    "ResponseFileSearchCallSearchingEvent": {"": [*STREAM_EVENT, "output_index", "item_id"]},
    "ResponseFileSearchCallCompletedEvent": {"": [*STREAM_EVENT, "output_index", "item_id"]},
    "ImagesResponse": {"": ["created"]},
    "CreateModerationResponse": {
        "": ["id", "model", "results"],
        "results[]": ["flagged", "categories", "category_scores", "category_applied_input_types"],
    },
    "CreateTranscriptionResponseJson": {"": ["text"]},
    "VectorStoreObject": {
        "": [
            "id",
            "object",
            "created_at",
            "name",
            "usage_bytes",
            "file_counts",
            "status",
            "last_active_at",
            "metadata",
        ],
        "file_counts": ["in_progress", "completed", "failed", "cancelled", "total"],
    },
    "DeleteVectorStoreResponse": {"": ["id", "object", "deleted"]},
    "VectorStoreFileObject": {
        "": ["id", "object", "usage_bytes", "created_at", "vector_store_id", "status", "last_error"]
    },
    "ListVectorStoreFilesResponse": {"": ["object", "data", "first_id", "last_id", "has_more"]},
    "DeleteVectorStoreFileResponse": {"": ["id", "object", "deleted"]},
    "VectorStoreFileBatchObject": {
        "": ["id", "object", "created_at", "vector_store_id", "status", "file_counts"],
        "file_counts": ["in_progress", "completed", "failed", "cancelled", "total"],
    },
    "VectorStoreSearchResultsPage": {
        "": ["object", "search_query", "data", "has_more", "next_page"],
        "data[]": ["file_id", "filename", "score", "attributes", "content"],
        "data[].content[]": ["type", "text"],
    },
    "UploadPart": {"": ["id", "object", "created_at", "upload_id"]},
    "CreateTranslationResponseJson": {"": ["text"]},
    "DeleteModelResponse": {"": ["id", "object", "deleted"]},
    "Upload": {"": ["id", "object", "bytes", "created_at", "expires_at", "filename", "purpose", "status"]},
    # The Realtime server events fakeai sends (GA names).
    "RealtimeServerEventSessionCreated": {"": ["event_id", "type", "session"]},
    "RealtimeServerEventSessionUpdated": {"": ["event_id", "type", "session"]},
    "RealtimeServerEventError": {"": ["event_id", "type", "error"], "error": ["type", "message"]},
    "RealtimeServerEventConversationItemAdded": {"": ["event_id", "type", "item"]},
    "RealtimeServerEventConversationItemDone": {"": ["event_id", "type", "item"]},
    "RealtimeServerEventResponseCreated": {"": ["event_id", "type", "response"]},
    "RealtimeServerEventResponseDone": {"": ["event_id", "type", "response"]},
    "RealtimeServerEventResponseOutputItemAdded": {
        "": ["event_id", "type", "response_id", "output_index", "item"]
    },
    "RealtimeServerEventResponseOutputItemDone": {
        "": ["event_id", "type", "response_id", "output_index", "item"]
    },
    "RealtimeServerEventResponseContentPartAdded": {
        "": ["event_id", "type", "response_id", "item_id", "output_index", "content_index", "part"]
    },
    "RealtimeServerEventResponseContentPartDone": {
        "": ["event_id", "type", "response_id", "item_id", "output_index", "content_index", "part"]
    },
    "RealtimeServerEventResponseTextDelta": {
        "": ["event_id", "type", "response_id", "item_id", "output_index", "content_index", "delta"]
    },
    "RealtimeServerEventResponseTextDone": {
        "": ["event_id", "type", "response_id", "item_id", "output_index", "content_index", "text"]
    },
}

#: The schema of each Responses stream event type.
RESPONSE_EVENTS = {
    "response.created": "ResponseCreatedEvent",
    "response.in_progress": "ResponseInProgressEvent",
    "response.completed": "ResponseCompletedEvent",
    "response.incomplete": "ResponseIncompleteEvent",
    "response.output_item.added": "ResponseOutputItemAddedEvent",
    "response.output_item.done": "ResponseOutputItemDoneEvent",
    "response.content_part.added": "ResponseContentPartAddedEvent",
    "response.content_part.done": "ResponseContentPartDoneEvent",
    "response.output_text.delta": "ResponseTextDeltaEvent",
    "response.output_text.done": "ResponseTextDoneEvent",
    "response.output_text.annotation.added": "ResponseOutputTextAnnotationAddedEvent",
    "response.function_call_arguments.delta": "ResponseFunctionCallArgumentsDeltaEvent",
    "response.function_call_arguments.done": "ResponseFunctionCallArgumentsDoneEvent",
    "response.file_search_call.in_progress": "ResponseFileSearchCallInProgressEvent",
    "response.file_search_call.searching": "ResponseFileSearchCallSearchingEvent",
    "response.file_search_call.completed": "ResponseFileSearchCallCompletedEvent",
}

#: The schema of each Responses output item type.
OUTPUT_ITEMS = {
    "message": "OutputMessage",
    "function_call": "FunctionToolCall",
    "file_search_call": "FileSearchToolCall",
}

#: The schema of each Realtime (GA) server event type fakeai sends.
REALTIME_EVENTS = {
    "session.created": "RealtimeServerEventSessionCreated",
    "session.updated": "RealtimeServerEventSessionUpdated",
    "error": "RealtimeServerEventError",
    "conversation.item.added": "RealtimeServerEventConversationItemAdded",
    "conversation.item.done": "RealtimeServerEventConversationItemDone",
    "response.created": "RealtimeServerEventResponseCreated",
    "response.done": "RealtimeServerEventResponseDone",
    "response.output_item.added": "RealtimeServerEventResponseOutputItemAdded",
    "response.output_item.done": "RealtimeServerEventResponseOutputItemDone",
    "response.content_part.added": "RealtimeServerEventResponseContentPartAdded",
    "response.content_part.done": "RealtimeServerEventResponseContentPartDone",
    "response.output_text.delta": "RealtimeServerEventResponseTextDelta",
    "response.output_text.done": "RealtimeServerEventResponseTextDone",
}

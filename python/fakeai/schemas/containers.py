"""Request bodies of ``/v1/containers`` and ``/v1/containers/{id}/files`` (JSON; a file upload is
multipart and read by :func:`fakeai.http.multipart.read_form`), as the SDK's ``ContainerCreateParams``
and ``FileCreateParams`` declare them. An unknown field is a 400 ``unknown_parameter``, as OpenAI
answers. ``network_policy`` is kept raw here and checked as a code interpreter tool's is
(:mod:`fakeai.engine.response_tools`), so both places say the same thing about the same value.

Bounds OpenAI does not document are fakeai's: a ``name`` of at most :data:`MAX_NAME_CHARS`
characters, ``expires_after.minutes`` from 1 to :data:`MAX_MINUTES` (30 days), at most
:data:`MAX_SKILLS` skills, ids of at most :data:`MAX_ID_CHARS` characters. ``file_ids`` holds at most
:data:`~fakeai.engine.response_tools.MAX_FILE_IDS`, the bound of a code interpreter's automatic
container.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from fakeai.engine.response_tools import MAX_FILE_IDS

MAX_NAME_CHARS = 256
MAX_MINUTES = 30 * 24 * 60
MAX_SKILLS = 32
MAX_ID_CHARS = 128

Id = Annotated[str, Meta(min_length=1, max_length=MAX_ID_CHARS)]
MemoryLimit = Literal["1g", "4g", "16g", "64g"]


class ExpiresAfter(msgspec.Struct, forbid_unknown_fields=True):
    anchor: Literal["last_active_at"]
    minutes: Annotated[int, Meta(ge=1, le=MAX_MINUTES)]


class SkillReference(msgspec.Struct, tag_field="type", tag="skill_reference", forbid_unknown_fields=True):
    skill_id: Id
    version: Annotated[str, Meta(min_length=1, max_length=32)] | None = None


class InlineSkillSource(msgspec.Struct, forbid_unknown_fields=True):
    #: Base64 of a zip bundle (bounded by ``--max-body-bytes``; checked to decode).
    data: str
    media_type: Literal["application/zip"]
    type: Literal["base64"]


class InlineSkill(msgspec.Struct, tag_field="type", tag="inline", forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=64)]
    description: Annotated[str, Meta(max_length=1024)]
    source: InlineSkillSource


class CreateContainer(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(max_length=MAX_NAME_CHARS)]
    expires_after: ExpiresAfter | None = None
    file_ids: Annotated[list[Id], Meta(max_length=MAX_FILE_IDS)] | None = None
    memory_limit: MemoryLimit | None = None
    network_policy: dict[str, Any] | None = None
    skills: Annotated[list[SkillReference | InlineSkill], Meta(max_length=MAX_SKILLS)] | None = None


class CreateContainerFile(msgspec.Struct, forbid_unknown_fields=True):
    """The JSON form of ``POST /v1/containers/{id}/files``: a stored file to copy in."""

    file_id: Id | None = None

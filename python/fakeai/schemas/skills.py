"""Request bodies of ``/v1/skills`` that are JSON (creating a skill or a version is a multipart upload,
read by :func:`fakeai.http.multipart.read_files`), as the SDK's ``SkillUpdateParams`` declares them.
An unknown field is a 400 ``unknown_parameter``, as OpenAI answers."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

#: A version as a client names it: a number or ``latest`` (checked by :mod:`fakeai.engine.skills`).
Version = Annotated[str, Meta(min_length=1, max_length=32)]


class UpdateSkill(msgspec.Struct, forbid_unknown_fields=True):
    default_version: Version

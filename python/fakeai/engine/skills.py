"""Skills and their versions, kept in the server's store so every worker sees the same ones: what
``/v1/skills`` (:mod:`fakeai.api.skills`) serves and containers' ``skill_reference``s resolve against.

- A ``skill`` (``skill_`` + 48 hex digits) is a store object; a ``skill.version`` is another, tagged
  with its skill, sized by its bundle's bytes against ``--max-storage-bytes`` as uploaded files are,
  with the bundle's zip as a blob named by the version's id. The version's id is
  ``skillver_<the skill's hex>_<number>``, so a version is found by its number without a scan.
- Numbers count up from ``1`` and are never reused (a deleted or failed version leaves a gap).
  ``latest_version`` is the highest live one; ``default_version`` is ``1`` until a ``POST
  /v1/skills/{id}`` (``default_version``) or a new version with ``default=true`` moves it; the skill's
  ``name`` and ``description`` are its default version's (from that bundle's ``SKILL.md``). The
  default version cannot be deleted (a 400: point ``default_version`` elsewhere first), so a skill
  always has one; deleting the skill deletes every version and bundle. A version given as ``latest``
  means the latest one wherever a version is named.
- The skill's record is the one source of truth for which versions are live (its private
  ``_versions``, at most :data:`MAX_VERSIONS`; ``_next`` is the next number) and every change to it
  is a compare-and-set on a revision kept in its ``status`` column (never shown), retried on a race:
  two workers adding versions at once get two numbers; a version being deleted cannot become the
  default meanwhile. A version's record and blob are written before the skill lists it and removed
  after it stops listing it, so a listed version always has its bundle.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, NamedTuple

from fakeai.engine.skill_bundle import Manifest, Part, is_zip, read_zip, zip_folder
from fakeai.errors import ApiError, bad_request, not_found
from fakeai.schemas.common import decimal
from fakeai.store import Obj, Store

if TYPE_CHECKING:
    from fakeai.settings import Settings

KIND = "skill"
VERSION_KIND = "skill.version"
PREFIX = "skill_"
#: Live versions of one skill (fakeai's bound; OpenAI documents none).
MAX_VERSIONS = 1000
MAX_NUMBER = 10**9
#: Keys of a skill's record that are never shown.
PRIVATE = ("status", "_next", "_versions")


class Bundle(NamedTuple):
    """A checked bundle: an uncommitted blob writer holding its zip, the zip's size, its manifest."""

    writer: IO[bytes]
    size: int
    manifest: Manifest


def bundle(store: Store, parts: Sequence[Part]) -> Bundle:
    """The bundle of an upload: its one part when that is a zip, else its parts zipped. Every part's
    writer is the bundle's or discarded, on success and on error (a 400 for a bad bundle)."""
    try:
        if len(parts) == 1:
            first = parts[0]
            first.file.flush()
            first.file.seek(0)
            if is_zip(first.file.read(4)) or first.path.lower().endswith(".zip"):
                return Bundle(first.file, first.size, read_zip(first.file, first.size))
        out = store.blob_writer()
        try:
            manifest = zip_folder(parts, out)
            size = out.tell()
        except BaseException:
            store.discard_blob(out)
            raise
    except BaseException:
        for part in parts:
            store.discard_blob(part.file)
        raise
    for part in parts:
        store.discard_blob(part.file)
    return Bundle(out, size, manifest)


def version_id(skill_id: str, number: int) -> str:
    return f"skillver_{skill_id.removeprefix(PREFIX)}_{number}"


def present(skill: Obj) -> Obj:
    return {key: value for key, value in skill.items() if key not in PRIVATE}


class Skills:
    """The skills of one server (its ``store``, under its ``settings``' storage quota)."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.quota = settings.max_storage_bytes

    def create(self, made: Bundle) -> Obj:
        """A new skill whose version 1 (its default and latest) is ``made``."""
        skill_id = PREFIX + secrets.token_hex(24)
        version = self._store_version(skill_id, 1, made)
        manifest = made.manifest
        skill: Obj = {
            "id": skill_id,
            "object": "skill",
            "created_at": int(time.time()),
            "default_version": "1",
            "description": manifest.description,
            "latest_version": "1",
            "name": manifest.name,
            "status": "r0",
            "_next": 2,
            "_versions": [1],
        }
        try:
            self.store.insert(KIND, skill, quota=self.quota)
        except BaseException:
            self._drop(version["id"])
            raise
        return present(skill)

    def get(self, skill_id: str, param: str | None = None) -> Obj:
        skill = self.store.get(KIND, skill_id)
        if skill is None:
            raise not_found("skill", skill_id, param=param)
        return skill

    def number(self, skill: Obj, version: str, param: str | None = None) -> int:
        """The live version ``version`` (a number or ``latest``) of ``skill``: 400 malformed, 404 unknown."""
        if version == "latest":
            return max(skill["_versions"])
        number = decimal(version, MAX_NUMBER)
        if number is None or number < 1:
            raise bad_request(
                f"Invalid version {version[:32]!r}: expected a positive integer or 'latest'.",
                param=param,
                code="invalid_value",
            )
        if number not in skill["_versions"]:
            raise ApiError(
                404, f"No version '{number}' found for skill '{skill['id']}'.", param=param, code="not_found"
            )
        return number

    def version(self, skill_id: str, version: str) -> Obj:
        skill = self.get(skill_id)
        number = self.number(skill, version)
        found = self.store.get(VERSION_KIND, version_id(skill_id, number))
        if found is None:  # deleted meanwhile
            raise not_found("skill version", version_id(skill_id, number))
        return found

    def resolve(self, skill_id: str, version: str | None, param: str) -> None:
        """Check a ``skill_reference`` (``param`` is where it is in the request)."""
        skill = self.get(skill_id, f"{param}.skill_id")
        if version is not None:
            self.number(skill, version, f"{param}.version")

    def add_version(self, skill_id: str, made: Bundle, *, default: bool = False) -> Obj:
        """Store ``made`` as the skill's next version (its default too with ``default``)."""
        try:
            while True:  # reserve a number
                skill = self.get(skill_id)
                if len(skill["_versions"]) >= MAX_VERSIONS:
                    raise bad_request(
                        f"A skill holds at most {MAX_VERSIONS} versions; delete some first.",
                        code="too_many_versions",
                    )
                number = skill["_next"]
                if self._save(skill, _next=number + 1) is not None:
                    break
        except BaseException:
            self.store.discard_blob(made.writer)
            raise
        version = self._store_version(skill_id, number, made)
        while True:  # list it
            current = self.store.get(KIND, skill_id)
            if current is None:  # deleted meanwhile
                self._drop(version["id"])
                raise not_found("skill", skill_id)
            live = sorted([*current["_versions"], number])
            changes: Obj = {"_versions": live, "latest_version": str(live[-1])}
            if default:
                changes.update(
                    default_version=str(number), name=version["name"], description=version["description"]
                )
            if self._save(current, **changes) is not None:
                return version

    def set_default(self, skill_id: str, version: str) -> Obj:
        while True:
            skill = self.get(skill_id)
            number = self.number(skill, version, "default_version")
            found = self.store.get(VERSION_KIND, version_id(skill_id, number))
            if found is None:  # deleted meanwhile
                raise not_found("skill version", version_id(skill_id, number), param="default_version")
            saved = self._save(
                skill, default_version=str(number), name=found["name"], description=found["description"]
            )
            if saved is not None:
                return present(saved)

    def delete_version(self, skill_id: str, version: str) -> Obj:
        while True:
            skill = self.get(skill_id)
            number = self.number(skill, version)
            if str(number) == skill["default_version"]:
                raise bad_request(
                    "Cannot delete the default version of a skill; set another 'default_version' first.",
                    code="invalid_value",
                )
            live = [v for v in skill["_versions"] if v != number]
            if self._save(skill, _versions=live, latest_version=str(max(live))) is not None:
                break
        gone = version_id(skill_id, number)
        self._drop(gone)
        return {"id": gone, "object": "skill.version.deleted", "deleted": True, "version": str(number)}

    def delete(self, skill_id: str) -> bool:
        if self.store.delete(KIND, skill_id) is None:
            return False
        for version in self.store.all(VERSION_KIND, tag=skill_id):
            self._drop(version["id"])
        return True

    def default_key(self, skill_id: str) -> str:
        """The blob key of the skill's default version's bundle."""
        skill = self.get(skill_id)
        return version_id(skill_id, int(skill["default_version"]))

    def _save(self, skill: Obj, **changes: object) -> Obj | None:
        """``skill`` with ``changes`` saved if nobody changed it since it was read (else None)."""
        saved = {**skill, **changes, "status": f"r{int(skill['status'][1:]) + 1}"}
        return saved if self.store.update(KIND, saved, expect=(skill["status"],)) else None

    def _store_version(self, skill_id: str, number: int, made: Bundle) -> Obj:
        """Commit the bundle and record the version (StorageFull past ``--max-storage-bytes``)."""
        key = version_id(skill_id, number)
        try:
            self.store.commit_blob(made.writer, key)
        except BaseException:
            self.store.discard_blob(made.writer)
            raise
        version: Obj = {
            "id": key,
            "object": "skill.version",
            "created_at": int(time.time()),
            "description": made.manifest.description,
            "name": made.manifest.name,
            "skill_id": skill_id,
            "version": str(number),
        }
        try:
            self.store.insert(VERSION_KIND, version, tag=skill_id, size=made.size, quota=self.quota)
        except BaseException:
            self.store.delete_blob(key)
            raise
        return version

    def _drop(self, key: str) -> None:
        self.store.delete(VERSION_KIND, key)
        self.store.delete_blob(key)

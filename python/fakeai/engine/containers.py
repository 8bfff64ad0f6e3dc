"""Code interpreter containers and their files, kept in the server's store so every worker sees them:
what ``/v1/containers`` (:mod:`fakeai.api.containers`) and the Responses API's ``code_interpreter``
tool (:mod:`fakeai.engine.hosted_tools`) both use.

- A ``container`` (``cntr_`` + 48 hex digits, as OpenAI's) is an *expiring* store object, tagged with
  its name (what ``GET /v1/containers?name=`` filters on): it counts against ``--max-expiring-bytes``
  beside stored responses and conversations, and past that budget the least recently used go first
  (then a 404 like an unknown id), so automatic containers made by a load test's code interpreter
  calls stay bounded. Every use that refreshes ``last_active_at`` (below) also moves the container to
  the back of the budget's queue (:meth:`~fakeai.store.base.Store.touch`, every time, not once a
  second), so a container in use outlives the stored responses made since; listing does not.
- Expiry follows OpenAI's guide: a container is ``running`` until ``expires_after.minutes`` (default
  20) pass without activity, then ``expired`` for good. Every operation on it or its files (retrieve,
  adding, listing, reading or deleting files, a Responses call running code in it) refreshes
  ``last_active_at``; listing containers does not. An expired container keeps its metadata (retrieve
  and list show it ``expired``) but its files are deleted, and using it is a 400 ``Container is
  expired.`` (what OpenAI answers a Responses call in one): adding, listing or reading its files too.
  The state is worked out when read, from ``last_active_at``; the first reader to find it expired
  marks it so (compare-and-set: a refresh racing the expiry cannot bring it back) and deletes its files.
- A ``container.file`` (``cfile_`` + 32 hex digits) is a store object tagged with its container, sized
  by its bytes against ``--max-storage-bytes`` as uploaded files are, with a blob named by its id. Its
  ``path`` is ``/mnt/data/<32 hex digits>-<file name>``, the shape OpenAI gives, so two files of one name
  do not collide. A file copied from ``file_id`` is a copy: the stored blob is hard-linked (blobs never
  change), so deleting either one leaves the other whole.
- Accounting of copies: a hard-linked copy *shares* the stored file's blob (``shares`` of
  :meth:`~fakeai.store.base.Store.insert`): while the stored file exists, the bytes on disk are its
  and counted once, by it, so the copy costs nothing against ``--max-storage-bytes``; once the file is
  deleted the copy counts its own size (the inode lives on in it). A copy made byte by byte (a file
  system without links) counts its size at once. So repeating a code interpreter call with
  ``file_ids`` makes containers bounded by the expiring budget, each holding free links, and never
  uses up the storage other clients upload to.
- The disk stays bounded: ``--max-storage-bytes`` counts every blob's bytes at least once for as long
  as its row exists (a stored file's, an uploaded container file's, a linked copy's once its source
  went; a container file's row and blob are deleted together), and container records count against
  ``--max-expiring-bytes``.
- Files of containers that expired, were deleted or dropped by the budget while nobody looked are
  deleted by a sweep that any container request or code interpreter call starts, at most every
  :data:`SWEEP_EVERY_S` per worker, in a thread of its own. It first deletes the files whose container
  is gone (:meth:`~fakeai.store.base.Store.orphans`: a container the budget dropped takes its files
  with it at the next sweep; they count against the storage quota until then), then leases each
  container file until its container's expiry (the store's leases, never released, so a file is
  looked at again only then) and deletes those whose container has expired.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from fakeai.errors import ApiError, bad_request, not_found
from fakeai.store import Obj, Store
from fakeai.store.objects import live_file

if TYPE_CHECKING:
    from fakeai.http.multipart import FormFile
    from fakeai.settings import Settings

KIND = "container"
FILE_KIND = "container.file"
MOUNT = "/mnt/data/"
DEFAULT_MINUTES = 20
DEFAULT_MEMORY = "1g"
#: The longest file name kept in a container file's ``path`` (a file system's limit).
MAX_FILE_NAME_CHARS = 255
#: The name of the containers ``{"type": "auto"}`` makes.
AUTO_NAME = "auto"
#: How often one worker starts a sweep, at most, and how many files one sweep looks at.
SWEEP_EVERY_S = 10.0
SWEEP_BATCH = 500
#: A sweep's first lease on a file (renewed to its container's expiry once read).
CHECK_S = 60.0
#: The key of a container file's record naming the stored file it was copied from (never shown).
COPY_OF = "_copy_of"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_sweeping = threading.Lock()
_sweep_due = 0.0


def shown_file(file: Obj) -> Obj:
    """A container file as the API shows it (without the stored file it was copied from)."""
    return {key: value for key, value in file.items() if key != COPY_OF}


def container_id() -> str:
    return "cntr_" + secrets.token_hex(24)


def expires_at(container: Obj) -> float:
    return container["last_active_at"] + container["expires_after"]["minutes"] * 60


def is_expired(container: Obj) -> bool:
    return container["status"] == "expired" or expires_at(container) <= time.time()


def present(container: Obj) -> Obj:
    """The container as the API shows it: ``expired`` once past its time, whoever noticed first."""
    return {**container, "status": "expired" if is_expired(container) else "running"}


def expired_error(param: str | None = None) -> ApiError:
    return bad_request("Container is expired.", param=param)


def network_policy(policy: Obj | None) -> Obj | None:
    """A checked ``network_policy`` as the container shows it: its domain secrets are never echoed."""
    if policy is None:
        return None
    if policy["type"] == "disabled":
        return {"type": "disabled"}
    return {"type": "allowlist", "allowed_domains": list(policy["allowed_domains"])}


def file_name(name: str, param: str) -> str:
    """The last component of an uploaded or stored file's name, as it appears in a ``path``."""
    name = _CONTROL.sub("", name.replace("\\", "/").rsplit("/", 1)[-1])
    if len(name) > MAX_FILE_NAME_CHARS:
        raise bad_request(
            f"The file name is longer than {MAX_FILE_NAME_CHARS} characters.",
            param=param,
            code="invalid_value",
        )
    return name if name not in ("", ".", "..") else "file"


class Containers:
    """The containers of one server (its ``store``, under its ``settings``' storage bounds)."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.budget = settings.max_expiring_bytes
        self.quota = settings.max_storage_bytes

    # Containers

    def create(
        self,
        name: str,
        *,
        minutes: int = DEFAULT_MINUTES,
        memory_limit: str | None = None,
        policy: Obj | None = None,
        file_ids: Sequence[str] = (),
        param: str = "file_ids",
    ) -> Obj:
        """A new running container holding a copy of each of ``file_ids`` (each must be a stored file:
        else a 404 naming ``param``, and nothing is created). Many store writes: call it off the loop."""
        file_ids = self._stored(file_ids, param)
        now = int(time.time())
        container: Obj = {
            "id": container_id(),
            "object": "container",
            "created_at": now,
            "status": "running",
            "expires_after": {"anchor": "last_active_at", "minutes": minutes},
            "last_active_at": now,
            "memory_limit": memory_limit or DEFAULT_MEMORY,
            "name": name,
        }
        if policy is not None:
            container["network_policy"] = network_policy(policy)
        self.store.insert_expiring([(KIND, container)], self.budget, tag=name)
        try:
            for file_id in file_ids:
                self.copy(container, file_id, param)
        except BaseException:
            self.delete(container["id"])
            raise
        return container

    def add_files(self, container: Obj, file_ids: Sequence[str], param: str) -> None:
        """Copy into ``container`` each of ``file_ids`` it holds no copy of (what an ``auto`` code
        interpreter reusing it asks for); a 404 naming ``param`` for one that is not a stored file,
        and nothing is added."""
        held = {file.get(COPY_OF) for file in self.store.all(FILE_KIND, tag=container["id"])}
        made = []
        try:
            for file_id in self._stored([f for f in file_ids if f not in held], param):
                made.append(self.copy(container, file_id, param))
        except BaseException:
            for file in made:
                self.drop_file(file)
            raise

    def _stored(self, file_ids: Sequence[str], param: str) -> list[str]:
        """``file_ids`` without repeats, each checked to be a stored file (else a 404 naming ``param``)."""
        file_ids = list(dict.fromkeys(file_ids))
        for file_id in file_ids:
            if live_file(self.store, file_id) is None:
                raise not_found("file", file_id, param=param)
        return file_ids

    def get(self, id: str, param: str | None = None) -> Obj:
        """The stored container (running or expired), else a 404."""
        container = self.store.get(KIND, id)
        if container is None:
            raise not_found("container", id, param=param)
        return container

    def use(self, id: str, param: str | None = None) -> Obj:
        """The running container ``id``, its ``last_active_at`` refreshed; 404 when unknown, 400 when
        it has expired (which deletes its files, if nobody did yet)."""
        container = self.get(id, param)
        if is_expired(container):
            self.expire(container)
            raise expired_error(param)
        return self._touch(container, param)

    def retrieve(self, id: str) -> Obj:
        """The container as shown: a running one refreshed, an expired one as it was when it expired."""
        container = self.get(id)
        if not is_expired(container):
            try:
                return present(self._touch(container))
            except ApiError:  # expired by another worker meanwhile (a 404 if deleted)
                container = self.get(id)
        self.expire(container)
        return present(container)

    def _touch(self, container: Obj, param: str | None = None) -> Obj:
        """Refresh ``last_active_at`` (once a second) and move the container to the back of the
        expiring budget's queue (every time: the budget drops the least recently used first)."""
        now = int(time.time())
        touched = container
        if container["last_active_at"] != now:
            touched = {**container, "last_active_at": now}
            if not self.store.update(KIND, touched, expect=("running",)):  # expired or deleted meanwhile
                self.get(container["id"], param)
                raise expired_error(param)
        if not self.store.touch(KIND, container["id"]):  # deleted or dropped meanwhile
            raise not_found("container", container["id"], param=param)
        return touched

    def expire(self, container: Obj) -> None:
        """Mark a container that has passed its time ``expired`` (once) and delete its files."""
        if container["status"] == "running":
            self.store.update(KIND, {**container, "status": "expired"}, expect=("running",))
        self._purge(container["id"])

    def delete(self, id: str) -> bool:
        if self.store.delete(KIND, id) is None:
            return False
        self._purge(id)
        return True

    def _purge(self, id: str) -> None:
        for file in self.store.all(FILE_KIND, tag=id):
            self.drop_file(file)

    # Files

    def add_upload(self, container: Obj, upload: FormFile) -> Obj:
        """Commit an uploaded file part into ``container`` (the blob is discarded on any error)."""
        try:
            name = file_name(upload.filename, "file")
            file_id = "cfile_" + secrets.token_hex(16)
            self.store.commit_blob(upload.writer, file_id)
        except BaseException:
            self.store.discard_blob(upload.writer)
            raise
        return self._record(container, file_id, name, upload.size, "user")

    def copy(self, container: Obj, file_id: str, param: str) -> Obj:
        """Copy the stored file ``file_id`` into ``container``; 404 naming ``param`` when there is none."""
        file = live_file(self.store, file_id)
        if file is None:
            raise not_found("file", file_id, param=param)
        name = file_name(file["filename"], param)
        copy_id = "cfile_" + secrets.token_hex(16)
        copied = self._copy_blob(file_id, copy_id)
        if copied is None:  # deleted meanwhile
            raise not_found("file", file_id, param=param)
        size, linked = copied
        shares = ("file", file_id) if linked else None
        return self._record(container, copy_id, name, size, "user", shares=shares, copy_of=file_id)

    def _copy_blob(self, key: str, to: str) -> tuple[int, bool] | None:
        """Copy the blob ``key`` to ``to``: its size, and whether the copy is a hard link of it."""
        source = self.store.open_blob(key)
        if source is None:
            return None
        with source:
            size = os.fstat(source.fileno()).st_size
            try:  # blobs never change: a hard link is a copy
                os.link(self.store.blob_path(key), self.store.blob_path(to))
                return size, True
            except OSError:  # gone since it was opened, or a file system without links: copy the bytes
                writer = self.store.blob_writer()
                try:
                    shutil.copyfileobj(source, writer, 1 << 20)
                    self.store.commit_blob(writer, to)
                except BaseException:
                    self.store.discard_blob(writer)
                    raise
        return size, False

    def _record(
        self,
        container: Obj,
        file_id: str,
        name: str,
        size: int,
        source: str,
        *,
        shares: tuple[str, str] | None = None,
        copy_of: str | None = None,
    ) -> Obj:
        file: Obj = {
            "id": file_id,
            "object": "container.file",
            "created_at": int(time.time()),
            "bytes": size,
            "container_id": container["id"],
            "path": f"{MOUNT}{secrets.token_hex(16)}-{name}",
            "source": source,
        }
        if copy_of is not None:
            file[COPY_OF] = copy_of
        try:
            self.store.insert(
                FILE_KIND, file, tag=container["id"], size=size, quota=self.quota, shares=shares
            )
        except BaseException:  # over --max-storage-bytes (StorageFull), or anything else
            self.store.delete_blob(file_id)
            raise
        return shown_file(file)

    def file(self, container: Obj, file_id: str) -> Obj:
        file = self.store.get(FILE_KIND, file_id)
        if file is None or file["container_id"] != container["id"]:
            raise not_found("container file", file_id)
        return shown_file(file)

    def drop_file(self, file: Obj) -> bool:
        """Delete a container file and its blob; False when it was already gone."""
        gone = self.store.delete(FILE_KIND, file["id"]) is None
        self.store.delete_blob(file["id"])
        return not gone

    # Sweeping

    def sweep_soon(self) -> None:
        """Start a :meth:`sweep` in a thread unless this worker ran one in the last ``SWEEP_EVERY_S``."""
        global _sweep_due
        now = time.monotonic()
        if now < _sweep_due or not _sweeping.acquire(blocking=False):
            return
        _sweep_due = now + SWEEP_EVERY_S
        threading.Thread(target=self._sweep_and_release, name="fakeai-container-sweep", daemon=True).start()

    def _sweep_and_release(self) -> None:
        try:
            self.sweep()
        except Exception:  # a store hiccup: the next sweep tries again
            pass
        finally:
            _sweeping.release()

    def sweep(self, most: int = SWEEP_BATCH) -> int:
        """Delete the files of containers that are gone (at once) or expired (looking at each file
        at most once per expiry period; see the module docs); returns how many were deleted."""
        owner = f"container-sweep-{os.getpid()}"
        dropped = 0
        for orphan in self.store.orphans(FILE_KIND, KIND, limit=most):  # container deleted or dropped
            dropped += self.drop_file(orphan)
        for _ in range(most - dropped):
            file = self.store.claim(FILE_KIND, ("",), owner, CHECK_S)
            if file is None:
                break
            container = self.store.get(KIND, file["container_id"])
            if container is not None and not is_expired(container):
                left = expires_at(container) - time.time()
                self.store.renew(FILE_KIND, file["id"], owner, left + 1)
            elif container is not None:
                self.expire(container)
                dropped += 1
            else:
                self.drop_file(file)
                dropped += 1
        return dropped


def last_container(history: Sequence[Obj]) -> str | None:
    """The container of the last ``code_interpreter_call`` in a conversation (what ``auto`` reuses)."""
    for item in reversed(history):
        if item.get("type") == "code_interpreter_call" and isinstance(item.get("container_id"), str):
            return item["container_id"]
    return None

"""A skill's bundle checked before it is stored: a zip (uploaded as one, or made from a folder's files),
its ``SKILL.md`` manifest found and its front matter read (what :mod:`fakeai.engine.skills` stores).

OpenAI's guide: a skill is "a versioned bundle of files plus a ``SKILL.md`` manifest (front matter +
instructions)", uploaded as ``files[]`` parts whose file names are paths inside a single top-level
folder, or as a ``.zip`` holding that folder; the front matter's ``name`` and ``description`` become
the skill's. Its limits: a zip of at most 50 MB, at most 500 files, each at most 25 MB uncompressed.

Rules (every failure a 400 naming ``files``; nothing is stored):

1. Every bound is checked on what the zip *declares* before anything is decompressed or parsed, so a
   zip bomb costs a few reads: the end-of-central-directory record (zip64 too) must declare at most
   :data:`MAX_ENTRIES` entries in a directory of at most :data:`MAX_DIRECTORY_BYTES`, and the directory
   is walked entry by entry (counting) before :mod:`zipfile` reads it; then each file declares at most
   :data:`MAX_FILE_BYTES`, all of them :data:`MAX_UNPACKED_BYTES` (fakeai's bound: OpenAI documents
   none), at most :data:`MAX_FILES` files.
2. Names are relative paths: no leading ``/``, no ``..`` or empty component, no backslash, drive or
   control character, at most :data:`MAX_PATH_CHARS` characters, each once; no symlinks, no encrypted
   entries. The same holds for a folder upload's part names.
3. Every member is then read through (decompression stops at the declared size) so its CRC is
   checked: a corrupt zip is refused here, not by whoever mounts it later.
4. The manifest is ``SKILL.md`` at the top of the bundle, or in its single top-level folder (macOS's
   ``__MACOSX/`` and ``.DS_Store`` entries are ignored for that); its front matter (``---`` lines
   opening the file, within its first :data:`MAX_FRONT_MATTER_BYTES`) needs a ``name`` (at most 64
   characters) and a ``description`` (at most 1024), as the Agent Skills standard says. The front
   matter is read as the simple YAML it is (``key: value``, quoted scalars, ``|``/``>`` blocks);
   other keys are kept in the bundle and otherwise ignored.

A folder upload is zipped (deflated) into a new blob, so both forms are served back the same way: the
content endpoints answer the bundle's zip bytes.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import zipfile
from collections.abc import Sequence
from typing import IO, NamedTuple

from fakeai.errors import ApiError, bad_request

MiB = 1024 * 1024
#: OpenAI's limits: the zip, the files in it, one file uncompressed.
MAX_BUNDLE_BYTES = 50 * MiB
MAX_FILES = 500
MAX_FILE_BYTES = 25 * MiB
#: fakeai's bounds: all files uncompressed, zip entries (files and folders), the central directory,
#: a path, the head of SKILL.md read for its front matter.
MAX_UNPACKED_BYTES = 100 * MiB
MAX_ENTRIES = 2 * MAX_FILES
MAX_DIRECTORY_BYTES = MAX_ENTRIES * 1024
MAX_PATH_CHARS = 512
MAX_FRONT_MATTER_BYTES = 64 * 1024
MAX_NAME_CHARS = 64
MAX_DESCRIPTION_CHARS = 1024
MANIFEST = "SKILL.md"
PARAM = "files"
_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_JUNK = ("__MACOSX/", ".DS_Store")
_KEY = re.compile(r"([A-Za-z0-9_-]+)[ \t]*:(?:[ \t]+(.*))?$")


class Manifest(NamedTuple):
    """What a bundle's ``SKILL.md`` front matter says."""

    name: str
    description: str


def invalid(message: str) -> ApiError:
    return bad_request(message, param=PARAM, code="invalid_value")


def is_zip(head: bytes) -> bool:
    """Whether a file starting with ``head`` is a zip (a local header, or an empty archive's end)."""
    return head[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def check_path(path: str) -> str:
    """A bundle member's path, checked (rule 2); a folder's keeps its trailing ``/``."""
    parts = path[:-1].split("/") if path.endswith("/") else path.split("/")
    if (
        not path
        or len(path) > MAX_PATH_CHARS
        or path.startswith("/")
        or "\\" in path
        or _CONTROL.search(path)
        or any(part in ("", ".", "..") for part in parts)
        or ":" in parts[0]
    ):
        shown = path if len(path) <= 80 else path[:80] + "..."
        raise invalid(f"Invalid file path in the skill bundle: {shown!r} (a relative path is expected).")
    return path


def manifest_path(paths: Sequence[str]) -> str:
    """Where the bundle's ``SKILL.md`` is (rule 4)."""
    kept = [p for p in paths if not any(p.startswith(j) or p.endswith("/" + j) or p == j for j in _JUNK)]
    if MANIFEST in kept:
        return MANIFEST
    tops = {p.split("/", 1)[0] for p in kept}
    loose = [p for p in kept if "/" not in p]
    if len(tops) == 1 and not loose:
        path = f"{tops.pop()}/{MANIFEST}"
        if path in kept:
            return path
    elif len(tops) > 1:
        raise invalid(
            f"The skill bundle must hold a single top-level folder with a {MANIFEST} in it "
            f"(found {len(tops)} top-level entries)."
        )
    raise invalid(f"The skill bundle has no {MANIFEST} at its top level.")


def front_matter(head: bytes) -> Manifest:
    """The ``name`` and ``description`` of a ``SKILL.md`` starting with ``head``."""
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise invalid(f"{MANIFEST} must open with YAML front matter ('---' lines) naming the skill.")
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.rstrip() in ("---", "..."))
    except StopIteration:
        raise invalid(f"{MANIFEST}'s front matter has no closing '---' line.") from None
    values = _simple_yaml(lines[1:end])
    found = {}
    for key, most in (("name", MAX_NAME_CHARS), ("description", MAX_DESCRIPTION_CHARS)):
        value = values.get(key, "").strip()
        if not value:
            raise invalid(f"{MANIFEST}'s front matter needs a '{key}'.")
        if len(value) > most:
            raise invalid(f"{MANIFEST}'s '{key}' is longer than {most} characters.")
        found[key] = value
    return Manifest(found["name"], found["description"])


def _simple_yaml(lines: list[str]) -> dict[str, str]:
    """The top-level ``key: scalar`` pairs of a front matter (nested mappings and lists skipped)."""
    values: dict[str, str] = {}
    i = 0
    while i < len(lines):
        match = _KEY.match(lines[i])
        i += 1
        if match is None or lines[i - 1][:1] in (" ", "\t"):
            continue
        key, raw = match.group(1), (match.group(2) or "").strip()
        block = []
        while i < len(lines) and (not lines[i].strip() or lines[i][:1] in (" ", "\t")):
            block.append(lines[i])
            i += 1
        if raw[:1] in ("|", ">"):
            body = [line.strip() for line in block]
            values[key] = ("\n" if raw[0] == "|" else " ").join(body).strip()
        elif raw.startswith('"'):
            try:
                values[key] = json.loads(raw if raw.endswith('"') and len(raw) > 1 else raw + '"')
            except ValueError:
                values[key] = raw.strip('"')
        elif raw.startswith("'"):
            values[key] = raw[1 : -1 if raw.endswith("'") and len(raw) > 1 else None].replace("''", "'")
        elif raw:
            values[key] = " ".join([re.sub(r"\s+#.*$", "", raw)] + [b.strip() for b in block if b.strip()])
    return values


# Zips


def _directory(f: IO[bytes], size: int) -> None:
    """Rule 1 on the central directory: its declared size and entry count, then a walk counting them."""
    tail_size = min(size, _EOCD.size + 0xFFFF)
    f.seek(size - tail_size)
    tail = f.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + _EOCD.size > len(tail):
        raise invalid("The skill bundle is not a valid zip file.")
    _, _, _, _, entries, cd_size, _, _ = _EOCD.unpack_from(tail, at)
    end = size - tail_size + at
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF:  # zip64: the counts are in its own record
        locator = tail[at - _ZIP64_LOCATOR.size : at] if at >= _ZIP64_LOCATOR.size else b""
        if len(locator) != _ZIP64_LOCATOR.size or not locator.startswith(b"PK\x06\x07"):
            raise invalid("The skill bundle is not a valid zip file.")
        end = _ZIP64_LOCATOR.unpack(locator)[2]
        f.seek(end)
        record = f.read(_ZIP64_EOCD.size)
        if len(record) != _ZIP64_EOCD.size or not record.startswith(b"PK\x06\x06"):
            raise invalid("The skill bundle is not a valid zip file.")
        entries, cd_size = _ZIP64_EOCD.unpack(record)[6:8]
    if entries > MAX_ENTRIES or cd_size > MAX_DIRECTORY_BYTES:
        raise invalid(f"The skill bundle has more than {MAX_FILES} files.")
    if cd_size > end:
        raise invalid("The skill bundle is not a valid zip file.")
    f.seek(end - cd_size)
    directory = f.read(cd_size)
    pos = count = 0
    while pos + 46 <= len(directory) and directory[pos : pos + 4] == b"PK\x01\x02":
        name, extra, comment = struct.unpack_from("<3H", directory, pos + 28)
        pos += 46 + name + extra + comment
        count += 1
        if count > MAX_ENTRIES:
            raise invalid(f"The skill bundle has more than {MAX_FILES} files.")
    f.seek(0)


def read_zip(f: IO[bytes], size: int) -> Manifest:
    """Check a zip bundle (rules 1-4), open and positioned anywhere; its manifest."""
    if size > MAX_BUNDLE_BYTES:
        raise invalid(f"The skill bundle is larger than {MAX_BUNDLE_BYTES // MiB} MB.")
    _directory(f, size)
    try:
        with zipfile.ZipFile(f) as archive:
            return _check_members(archive)
    except ApiError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError, EOFError, OSError):
        raise invalid("The skill bundle is not a valid zip file.") from None
    except (struct.error, RuntimeError):  # a header cut short; an encrypted member zipfile caught first
        raise invalid("The skill bundle is not a valid zip file.") from None


def _check_members(archive: zipfile.ZipFile) -> Manifest:
    infos = archive.infolist()
    seen: set[str] = set()
    files = unpacked = 0
    for info in infos:
        path = check_path(info.filename)
        if path in seen:
            raise invalid(f"The skill bundle holds {path!r} twice.")
        seen.add(path)
        if info.flag_bits & 0x1:
            raise invalid("The skill bundle holds encrypted files.")
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise invalid(f"The skill bundle holds a symbolic link ({path!r}).")
        if info.is_dir():
            continue
        files += 1
        unpacked += info.file_size
        if info.file_size > MAX_FILE_BYTES:
            raise invalid(f"{path!r} is larger than {MAX_FILE_BYTES // MiB} MB uncompressed.")
    if files > MAX_FILES:
        raise invalid(f"The skill bundle has more than {MAX_FILES} files.")
    if unpacked > MAX_UNPACKED_BYTES:
        raise invalid(f"The skill bundle holds more than {MAX_UNPACKED_BYTES // MiB} MB uncompressed.")
    where = manifest_path([info.filename for info in infos if not info.is_dir()])
    head = b""
    for info in infos:  # read through: a bad CRC is a BadZipFile at the member's end
        if info.is_dir():
            continue
        with archive.open(info) as member:
            if info.filename == where:
                head = member.read(MAX_FRONT_MATTER_BYTES)
            while member.read(1 << 20):
                pass
    return front_matter(head)


# Folder uploads


class Part(NamedTuple):
    """An uploaded file of a folder: its path in the bundle, the file holding its bytes, their count."""

    path: str
    file: IO[bytes]
    size: int


def zip_folder(parts: Sequence[Part], out: IO[bytes]) -> Manifest:
    """Check a folder upload's files (rules 2 and 4 and the file bounds) and zip them into ``out``."""
    if len(parts) > MAX_FILES:
        raise invalid(f"The skill bundle has more than {MAX_FILES} files.")
    paths = [check_path(part.path) for part in parts]
    for part in parts:
        if part.size > MAX_FILE_BYTES:
            raise invalid(f"{part.path!r} is larger than {MAX_FILE_BYTES // MiB} MB.")
    if len(set(paths)) != len(paths):
        raise invalid("The skill bundle holds one path twice.")
    where = manifest_path(paths)
    head = b""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in parts:
            part.file.flush()
            part.file.seek(0)
            if part.path == where:
                head = part.file.read(MAX_FRONT_MATTER_BYTES)
                part.file.seek(0)
            with archive.open(part.path, "w", force_zip64=False) as member:
                shutil.copyfileobj(part.file, member, 1 << 20)
    return front_matter(head)

"""Blob stores: where snapshots, checkpoints and provisioning outcomes are written.

A destination is a local folder or `s3://bucket/prefix`; keys are relative to it. Writers stream: nothing
becomes visible under its key until the writer closes cleanly, and an aborted writer leaves nothing.
Both stores mean the same by every method: `delete` removes one key, `delete_prefix` every key under a
prefix, and a key that is not there is not an error. `check_writable` is the pre-flight of a command's DEST:
it writes and removes a small object under the prefix the command will write, and raises ConfigurationError
(with the fix) when that fails, before any other work is done.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol

from access_sync.errors import ConfigurationError


def write_check_key(prefix: str) -> str:
    """The probe `check_writable` writes and removes; its `_` name keeps it out of every snapshot's files."""
    return f"{prefix}_write-check-{secrets.token_hex(4)}"


class BlobWriter(Protocol):
    def write(self, data: bytes) -> int: ...


class BlobStore(Protocol):
    """Where a DEST points. `describe(key)` gives the full location a person can open."""

    def describe(self, key: str = "") -> str: ...

    def open_writer(
        self, key: str, content_type: str = "application/octet-stream"
    ) -> AbstractContextManager[BlobWriter]: ...

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/json") -> None: ...

    def put_if_absent(self, key: str, data: bytes, content_type: str = "application/json") -> bool:
        """Writes `key` only if nothing is there yet, in one step; False when something was."""
        ...

    def get_bytes(self, key: str) -> bytes | None: ...

    def open_reader(self, key: str) -> AbstractContextManager[BinaryIO]: ...

    def copy(self, source: str, dest: str) -> None: ...

    def delete(self, key: str) -> None: ...

    def delete_prefix(self, prefix: str) -> None: ...

    def list_keys(self, prefix: str) -> Iterator[str]: ...

    def check_writable(self, prefix: str = "") -> None: ...


class LocalBlobStore:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def describe(self, key: str = "") -> str:
        return str(self.root / key) if key else str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / key

    def check_writable(self, prefix: str = "") -> None:
        if self.root.exists() and not self.root.is_dir():
            raise ConfigurationError(
                f"The destination {self.root} is a file; give --out a folder (created if missing) or s3://bucket/prefix."
            )
        probe = self._path(write_check_key(prefix))
        try:
            probe.parent.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except (FileExistsError, NotADirectoryError):
            raise ConfigurationError(
                f"The destination {self.root} cannot be a folder: part of its path is a file; "
                "give --out another folder."
            ) from None
        except OSError as exc:
            why = "read-only" if exc.errno == errno.EROFS else (exc.strerror or type(exc).__name__).lower()
            raise ConfigurationError(
                f"The destination {self.root} cannot be written ({why}); give --out a folder you may write to."
            ) from None

    @contextmanager
    def open_writer(self, key: str, content_type: str = "application/octet-stream") -> Iterator[BlobWriter]:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.partial")
        try:
            with tmp.open("wb") as handle:
                yield handle
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/json") -> None:
        with self.open_writer(key, content_type) as writer:
            writer.write(data)

    def put_if_absent(self, key: str, data: bytes, content_type: str = "application/json") -> bool:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("xb") as handle:
                handle.write(data)
        except FileExistsError:
            return False
        return True

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    @contextmanager
    def open_reader(self, key: str) -> Iterator[BinaryIO]:
        with self._path(key).open("rb") as handle:
            yield handle

    def copy(self, source: str, dest: str) -> None:
        target = self._path(dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.partial")
        tmp.unlink(missing_ok=True)
        try:
            os.link(self._path(source), tmp)  # a second name for the same bytes: instant, whatever the size
        except OSError:
            shutil.copyfile(self._path(source), tmp)
        os.replace(tmp, target)

    def delete(self, key: str) -> None:
        path = self._path(key)
        if not path.is_dir():
            path.unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        for key in list(self.list_keys(prefix)):
            self.delete(key)
        base = self._path(prefix)
        if base.is_dir():
            shutil.rmtree(base, ignore_errors=True)

    def list_keys(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix)
        folder = base if base.is_dir() else base.parent
        if not folder.exists():
            return
        for path in sorted(folder.rglob("*")):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and key.startswith(prefix) and not path.name.startswith("."):
                yield key

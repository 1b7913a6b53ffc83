"""Writing bodies to the output folder: streamed to a temporary file beside the target
and renamed into place only once complete; a failed fetch leaves nothing behind."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets

from fetchall._bodies.naming import Fold, folding, relative_parts
from fetchall._model import BodyWriteError


class Saver:
    """Places bodies under one folder, each URL at the path ``naming.relative_parts``
    gives it: a function of the URL and of how the folder's file system compares names
    (probed once), never of what this or an earlier run wrote, so a URL's file is the
    same whatever finished first, and ``existing`` finds what an earlier run saved.

    Making one creates the folder; OSError when it cannot be (NotADirectoryError, "not a
    directory", when a file has its name)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", folder)
        os.makedirs(folder, exist_ok=True)
        self._real_folder = os.path.realpath(folder)
        self._fold = _probe_fold(folder)
        self._temporaries: set[str] = set()
        """The temporary files of bodies being written, by path."""

    def path(self, url: str) -> str:
        """Where ``url``'s body is saved: ``folder/<host>[_<port>]/<path>``."""
        return os.path.join(self.folder, *relative_parts(url, self._fold))

    def track(self, temporary: str) -> None:
        """A body's temporary file was created at ``temporary``."""
        self._temporaries.add(temporary)

    def untrack(self, temporary: str) -> None:
        """``temporary`` was renamed into place or removed."""
        self._temporaries.discard(temporary)

    def remove_temporaries(self) -> None:
        """Remove every temporary file still there (a run exiting at once, without its
        bodies' own clean-up); errors are ignored."""
        for temporary in list(self._temporaries):
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        self._temporaries.clear()

    def existing(self, url: str) -> str | None:
        """The path of this URL's own file if it is already there (for --skip-existing)."""
        path = self.path(url)
        return path if os.path.isfile(path) else None

    def folder_for(self, url: str) -> tuple[str, str]:
        """Make the folders for ``url``; its folder path and its file name. OSError when
        a file has a folder's name (left by something other than this version's runs)."""
        folder, name = os.path.split(self.path(url))
        os.makedirs(folder, exist_ok=True)
        if not self._inside(folder):
            raise BodyWriteError(f"{folder} leads outside {self.folder} (a symbolic link?)")
        return folder, name

    def prune(self, folder: str) -> None:
        """Remove ``folder`` and its parents up to the output folder, while they are empty."""
        while self._inside(folder):
            try:
                os.rmdir(folder)
            except OSError:  # not empty (or gone): stop here
                return
            folder = os.path.dirname(folder)

    def _inside(self, path: str) -> bool:
        """Whether ``path`` really lies below the output folder (symbolic links followed)."""
        return os.path.realpath(path).startswith(self._real_folder + os.sep)


def _probe_fold(folder: str) -> Fold:
    """How ``folder``'s file system compares names: a temporary file (``.fetchall-
    <random>.part``, removed at once) looked up in upper case, and one named with a
    composed ``é`` looked up decomposed. Where the probe cannot be made, names are taken
    to be compared exactly."""
    token = secrets.token_hex(6)
    probes = {
        "case": (f".fetchall-{token}-a.part", f".FETCHALL-{token.upper()}-A.PART"),
        "normalisation": (f".fetchall-{token}-\u00e9.part", f".fetchall-{token}-e\u0301.part"),
    }
    found: dict[str, bool] = {}
    for kind, (made, other) in probes.items():
        path = os.path.join(folder, made)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except (OSError, UnicodeError):
            found[kind] = False
            continue
        try:
            found[kind] = os.path.exists(os.path.join(folder, other))
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)
    return folding(case=found["case"], normalisation=found["normalisation"])


class BodyWriter:
    """One attempt's body: hashed and/or streamed to a temporary file. Call ``finish()``
    when it is complete, and ``discard()`` always afterwards (it does nothing after a
    finish). ``write`` and ``finish`` raise ``BodyWriteError``."""

    def __init__(self, saver: Saver | None, url: str, *, digest: bool) -> None:
        self._saver = saver
        self._url = url
        self._hash = hashlib.sha256() if digest else None
        self._file: int | None = None
        self._folder = self._name = self._temp = ""
        self.path: str | None = None
        """Where the finished body was saved; None before, or when not saving."""
        self.sha256: str | None = None
        """The finished body's hex SHA-256; None before, or when not hashing."""

    def write(self, chunk: bytes) -> None:
        """Take the next chunk of the body."""
        if self._hash is not None:
            self._hash.update(chunk)
        if self._saver is None:
            return
        try:
            if self._file is None:
                self._open()
            assert self._file is not None
            view = memoryview(chunk)
            while view:
                view = view[os.write(self._file, view) :]
        except OSError as exc:
            raise BodyWriteError(_describe(exc)) from exc

    def finish(self, *, content: bool = True) -> None:
        """The body is complete: move it into place, and set ``path`` and ``sha256``
        (which stays None when the response has no content by its nature, ``content``
        False: the hash of nothing would look like the hash of a body)."""
        if self._hash is not None and content:
            self.sha256 = self._hash.hexdigest()
        if self._saver is None:
            return
        try:
            if self._file is None:
                self._open()  # an empty body is still a file
            assert self._file is not None
            os.close(self._file)
            self._file = None
            final = os.path.join(self._folder, self._name)
            os.replace(self._temp, final)
            self._saver.untrack(self._temp)
            self._temp = ""
        except OSError as exc:
            self.discard()
            raise BodyWriteError(_describe(exc)) from exc
        self.path = final

    def discard(self) -> None:
        """The body is not wanted: remove the temporary file, if any."""
        if self._file is not None:
            os.close(self._file)
            self._file = None
        if self._temp and self._saver is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._temp)
            self._saver.untrack(self._temp)
            self._temp = ""
            self._saver.prune(self._folder)

    def _open(self) -> None:
        assert self._saver is not None
        try:
            self._folder, self._name = self._saver.folder_for(self._url)
        except OSError as exc:
            raise BodyWriteError(_describe(exc)) from exc
        self._temp = os.path.join(self._folder, f".fetchall-{secrets.token_hex(6)}.part")
        self._file = os.open(self._temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self._saver.track(self._temp)


def _describe(exc: OSError) -> str:
    where = f": {exc.filename}" if exc.filename else ""
    return f"cannot write the body{where}: {exc.strerror or exc}"

"""Writing bodies to the output folder: streamed to a temporary file beside the target
and renamed into place only once complete; a failed fetch leaves nothing behind.

Folders are walked one level at a time from the output folder's descriptor, never
outside it (``folders``)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import stat
from dataclasses import dataclass

from fetchall._bodies.folders import Folders
from fetchall._bodies.naming import Fold, folding, relative_parts
from fetchall._model import BodyWriteError

_TRIES = 3
"""Times a body's folders are walked again when another run removed one of them meanwhile
(its clean-up after a failure): ENOENT then."""
_TEMPORARY_BYTES = len(".fetchall-000000000000.part")
_DEFAULT_PATH_MAX = 4096
"""Linux's PATH_MAX (bytes, the final NUL included), where pathconf cannot tell."""


@dataclass(frozen=True, slots=True)
class Temporary:
    """A body's temporary file, open for writing."""

    file: int
    """Its descriptor."""
    parts: tuple[str, ...]
    """Its folder's names below the output folder, symbolic links resolved."""
    name: str
    """The name the body gets once complete."""
    temporary: str
    """The temporary file's name in that folder."""
    shown: str
    """The body's path as records show it: the output folder as given, the URL's names."""


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
        self._path_max = _path_max(self._real_folder)
        self._temporaries: set[Temporary] = set()
        """The temporary files of bodies being written."""
        self._folders = Folders(folder, self._real_folder)
        """Its folders, walked from its descriptor; those this run made are remembered."""

    def path(self, url: str) -> str:
        """Where ``url``'s body is saved: ``folder/<host>[_<port>]/<path>``."""
        return os.path.join(self.folder, *relative_parts(url, self._fold))

    def existing(self, url: str) -> str | None:
        """The path of this URL's own file if it is already there, a regular file inside
        the folder (for --skip-existing)."""
        *folders, name = relative_parts(url, self._fold)
        try:
            fd, _ = self._folders.walk(folders, create=False)
        except (OSError, BodyWriteError):
            return None
        try:
            found = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError:
            return None
        finally:
            os.close(fd)
        return self.path(url) if stat.S_ISREG(found.st_mode) else None

    def open_temporary(self, url: str) -> Temporary:
        """Make ``url``'s folders and a temporary file in the last one. BodyWriteError
        when a folder leads outside the output folder (a symbolic link) or the path is
        longer than PATH_MAX; OSError when the file system refuses (a file has a folder's
        name, a name too long, a full disk, permission). Either way the folders made for
        it are removed again."""
        *folders, name = relative_parts(url, self._fold)
        shown = os.path.join(self.folder, *folders, name)
        self._check_length(os.path.join(os.path.abspath(self.folder), *folders), name, shown)
        temporary = f".fetchall-{secrets.token_hex(6)}.part"
        for tries_left in reversed(range(_TRIES)):
            try:
                fd, parts = self._folders.walk(folders, create=True)
                try:
                    self._check_length(os.path.join(self._real_folder, *parts), name, shown)
                    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
                    file = os.open(temporary, flags, 0o644, dir_fd=fd)
                except BaseException:
                    self.prune(parts)
                    raise
                finally:
                    os.close(fd)
            except FileNotFoundError:  # another run removed a folder meanwhile: again
                if not tries_left:
                    raise
                continue
            made = Temporary(file, parts, name, temporary, shown)
            self._temporaries.add(made)
            return made
        raise AssertionError("unreachable")  # pragma: no cover

    def place(self, made: Temporary) -> None:
        """Rename the closed temporary file to the body's name. OSError when it cannot be."""
        fd, _ = self._folders.walk(made.parts, create=False, follow=False)
        try:
            os.replace(made.temporary, made.name, src_dir_fd=fd, dst_dir_fd=fd)
        finally:
            os.close(fd)
        self._temporaries.discard(made)

    def remove(self, made: Temporary) -> None:
        """Remove the closed temporary file and the folders this run made for it that are
        left empty; errors are ignored."""
        self._temporaries.discard(made)
        with contextlib.suppress(OSError, BodyWriteError):
            fd, _ = self._folders.walk(made.parts, create=False, follow=False)
            try:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(made.temporary, dir_fd=fd)
            finally:
                os.close(fd)
        self.prune(made.parts)

    def remove_temporaries(self) -> None:
        """Remove every temporary file still there (a run exiting at once, without its
        bodies' own clean-up), and the folders left empty; errors are ignored."""
        for made in list(self._temporaries):
            self.remove(made)

    def prune(self, parts: tuple[str, ...]) -> None:
        """Remove the folder ``parts`` names and its parents while this run created them
        and they are empty (``Folders.prune``)."""
        self._folders.prune(parts)

    def _check_length(self, folder: str, name: str, shown: str) -> None:
        """BodyWriteError when the body's file or its temporary file in ``folder`` would
        have a path of PATH_MAX bytes or more: no program could open it by its path."""
        longest = max(len(os.fsencode(name)), _TEMPORARY_BYTES)
        if len(os.fsencode(folder)) + 1 + longest >= self._path_max:
            reason = os.strerror(errno.ENAMETOOLONG)
            raise BodyWriteError(
                f"cannot write the body: {shown}: {reason} (over {self._path_max} bytes)"
            )


def _path_max(folder: str) -> int:
    """The longest path ``folder``'s file system takes (bytes, the NUL included)."""
    try:
        return os.pathconf(folder, "PC_PATH_MAX")
    except (OSError, ValueError):
        return _DEFAULT_PATH_MAX


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
        self._temporary: Temporary | None = None
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
            assert self._temporary is not None
            os.close(self._file)
            self._file = None
            self._saver.place(self._temporary)
        except OSError as exc:
            self.discard()
            raise BodyWriteError(_describe(exc)) from exc
        self.path = self._temporary.shown
        self._temporary = None

    def discard(self) -> None:
        """The body is not wanted: remove the temporary file, if any, and the folders made
        for it that are left empty."""
        if self._file is not None:
            os.close(self._file)
            self._file = None
        if self._temporary is not None and self._saver is not None:
            self._saver.remove(self._temporary)
            self._temporary = None

    def _open(self) -> None:
        assert self._saver is not None
        self._temporary = self._saver.open_temporary(self._url)
        self._file = self._temporary.file


def _describe(exc: OSError) -> str:
    where = f": {exc.filename}" if exc.filename else ""
    return f"cannot write the body{where}: {exc.strerror or exc}"

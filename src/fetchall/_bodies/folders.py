"""The folders below the output folder, walked one level at a time from its descriptor
(``openat`` with ``O_NOFOLLOW``, ``mkdirat``), so nothing is ever created outside it, even
when a folder is swapped for a symbolic link meanwhile; a symbolic link inside the folder
is followed only when it leads to a place inside it. The folders a run made are
remembered, and removed again when a failure leaves them empty."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Sequence

from fetchall._model import BodyWriteError

_TOP = os.O_RDONLY | os.O_DIRECTORY
_LEVEL = _TOP | os.O_NOFOLLOW
"""A folder below the output folder is opened so: a symbolic link or a file is refused."""
_MAX_LINKS = 40
"""Symbolic links followed for one body at most (Linux's MAXSYMLINKS); ELOOP beyond."""


class Folders:
    """The folders below one output folder: ``walk`` opens (or makes) them from its
    descriptor, ``prune`` removes the ones this run made once they are left empty."""

    def __init__(self, folder: str, real_folder: str) -> None:
        self.folder = folder
        """The output folder as given (records and errors show paths below it)."""
        self._real_folder = real_folder
        self._created: set[tuple[str, ...]] = set()
        """The folders this run created (their real names below the folder), until removed
        again: only these are removed when a failure leaves them empty."""

    def prune(self, parts: tuple[str, ...]) -> None:
        """Remove the folder ``parts`` names and its parents, deepest first, while this run
        created them and they are empty: a folder holding another body's file, finished
        or being written, stays (rmdir refuses it), and so does one made by someone else.
        Each is removed from its parent's descriptor, found through ``..`` and checked to
        still hold it, never through a path. Errors stop it."""
        depth = len(parts)
        if not depth or parts not in self._created:
            return
        try:
            fd, _ = self.walk(parts[:depth], create=False, follow=False)
        except (OSError, BodyWriteError):
            return
        try:
            while depth and parts[:depth] in self._created:
                parent = os.open(os.pardir, _LEVEL, dir_fd=fd)
                own, entry = (
                    os.fstat(fd),
                    os.stat(parts[depth - 1], dir_fd=parent, follow_symlinks=False),
                )
                os.close(fd)
                fd = parent
                if (own.st_dev, own.st_ino) != (entry.st_dev, entry.st_ino):
                    return  # moved meanwhile: not the folder this run made there
                os.rmdir(parts[depth - 1], dir_fd=parent)  # OSError when not empty
                self._created.discard(parts[:depth])
                depth -= 1
        except OSError:
            return
        finally:
            os.close(fd)

    def walk(
        self, wanted: Sequence[str], *, create: bool, follow: bool = True
    ) -> tuple[int, tuple[str, ...]]:
        """A descriptor of the folder ``wanted`` names below the output folder, and its real
        names there, one level at a time: missing folders are made when ``create`` (and
        remembered as this run's); a symbolic link is followed, when ``follow``, only if
        it leads inside the output folder. BodyWriteError for a link leading outside (or
        any link without ``follow``); OSError otherwise (its filename the level as shown),
        after removing the folders this run made that are left empty."""
        fd = os.open(self._real_folder, _TOP)
        real: list[str] = []
        pending = list(wanted)
        links = 0
        try:
            while pending:
                name = pending.pop(0)
                try:
                    child = self._level(fd, name, real, create=create)
                except _Link:
                    links += 1
                    if not follow:
                        raise self._outside(real, name) from None
                    if links > _MAX_LINKS:
                        shown = os.path.join(self.folder, *real, name)
                        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), shown) from None
                    target = self._link_target(fd, real, name)
                    os.close(fd)
                    fd = os.open(self._real_folder, _TOP)
                    real = []
                    pending = [*target, *pending]
                    continue
                os.close(fd)
                fd = child
                real.append(name)
        except BaseException:
            os.close(fd)
            if create:
                self.prune(tuple(real))
            raise
        return fd, tuple(real)

    def _level(self, fd: int, name: str, real: list[str], *, create: bool) -> int:
        """Open (or make, when ``create``) the folder ``name`` in the folder ``fd``;
        _Link when it is a symbolic link."""
        try:
            try:
                return os.open(name, _LEVEL, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
            try:
                os.mkdir(name, 0o777, dir_fd=fd)
            except FileExistsError:  # made meanwhile by someone else: not this run's
                pass
            else:
                self._created.add((*real, name))
            return os.open(name, _LEVEL, dir_fd=fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                if stat.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode):
                    raise _Link from None
            shown = os.path.join(self.folder, *real, name)
            raise OSError(exc.errno, exc.strerror, shown) from exc

    def _link_target(self, fd: int, real: list[str], name: str) -> list[str]:
        """The names below the output folder that the symbolic link ``name`` leads to;
        BodyWriteError when it leads outside."""
        try:
            link = os.readlink(name, dir_fd=fd)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, os.path.join(self.folder, *real, name)) from exc
        target = os.path.realpath(os.path.join(self._real_folder, *real, link))
        relative = os.path.relpath(target, self._real_folder)
        if relative == os.curdir:
            return []
        if relative == os.pardir or relative.startswith(os.pardir + os.sep):
            raise self._outside(real, name)
        return relative.split(os.sep)

    def _outside(self, real: Sequence[str], name: str) -> BodyWriteError:
        shown = os.path.join(self.folder, *real, name)
        return BodyWriteError(
            f"cannot write the body: {shown} leads outside {self.folder} (a symbolic link)"
        )


class _Link(Exception):
    """A folder's name is a symbolic link."""

"""A tiny Result type: a fetch ends as ``Ok(value)`` or ``Err(error)``, never by raising."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T", covariant=True)
E = TypeVar("E", covariant=True)


@dataclass(frozen=True, slots=True)
class Ok(Generic[T]):
    """A success carrying its value."""

    value: T


@dataclass(frozen=True, slots=True)
class Err(Generic[E]):
    """A failure carrying its error."""

    error: E


Result = Ok[T] | Err[E]

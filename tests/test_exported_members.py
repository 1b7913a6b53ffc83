"""The public API stays complete and sorted."""

import inspect

import pytest

import fetchall


@pytest.mark.parametrize("name", fetchall.__all__)
def test_each_public_name_resolves(name: str) -> None:
    """Every name in __all__ loads, and a class or function is the one of that name."""
    value = getattr(fetchall, name)
    if inspect.isclass(value) or inspect.isfunction(value):
        assert value.__qualname__ == name


def test_all_is_sorted_and_complete() -> None:
    """__all__ is sorted and names every lazily loaded member."""
    assert fetchall.__all__ == sorted(fetchall.__all__)
    assert set(fetchall.__all__) == set(fetchall._HOMES) | {"__version__"}


def test_unknown_names_are_attribute_errors() -> None:
    """A name that is not public is an AttributeError, as for any module."""
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = fetchall.no_such_thing

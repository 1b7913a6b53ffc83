"""The public API stays complete and sorted."""

import types

import fetchall


def test_all_names_every_public_member() -> None:
    """Every public name of the package is in __all__, and __all__ is sorted."""
    public = {
        name
        for name, value in vars(fetchall).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    } | {"__version__"}
    assert set(fetchall.__all__) == public
    assert fetchall.__all__ == sorted(fetchall.__all__)

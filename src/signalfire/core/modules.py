"""Importing the modules a registry lists (routes, tasks, models, CLI groups, demo seeds).

Each list names modules that must exist: a renamed or missing one is an error at start, naming the list
and the module, never a feature that silently vanishes. There is no "optional module" here on purpose;
a deployment that leaves a domain out removes it from the list.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from types import ModuleType


class ModuleListError(ImportError):
    """A registry names a module that cannot be found."""


def import_listed(names: Iterable[str], *, registry: str) -> list[ModuleType]:
    """Import every module in `names` (in order); a missing one raises ModuleListError naming `registry`."""
    modules: list[ModuleType] = []
    for name in names:
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                raise ModuleListError(f"{registry} lists {name!r}, which cannot be imported: {exc}") from exc
            raise
    return modules

"""Argo's `{{...}}` variable substitution, one pass, with an error for every unresolved name."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

# Argo trims blanks inside the braces; `{{=expr}}` is an expression tag.
TAG = re.compile(r"\{\{\s*(.*?)\s*\}\}")


class VariableError(ValueError):
    """A `{{...}}` reference cannot be resolved; the message names it and where it is."""


def references(value: Any) -> list[str]:
    """Every variable name referenced anywhere inside value (strings, lists, dicts)."""
    if isinstance(value, str):
        return TAG.findall(value)
    if isinstance(value, Mapping):
        return [name for item in value.values() for name in references(item)]
    if isinstance(value, list):
        return [name for item in value for name in references(item)]
    return []


def substitute(
    value: Any,
    scope: Mapping[str, str],
    *,
    where: str,
    deferred: Callable[[str], bool] = lambda name: False,
) -> Any:
    """Replace every {{name}} in the strings inside value with scope[name].

    Names for which deferred(name) is true are left for a later pass (e.g. {{item}} and
    {{tasks.*}} inside a DAG template while its inputs are substituted). Inserted values are not
    scanned again, as in Argo. Any other unknown name raises VariableError naming it and `where`.
    """
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in scope:
                return scope[name]
            if deferred(name):
                return match.group(0)
            if name.startswith("="):
                raise VariableError(
                    f"{where}: expression tag {match.group(0)!r} is not supported by run-local"
                )
            known = ", ".join(sorted(scope)) or "none"
            raise VariableError(
                f"{where}: unresolved variable {match.group(0)!r} (known here: {known})"
            )

        return TAG.sub(replace, value)
    if isinstance(value, Mapping):
        return {
            key: substitute(item, scope, where=f"{where}.{key}", deferred=deferred)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            substitute(item, scope, where=f"{where}[{index}]", deferred=deferred)
            for index, item in enumerate(value)
        ]
    return value

"""Argo's `{{...}}` variable substitution, with an error for every unresolved name.

`substitute` is one pass; `substitute_params` applies it to a template the way Argo's
SubstituteParams (workflow/common/util.go) does, in two passes, so a value inserted by the first
pass is scanned again by the second, as on a cluster.
"""

from __future__ import annotations

import copy
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


def substitute_params(
    template: Mapping[str, Any],
    global_scope: Mapping[str, str],
    inputs: Mapping[str, str],
    *,
    where: str,
) -> dict[str, Any]:
    """A template with its inputs and variables substituted as Argo's SubstituteParams does.

    The input parameters get their values (from the task's arguments or their defaults), then:
    pass 1 replaces the global variables everywhere in the template, input values included,
    leaving other names; pass 2 replaces globals and `inputs.parameters.*` (their values after
    pass 1) over the result of pass 1. So a global's value that itself holds `{{...}}` is
    substituted again in pass 2 — which is why run-local and the run commands refuse parameter
    values containing `{{`. Pass 2 raises VariableError for anything left unresolved.
    """
    filled = copy.deepcopy(dict(template))
    declared = (filled.get("inputs") or {}).get("parameters") or []
    for parameter in declared:
        parameter["value"] = inputs[parameter["name"]]
    first = substitute(filled, global_scope, where=where, deferred=lambda name: True)
    scope = dict(global_scope)
    for parameter in (first.get("inputs") or {}).get("parameters") or []:
        scope[f"inputs.parameters.{parameter['name']}"] = str(parameter["value"])
    return substitute(first, scope, where=where)

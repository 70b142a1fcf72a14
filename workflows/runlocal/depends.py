"""Argo's `depends` expressions: a small recursive-descent parser and evaluator (no eval()).

Grammar (Argo "Enhanced Depends Logic"):
    expr    := or
    or      := and ("||" and)*
    and     := unary ("&&" unary)*
    unary   := "!" unary | "(" expr ")" | operand
    operand := TASK ["." RESULT]
A bare TASK means (TASK.Succeeded || TASK.Skipped || TASK.Daemoned), Argo's rule for the default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# The results a task can be tested for, as Argo names them.
RESULTS = (
    "Succeeded",
    "Failed",
    "Errored",
    "Skipped",
    "Omitted",
    "Daemoned",
    "AnySucceeded",
    "AllFailed",
)
DEFAULT_RESULTS = ("Succeeded", "Skipped", "Daemoned")

# Task names are DNS-1123-like (letters, digits, '-'), so '.' and operators delimit them.
_TOKEN = re.compile(r"\s*(?:(\|\||&&|!|\(|\))|([A-Za-z0-9][A-Za-z0-9-]*)(?:\.([A-Za-z]+))?)")


class DependsError(ValueError):
    """A `depends` expression does not parse; the message names the expression and the problem."""


@dataclass(frozen=True)
class Operand:
    task: str
    result: str | None  # None: the bare-name default

    def evaluate(self, results: Mapping[str, Mapping[str, bool]]) -> bool:
        flags = results[self.task]
        if self.result is None:
            return any(flags[name] for name in DEFAULT_RESULTS)
        return flags[self.result]


@dataclass(frozen=True)
class Not:
    operand: Expression

    def evaluate(self, results: Mapping[str, Mapping[str, bool]]) -> bool:
        return not self.operand.evaluate(results)


@dataclass(frozen=True)
class BoolOp:
    op: str  # "&&" or "||"
    operands: tuple[Expression, ...]

    def evaluate(self, results: Mapping[str, Mapping[str, bool]]) -> bool:
        values = (operand.evaluate(results) for operand in self.operands)
        return all(values) if self.op == "&&" else any(values)


Expression = Operand | Not | BoolOp


def tasks_of(expression: Expression) -> set[str]:
    """The task names an expression refers to: the task's dependencies."""
    if isinstance(expression, Operand):
        return {expression.task}
    if isinstance(expression, Not):
        return tasks_of(expression.operand)
    return set().union(*(tasks_of(operand) for operand in expression.operands))


def parse(text: str) -> Expression:
    """Parse a `depends` string, raising DependsError naming the offending position."""
    tokens = _tokenize(text)
    parser = _Parser(text, tokens)
    expression = parser.parse_or()
    if parser.position < len(tokens):
        raise DependsError(f"depends {text!r}: unexpected {tokens[parser.position][1]!r}")
    return expression


def _tokenize(text: str) -> list[tuple[str, str | Operand]]:
    tokens: list[tuple[str, str | Operand]] = []
    position = 0
    stripped_end = len(text.rstrip())
    while position < stripped_end:
        match = _TOKEN.match(text, position)
        if not match:
            raise DependsError(
                f"depends {text!r}: unexpected character {text[position:].lstrip()[:1]!r} "
                f"at offset {position}"
            )
        operator, task, result = match.groups()
        if operator:
            tokens.append(("op", operator))
        else:
            if result is not None and result not in RESULTS:
                raise DependsError(
                    f"depends {text!r}: unknown task result {task}.{result}; "
                    f"allowed: {', '.join(RESULTS)}"
                )
            tokens.append(("operand", Operand(task, result)))
        position = match.end()
    if not tokens:
        raise DependsError("depends is empty")
    return tokens


class _Parser:
    def __init__(self, text: str, tokens: list[tuple[str, str | Operand]]) -> None:
        self.text = text
        self.tokens = tokens
        self.position = 0

    def _peek(self) -> tuple[str, str | Operand] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _binary(self, op: str, parse_operand) -> Expression:
        operands = [parse_operand()]
        while self._peek() == ("op", op):
            self.position += 1
            operands.append(parse_operand())
        return operands[0] if len(operands) == 1 else BoolOp(op, tuple(operands))

    def parse_or(self) -> Expression:
        return self._binary("||", self.parse_and)

    def parse_and(self) -> Expression:
        return self._binary("&&", self.parse_unary)

    def parse_unary(self) -> Expression:
        token = self._peek()
        if token is None:
            raise DependsError(f"depends {self.text!r}: ends where a task name was expected")
        self.position += 1
        kind, value = token
        if kind == "operand":
            assert isinstance(value, Operand)
            return value
        if value == "!":
            return Not(self.parse_unary())
        if value == "(":
            inner = self.parse_or()
            if self._peek() != ("op", ")"):
                raise DependsError(f"depends {self.text!r}: missing ')'")
            self.position += 1
            return inner
        raise DependsError(f"depends {self.text!r}: unexpected {value!r}")

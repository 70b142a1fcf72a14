"""The part of expr-lang (Argo's expression language) that `retryStrategy.expression` needs.

Argo evaluates a retry expression with expr-lang over a scope of strings: `retries`, and
`lastRetry.exitCode` ("-1" when the pod reported none), `lastRetry.status` (the attempt's
phase), `lastRetry.duration` (seconds) and `lastRetry.message`, plus functions such as `asInt`.
This module parses and evaluates the subset below with expr-lang's meaning, and refuses
anything else by name, so run-local never guesses:

    expr     := or
    or       := and (("||" | "or") and)*
    and      := not (("&&" | "and") not)*
    not      := ("!" | "not") not | compare
    compare  := operand (("==" | "!=" | "<" | "<=" | ">" | ">=") operand | "in" list)?
    operand  := literal | name ("." name)* | function "(" expr ")" | "(" expr ")"
    literal  := integer | float | "string" | 'string' | true | false | nil
    function := asInt | asFloat | int | float | string
    list     := "[" (expr ("," expr)*)? "]"

As in expr-lang, `==` between values of different kinds is false (`"2" == 2` is false, so
compare `lastRetry.exitCode != "2"` or `asInt(lastRetry.exitCode) != 2`), and ordering them
is an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# Argo's names in a retry expression's scope (buildRetryStrategyLocalScope).
RETRY_VARIABLES = (
    "retries",
    "lastRetry.exitCode",
    "lastRetry.status",
    "lastRetry.duration",
    "lastRetry.message",
)

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+\.\d+|\d+)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<operator>==|!=|<=|>=|&&|\|\||[<>!().,\[\]])
      | (?P<other>\S+?)
    )""",
    re.VERBOSE,
)
_WORD_OPERATORS = {"and": "&&", "or": "||", "not": "!"}
_CONSTANTS = {"true": True, "false": False, "nil": None}
_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


class ExpressionError(ValueError):
    """An expression run-local cannot evaluate as Argo would; the message names the part."""


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ExpressionError(f"asInt: cannot convert {value!r}")
    if isinstance(value, (int, float)):
        return int(value)
    try:
        return int(str(value).strip(), 10)
    except ValueError:
        raise ExpressionError(f"asInt: cannot convert {value!r} to an integer") from None


def _as_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ExpressionError(f"asFloat: cannot convert {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ExpressionError(f"asFloat: cannot convert {value!r} to a number") from None


def _as_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "<nil>" if value is None else str(value)


FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "asInt": _as_int,
    "int": _as_int,
    "asFloat": _as_float,
    "float": _as_float,
    "string": _as_string,
}


@dataclass(frozen=True)
class Expression:
    """A parsed expression: evaluate it against a scope of dotted names."""

    text: str
    _evaluate: Callable[[Mapping[str, Any]], Any]
    names: frozenset[str]

    def evaluate(self, scope: Mapping[str, Any]) -> bool:
        value = self._evaluate(scope)
        if not isinstance(value, bool):
            raise ExpressionError(f"{self.text!r} gives {value!r}, not true or false")
        return value


def parse(text: str) -> Expression:
    """Parse an expression; ExpressionError names the first part outside the subset."""
    parser = _Parser(text)
    evaluate = parser.expression()
    if parser.peek() is not None:
        raise ExpressionError(f"{text!r}: unexpected {parser.peek()!r}")
    return Expression(text, evaluate, frozenset(parser.names))


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens = []
    position = 0
    while position < len(text):
        found = _TOKEN.match(text, position)
        if found is None or found.end() == position:  # only blanks remain
            break
        position = found.end()
        kind = found.lastgroup
        value = found.group(kind)
        if kind == "other":
            raise ExpressionError(
                f"{text!r}: {value!r} is not supported by run-local (it evaluates comparisons, "
                "&&, ||, !, `in` lists, literals, variables and asInt/asFloat/int/float/string)"
            )
        if kind == "name" and value in _WORD_OPERATORS:
            kind, value = "operator", _WORD_OPERATORS[value]
        tokens.append((kind, value))
    return tokens


Evaluator = Callable[[Mapping[str, Any]], Any]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.position = 0
        self.names: set[str] = set()

    def peek(self) -> str | None:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.position >= len(self.tokens):
            raise ExpressionError(
                f"{self.text!r} ends early" + (f": {expected!r} expected" if expected else "")
            )
        token = self.tokens[self.position]
        if expected is not None and token[1] != expected:
            raise ExpressionError(f"{self.text!r}: {expected!r} expected, not {token[1]!r}")
        self.position += 1
        return token

    def unsupported(self, what: str) -> ExpressionError:
        return ExpressionError(f"{self.text!r}: {what!r} is not supported by run-local")

    def expression(self) -> Evaluator:
        left = self.conjunction()
        while self.peek() == "||":
            self.take()
            left = _either(left, self.conjunction())
        return left

    def conjunction(self) -> Evaluator:
        left = self.negation()
        while self.peek() == "&&":
            self.take()
            left = _both(left, self.negation())
        return left

    def negation(self) -> Evaluator:
        if self.peek() == "!":
            self.take()
            inner = self.negation()
            return lambda scope: not _boolean(inner(scope), "!")
        return self.comparison()

    def comparison(self) -> Evaluator:
        left = self.operand()
        operator = self.peek()
        if operator in _COMPARISONS:
            self.take()
            right = self.operand()
            return lambda scope: _compare(operator, left(scope), right(scope))
        if operator == "in":
            self.take()
            items = self.list()
            return lambda scope: any(_compare("==", left(scope), item(scope)) for item in items)
        if operator is not None and operator not in ("&&", "||", ")", ",", "]"):
            raise self.unsupported(operator)
        return left

    def list(self) -> list[Evaluator]:
        self.take("[")
        items = []
        while self.peek() != "]":
            items.append(self.expression())
            if self.peek() != "]":
                self.take(",")
        self.take("]")
        return items

    def operand(self) -> Evaluator:
        kind, value = self.take()
        if kind == "number":
            number = float(value) if "." in value else int(value)
            return lambda scope: number
        if kind == "string":
            text = _unquote(value)
            return lambda scope: text
        if value == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if value == "[":
            raise self.unsupported("[ (a list outside `in`)")
        if kind != "name":
            raise self.unsupported(value)
        if value in _CONSTANTS:
            constant = _CONSTANTS[value]
            return lambda scope: constant
        if self.peek() == "(":
            function = FUNCTIONS.get(value)
            if function is None:
                raise self.unsupported(f"{value}()")
            self.take("(")
            argument = self.expression()
            self.take(")")
            return lambda scope: function(argument(scope))
        path = [value]
        while self.peek() == ".":
            self.take()
            kind, part = self.take()
            if kind != "name":
                raise ExpressionError(f"{self.text!r}: a name expected after '.', not {part!r}")
            path.append(part)
        name = ".".join(path)
        self.names.add(name)

        def variable(scope: Mapping[str, Any]) -> Any:
            if name not in scope:
                known = ", ".join(sorted(scope)) or "none"
                raise ExpressionError(f"unknown name {name!r} (known: {known})")
            return scope[name]

        return variable


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", lambda found: {"n": "\n", "t": "\t"}.get(found[1], found[1]), body)


def _boolean(value: Any, operator: str) -> bool:
    if not isinstance(value, bool):
        raise ExpressionError(f"{operator} needs true or false, not {value!r}")
    return value


def _either(left: Evaluator, right: Evaluator) -> Evaluator:
    return lambda scope: _boolean(left(scope), "||") or _boolean(right(scope), "||")


def _both(left: Evaluator, right: Evaluator) -> Evaluator:
    return lambda scope: _boolean(left(scope), "&&") and _boolean(right(scope), "&&")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _compare(operator: str, left: Any, right: Any) -> bool:
    same_kind = (_number(left) and _number(right)) or type(left) is type(right)
    if operator in ("==", "!="):
        equal = same_kind and left == right
        return equal if operator == "==" else not equal
    if not same_kind or not (_number(left) or isinstance(left, str)):
        raise ExpressionError(f"cannot order {left!r} and {right!r} with {operator}")
    return {
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
    }[operator]

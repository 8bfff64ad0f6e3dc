"""The ``multi`` grader's ``calculate_output``: a small arithmetic language, parsed and evaluated
here (never by ``eval``).

What OpenAI's graders guide lists: numbers, the sub-graders' names (each its score), ``+ - * /``,
``^`` (power, right-associative, binding tighter than a leading minus: ``-2^2`` is -4), parentheses,
and the functions ``min``, ``max`` (one or more arguments), ``abs``, ``floor``, ``ceil``, ``exp``,
``sqrt`` and ``log`` (natural). A formula is at most :data:`MAX_CHARS` characters and nests at most
:data:`MAX_DEPTH` levels; parsing gives a tree that :func:`evaluate` walks. A division by zero, a
domain error (``sqrt(-1)``, ``log(0)``) or a result that is not a finite number is a
:class:`FormulaError` at evaluation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

MAX_CHARS = 1000
MAX_DEPTH = 32

FUNCTIONS: dict[str, Callable[..., float]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "floor": lambda x: float(math.floor(x)),
    "ceil": lambda x: float(math.ceil(x)),
    "exp": math.exp,
    "sqrt": math.sqrt,
    "log": math.log,
}
VARIADIC = ("min", "max")

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_]\w*)|(\S))")

#: A parsed formula: a number, a name, or ``(operator, operands...)``.
Node = float | str | tuple


class FormulaError(ValueError):
    """A formula that does not parse, names an unknown grader, or has no finite value."""


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        at = 0
        while at < len(text):
            match = _TOKEN.match(text, at)
            if match is None:  # only trailing whitespace is left
                break
            number, name, symbol = match.groups()
            if number is not None:
                self.tokens.append(("num", number))
            elif name is not None:
                self.tokens.append(("name", name))
            elif symbol in "+-*/^(),":
                self.tokens.append(("op", symbol))
            else:
                raise FormulaError(f"unexpected character '{symbol}' in the formula")
            at = match.end()
        self.at = 0
        self.depth = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, symbol: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (symbol is not None and token != ("op", symbol)):
            wanted = f"'{symbol}'" if symbol else "a value"
            raise FormulaError(
                f"expected {wanted} {'at the end' if token is None else f'before {token[1]!r}'}"
            )
        self.at += 1
        return token

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError(f"the formula nests more than {MAX_DEPTH} levels")

    def expression(self) -> Node:
        self.nested()
        node = self.term()
        while (token := self.peek()) in (("op", "+"), ("op", "-")):
            self.at += 1
            node = (token[1], node, self.term())  # type: ignore[index]
        self.depth -= 1
        return node

    def term(self) -> Node:
        node = self.unary()
        while (token := self.peek()) in (("op", "*"), ("op", "/")):
            self.at += 1
            node = (token[1], node, self.unary())  # type: ignore[index]
        return node

    def unary(self) -> Node:
        token = self.peek()
        if token in (("op", "-"), ("op", "+")):
            self.at += 1
            self.nested()
            operand = self.unary()
            self.depth -= 1
            return ("neg", operand) if token == ("op", "-") else operand
        return self.power()

    def power(self) -> Node:
        base = self.primary()
        if self.peek() == ("op", "^"):
            self.at += 1
            self.nested()
            exponent = self.unary()
            self.depth -= 1
            return ("^", base, exponent)
        return base

    def primary(self) -> Node:
        kind, text = self.take()
        if kind == "num":
            return float(text)
        if kind == "name":
            if self.peek() != ("op", "("):
                return text
            if text not in FUNCTIONS:
                raise FormulaError(f"unknown function '{text}'")
            self.at += 1
            args = [self.expression()]
            while self.peek() == ("op", ","):
                self.at += 1
                args.append(self.expression())
            self.take(")")
            if text not in VARIADIC and len(args) != 1:
                raise FormulaError(f"'{text}' takes one argument, got {len(args)}")
            return ("call", text, *args)
        if text == "(":
            node = self.expression()
            self.take(")")
            return node
        raise FormulaError(f"unexpected '{text}' in the formula")


def parse(text: str) -> Node:
    """The tree of ``text`` (a :class:`FormulaError` when it is not a formula)."""
    if len(text) > MAX_CHARS:
        raise FormulaError(f"the formula is longer than {MAX_CHARS} characters")
    parser = _Parser(text)
    node = parser.expression()
    if parser.peek() is not None:
        raise FormulaError(f"unexpected {parser.peek()[1]!r} in the formula")  # type: ignore[index]
    return node


def names(node: Node) -> set[str]:
    """The variable names a parsed formula uses."""
    if isinstance(node, str):
        return {node}
    if isinstance(node, tuple):
        start = 2 if node[0] == "call" else 1
        return set().union(*(names(child) for child in node[start:]))
    return set()


def evaluate(node: Node, values: Mapping[str, float]) -> float:
    """The value of a parsed formula with ``values`` for its names."""
    try:
        result = _value(node, values)
    except FormulaError:
        raise
    except (ZeroDivisionError, OverflowError, ValueError) as exc:
        raise FormulaError(f"the formula has no value: {exc}") from None
    if not math.isfinite(result):
        raise FormulaError("the formula's value is not a finite number")
    return result


def _value(node: Node, values: Mapping[str, float]) -> float:
    if isinstance(node, float):
        return node
    if isinstance(node, str):
        if node not in values:
            raise FormulaError(f"the formula names '{node}', which is no grader of this multi grader")
        return float(values[node])
    op = node[0]
    if op == "call":
        return float(FUNCTIONS[node[1]](*(_value(arg, values) for arg in node[2:])))
    if op == "neg":
        return -_value(node[1], values)
    a, b = _value(node[1], values), _value(node[2], values)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    return math.pow(a, b)  # "^": OverflowError past float range, ValueError for a complex result

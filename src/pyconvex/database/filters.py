"""The filter expression language of ``query.filter(...)``.

A filter is a predicate built from a :class:`FilterBuilder`::

    query.filter(lambda q: q.and_(q.eq(q.field("a"), 1), q.gt(q.field("b.c"), Int64(2))))

The builder returns immutable :class:`Expression` trees. This module owns
building them, evaluating them against a document with Convex's semantics
(``Expression::eval`` in ``crates/common/src/query.rs``), deciding whether a
row passes (:func:`matches`), and their wire form (:meth:`Expression.to_json`,
the shapes of ``filter_builder_impl.ts``).

Evaluation rules, all from Convex:

* ``field`` of a missing path is UNDEFINED, which sorts below every value.
* Comparisons use the total order of semantics.md 1.2 (int64 and float64 are
  different types, so ``Int64(1) != 1.0``; -0.0 and 0.0 differ; NaN equals NaN).
* Arithmetic works on two int64s (overflow and division by zero are errors) or
  two float64s (IEEE: division by zero gives an infinity or NaN); anything else
  is an error.
* ``and_``/``or_`` short-circuit, and they, ``not_`` and the filter result
  itself must be booleans: any other value is an error, never "false".

Every evaluation error is a :class:`~pyconvex.errors.QueryError` with the text
the Convex server produces.
"""

from __future__ import annotations

import base64
import importlib
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from pyconvex.database.field_paths import get_field, validate_field_path
from pyconvex.errors import QueryError
from pyconvex.values.model import (
    INT64_MAX,
    INT64_MIN,
    UNDEFINED,
    Int64,
    Undefined,
    Value,
    normalize_value,
)
from pyconvex.values.ordering import compare_values

__all__ = ["Expression", "FilterBuilder", "compile_filter", "format_value", "matches"]

#: A JSON-compatible Python value (what ``json.dumps`` accepts).
JsonValue: TypeAlias = Any
#: An operand of a builder method: an :class:`Expression` or a literal value (UNDEFINED allowed).
Operand: TypeAlias = Any


class Expression:
    """An immutable node of a filter expression; build them with :class:`FilterBuilder`."""

    __slots__ = ()

    def evaluate(self, document: Mapping[str, Value]) -> Value | Undefined:
        """Evaluate the expression with ``q.field(...)`` reading from ``document``.

        Raises:
            QueryError: a type error, int64 overflow or division by zero (Convex's messages).
        """
        raise NotImplementedError

    def to_json(self) -> JsonValue:
        """Return Convex's serialized form, e.g. ``{"$eq": [{"$field": "a"}, {"$literal": 1}]}``."""
        raise NotImplementedError

    # Python's `and`, `or`, `not` and `==` cannot build expressions. Without
    # these guards `q.eq(a, 1) and q.eq(b, 2)` would silently keep only the
    # second condition, and `q.field("a") == 1` would filter on a constant.
    def __bool__(self) -> bool:
        raise QueryError(
            "A filter expression has no truth value: combine expressions with q.and_(...), "
            "q.or_(...) and q.not_(...) rather than `and`, `or` and `not`."
        )

    def __eq__(self, other: object) -> bool:
        raise QueryError(
            "Compare filter expressions with q.eq(l, r) and q.neq(l, r) rather than `==` and `!=`."
        )

    __hash__ = object.__hash__


# ---------------------------------------------------------------------------
# Expression nodes. Frozen dataclasses without generated equality, so the
# guards above stay in force and nodes hash by identity.


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class _Field(Expression):
    path: str

    def evaluate(self, document: Mapping[str, Value]) -> Value | Undefined:
        return get_field(document, self.path)

    def to_json(self) -> JsonValue:
        return {"$field": self.path}

    def __repr__(self) -> str:
        return f"field({self.path!r})"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class _Literal(Expression):
    value: Value | Undefined

    def evaluate(self, document: Mapping[str, Value]) -> Value | Undefined:
        return self.value

    def to_json(self) -> JsonValue:
        return {"$literal": _literal_json(self.value)}

    def __repr__(self) -> str:
        return repr(self.value)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class _Comparison(Expression):
    op: str
    left: Expression
    right: Expression

    def evaluate(self, document: Mapping[str, Value]) -> Value | Undefined:
        left = self.left.evaluate(document)
        right = self.right.evaluate(document)
        return _COMPARISON_TESTS[self.op](_compare(left, right))

    def to_json(self) -> JsonValue:
        return {f"${self.op}": [self.left.to_json(), self.right.to_json()]}

    def __repr__(self) -> str:
        return f"{self.op}({self.left!r}, {self.right!r})"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class _Arithmetic(Expression):
    op: str
    left: Expression
    right: Expression

    def evaluate(self, document: Mapping[str, Value]) -> Value | Undefined:
        left = self.left.evaluate(document)
        right = self.right.evaluate(document)
        if type(left) is Int64 and type(right) is Int64:
            return _int_arithmetic(self.op, left, right)
        if type(left) is float and type(right) is float:
            return _FLOAT_OPERATIONS[self.op](left, right)
        raise QueryError(
            f"Cannot {_VERBS[self.op]} {format_value(left)} (type {_type_name(left)}) "
            f"and {format_value(right)} (type {_type_name(right)})"
        )

    def to_json(self) -> JsonValue:
        return {f"${self.op}": [self.left.to_json(), self.right.to_json()]}

    def __repr__(self) -> str:
        return f"{self.op}({self.left!r}, {self.right!r})"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class _Neg(Expression):
    operand: Expression

    def evaluate(self, document: Mapping[str, Value]) -> Value | Undefined:
        value = self.operand.evaluate(document)
        if type(value) is Int64:
            if value == INT64_MIN:
                raise QueryError(
                    f"Cannot negate {int(value)}: the result is out of range for Int64"
                )
            return Int64(-value)
        if type(value) is float:
            return -value
        raise QueryError(f"Cannot negate {format_value(value)} (type {_type_name(value)})")

    def to_json(self) -> JsonValue:
        return {"$neg": self.operand.to_json()}

    def __repr__(self) -> str:
        return f"neg({self.operand!r})"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class _And(Expression):
    operands: tuple[Expression, ...]

    def evaluate(self, document: Mapping[str, Value]) -> Value | Undefined:
        for operand in self.operands:
            if not _as_boolean(operand.evaluate(document)):
                return False
        return True

    def to_json(self) -> JsonValue:
        return {"$and": [operand.to_json() for operand in self.operands]}

    def __repr__(self) -> str:
        return f"and_({', '.join(map(repr, self.operands))})"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class _Or(Expression):
    operands: tuple[Expression, ...]

    def evaluate(self, document: Mapping[str, Value]) -> Value | Undefined:
        for operand in self.operands:
            if _as_boolean(operand.evaluate(document)):
                return True
        return False

    def to_json(self) -> JsonValue:
        return {"$or": [operand.to_json() for operand in self.operands]}

    def __repr__(self) -> str:
        return f"or_({', '.join(map(repr, self.operands))})"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class _Not(Expression):
    operand: Expression

    def evaluate(self, document: Mapping[str, Value]) -> Value | Undefined:
        return not _as_boolean(self.operand.evaluate(document))

    def to_json(self) -> JsonValue:
        return {"$not": self.operand.to_json()}

    def __repr__(self) -> str:
        return f"not_({self.operand!r})"


# ---------------------------------------------------------------------------
# The builder.


class FilterBuilder:
    """The ``q`` passed to a filter predicate; every method returns a new :class:`Expression`.

    Operands may be expressions or literal values. Literals are normalized as
    everywhere else (a plain ``int`` is a float64; use ``Int64(...)`` for
    int64), and ``UNDEFINED`` stands for a missing field.
    """

    __slots__ = ()

    def field(self, path: str) -> Expression:
        """Read the (dotted) field ``path`` of the document; missing reads as UNDEFINED.

        Raises:
            QueryError: ``path`` is not a valid field path.
        """
        return _Field(validate_field_path(path))

    def eq(self, left: Operand, right: Operand) -> Expression:
        """``left == right``: same type and same value."""
        return _Comparison("eq", _operand(left), _operand(right))

    def neq(self, left: Operand, right: Operand) -> Expression:
        """``left != right``."""
        return _Comparison("neq", _operand(left), _operand(right))

    def lt(self, left: Operand, right: Operand) -> Expression:
        """``left < right`` in Convex's total order (missing sorts lowest)."""
        return _Comparison("lt", _operand(left), _operand(right))

    def lte(self, left: Operand, right: Operand) -> Expression:
        """``left <= right`` in Convex's total order."""
        return _Comparison("lte", _operand(left), _operand(right))

    def gt(self, left: Operand, right: Operand) -> Expression:
        """``left > right`` in Convex's total order."""
        return _Comparison("gt", _operand(left), _operand(right))

    def gte(self, left: Operand, right: Operand) -> Expression:
        """``left >= right`` in Convex's total order."""
        return _Comparison("gte", _operand(left), _operand(right))

    def add(self, left: Operand, right: Operand) -> Expression:
        """``left + right`` on two int64s or two float64s."""
        return _Arithmetic("add", _operand(left), _operand(right))

    def sub(self, left: Operand, right: Operand) -> Expression:
        """``left - right`` on two int64s or two float64s."""
        return _Arithmetic("sub", _operand(left), _operand(right))

    def mul(self, left: Operand, right: Operand) -> Expression:
        """``left * right`` on two int64s or two float64s."""
        return _Arithmetic("mul", _operand(left), _operand(right))

    def div(self, left: Operand, right: Operand) -> Expression:
        """``left / right``: truncating on int64s, IEEE on float64s."""
        return _Arithmetic("div", _operand(left), _operand(right))

    def mod(self, left: Operand, right: Operand) -> Expression:
        """``left % right`` with the sign of ``left`` (as in JavaScript and Rust)."""
        return _Arithmetic("mod", _operand(left), _operand(right))

    def neg(self, operand: Operand) -> Expression:
        """``-operand`` on an int64 or a float64."""
        return _Neg(_operand(operand))

    def and_(self, *operands: Operand) -> Expression:
        """True if every operand is true (true when there are none); short-circuits."""
        return _And(tuple(map(_operand, operands)))

    def or_(self, *operands: Operand) -> Expression:
        """True if any operand is true (false when there are none); short-circuits."""
        return _Or(tuple(map(_operand, operands)))

    def not_(self, operand: Operand) -> Expression:
        """Boolean negation."""
        return _Not(_operand(operand))


_BUILDER: Final = FilterBuilder()


def compile_filter(predicate: Callable[[FilterBuilder], object]) -> Expression | None:
    """Run a filter predicate and return its expression, or None if it adds no filter.

    A predicate must return an expression (or a literal such as ``True``,
    which then applies to every row). Returning ``None`` is an error, not "no
    filter": on the Convex server an ``undefined`` predicate result fails
    too, and in Python it is nearly always a forgotten ``return``.

    Raises:
        TypeError: ``predicate`` is missing or not callable.
        InvalidValueError: the predicate used a value that is not a Convex value.
        QueryError: the predicate used an invalid field path.
    """
    if predicate is None:
        raise TypeError("Must provide arg 1 `predicate` to `filter`")
    if not callable(predicate):
        raise TypeError("Arg 1 `predicate` to `filter` must be a function")
    result = predicate(_BUILDER)
    if result is None or result is UNDEFINED:
        raise QueryError(
            "The filter predicate returned None; it must return an expression such as "
            'q.eq(q.field("a"), 1) (did you forget `return`?)'
        )
    return _operand(result)


def matches(expression: Expression, document: Mapping[str, Value]) -> bool:
    """Return whether ``document`` passes the filter ``expression``.

    As on the Convex server, the result must be a boolean: a filter that
    evaluates to anything else is an error, not a rejected row.

    Raises:
        QueryError: evaluation failed, or the result is not a boolean.
    """
    return _as_boolean(expression.evaluate(document))


def format_value(value: Value) -> str:
    """Format a value the way Convex's server error messages print it.

    ``Int64(1)`` is ``1``, ``1.0`` is ``1.0``, strings are double-quoted,
    bytes are ``b"<base64>"``, objects are ``{a: 1.0}`` and a missing value is
    ``undefined`` (Rust's ``Display`` for ``MaybeValue``).
    """
    kind = type(value)
    if kind is Int64:
        return str(int(value))
    if kind is float:
        return _format_float(value)
    if kind is str:
        return _debug_str(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if kind is Undefined:
        return "undefined"
    if kind is bytes:
        return f'b"{base64.b64encode(value).decode("ascii")}"'
    if kind is list:
        return "[" + ", ".join(map(format_value, value)) + "]"
    if kind is dict:
        keys = sorted(value, key=lambda key: key.encode("utf-8"))
        return "{" + ", ".join(f"{key}: {format_value(value[key])}" for key in keys) + "}"
    return repr(value)


# ---------------------------------------------------------------------------
# Evaluation helpers.


def _operand(value: Operand) -> Expression:
    if isinstance(value, Expression):
        return value
    if value is UNDEFINED:
        return _Literal(UNDEFINED)
    return _Literal(normalize_value(value))


# Types whose Python order already is Convex's order within the type (str:
# code points order like UTF-8 bytes). Floats are left out: -0.0 == 0.0 and
# NaN is unordered in Python but not in Convex's total order.
_NATIVELY_ORDERED: Final = frozenset({str, Int64, bool, bytes})


def _compare(left: Value, right: Value) -> int:
    kind = type(left)
    order: int
    if kind is type(right):
        if kind in _NATIVELY_ORDERED:
            order = (left > right) - (left < right)
            return order
        # Plain float comparison is exact unless a NaN or two zeros are involved.
        if kind is float and left == left and right == right and (left or right):
            order = (left > right) - (left < right)
            return order
    return compare_values(left, right)


_COMPARISON_TESTS: Final[dict[str, Callable[[int], bool]]] = {
    "eq": lambda order: order == 0,
    "neq": lambda order: order != 0,
    "lt": lambda order: order < 0,
    "lte": lambda order: order <= 0,
    "gt": lambda order: order > 0,
    "gte": lambda order: order >= 0,
}

#: How Convex's messages name each operation ("Cannot subtract ...").
_VERBS: Final = {"add": "add", "sub": "subtract", "mul": "multiply", "div": "divide", "mod": "mod"}


def _truncating_div(left: int, right: int) -> int:
    # Rust's i64 division rounds toward zero; Python's // rounds down.
    quotient = abs(left) // abs(right)
    return quotient if (left < 0) == (right < 0) else -quotient


def _truncating_mod(left: int, right: int) -> int:
    # The remainder takes the sign of the dividend, as in Rust and JavaScript.
    remainder = abs(left) % abs(right)
    return remainder if left >= 0 else -remainder


_INT_OPERATIONS: Final[dict[str, Callable[[int, int], int]]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": _truncating_div,
    "mod": _truncating_mod,
}


def _int_arithmetic(op: str, left_value: Int64, right_value: Int64) -> Int64:
    # Plain ints: Int64's str() is its repr, "Int64(1)", not Rust's "1".
    verb, left, right = _VERBS[op], int(left_value), int(right_value)
    if right == 0 and op in ("div", "mod"):
        raise QueryError(f"Cannot {verb} {left} by zero")
    result = _INT_OPERATIONS[op](left, right)
    # Rust's checked_rem also fails for MIN % -1, although the remainder (0) fits.
    overflow = not INT64_MIN <= result <= INT64_MAX or (
        op == "mod" and left == INT64_MIN and right == -1
    )
    if overflow:
        raise QueryError(f"Cannot {verb} {left} and {right}: the result is out of range for Int64")
    return Int64(result)


def _float_div(left: float, right: float) -> float:
    # Python raises ZeroDivisionError where IEEE-754 (Rust, JavaScript) gives ±inf or NaN.
    if right == 0.0:
        if left == 0.0 or math.isnan(left):
            return math.nan
        return math.copysign(math.inf, left) * math.copysign(1.0, right)
    return left / right


def _float_mod(left: float, right: float) -> float:
    # math.fmod is IEEE fmod (Rust's and JavaScript's %) except that it raises
    # where those return NaN.
    if right == 0.0 or math.isinf(left):
        return math.nan
    return math.fmod(left, right)


_FLOAT_OPERATIONS: Final[dict[str, Callable[[float, float], float]]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": _float_div,
    "mod": _float_mod,
}


def _as_boolean(value: Value) -> bool:
    if type(value) is bool:
        return value
    raise QueryError(
        f"Cannot use value {format_value(value)} (type {_type_name(value)}) as a Boolean"
    )


_TYPE_NAMES: Final[dict[type, str]] = {
    Undefined: "undefined",
    type(None): "Null",
    Int64: "Int64",
    float: "Float64",
    bool: "Boolean",
    str: "String",
    bytes: "Bytes",
    list: "Array",
    dict: "Object",
}


def _type_name(value: Value) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _format_float(value: float) -> str:
    # Rust's `{:?}` for f64: shortest round-trip digits like Python's repr, with
    # the same switch to exponent notation, but written "1e16", "1.5e-7".
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}e{int(exponent)}"
    return text


_STR_ESCAPES: Final = {"\t": "\\t", "\r": "\\r", "\n": "\\n", "\\": "\\\\", '"': '\\"', "\0": "\\0"}


def _debug_str(text: str) -> str:
    # Rust's `{:?}` for str: double quotes, backslash escapes, \u{..} for
    # unprintable characters.
    out = []
    for char in text:
        escaped = _STR_ESCAPES.get(char)
        if escaped is None:
            escaped = char if char.isprintable() else f"\\u{{{ord(char):x}}}"
        out.append(escaped)
    return '"' + "".join(out) + '"'


def _literal_json(value: Value) -> JsonValue:
    if value is UNDEFINED:
        return {"$undefined": None}
    # Imported on first use: pyconvex.values.json is being written alongside
    # this module. Switch to a plain top-level import once it has landed.
    encode_json = importlib.import_module("pyconvex.values.json").encode_json
    return encode_json(value)

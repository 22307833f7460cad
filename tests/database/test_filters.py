import base64
import dataclasses
import importlib
import math
import struct
import sys
import types

import pytest

from pyconvex.database.filters import (
    Expression,
    FilterBuilder,
    compile_filter,
    format_value,
    matches,
)
from pyconvex.errors import InvalidValueError, QueryError
from pyconvex.values.model import INT64_MAX, INT64_MIN, UNDEFINED, Int64

q = FilterBuilder()
DOC = {"a": 1.0, "i": Int64(7), "s": "hi", "n": None, "o": {"b": {"c": 2.0}}, "t": True}


def ev(expression, doc=DOC):
    return expression.evaluate(doc)


def error_of(expression, doc=DOC):
    with pytest.raises(QueryError) as caught:
        expression.evaluate(doc)
    return caught.value.message


# --- fields and literals ------------------------------------------------------


def test_fields_and_literals():
    assert ev(q.field("a")) == 1.0
    assert ev(q.field("o.b.c")) == 2.0
    assert ev(q.field("missing")) is UNDEFINED
    assert ev(q.field("o.b.c.d")) is UNDEFINED
    assert ev(q.eq(q.field("s"), q.field("s"))) is True


def test_literals_are_normalized():
    # A plain int is a float64, as a JavaScript number is.
    assert ev(q.eq(q.field("a"), 1)) is True
    assert ev(q.eq(q.field("i"), 7)) is False
    assert ev(q.eq(q.field("i"), Int64(7))) is True
    assert ev(q.eq(q.field("x"), {"k": 1, "gone": UNDEFINED}), {"x": {"k": 1.0}}) is True


def test_invalid_literals_and_paths_fail_when_built():
    with pytest.raises(InvalidValueError):
        q.eq(q.field("a"), {1, 2})
    with pytest.raises(QueryError, match="Identifier cannot be empty"):
        q.field("a..b")


# --- comparisons --------------------------------------------------------------


def test_eq_and_neq_compare_type_and_value():
    assert ev(q.eq(Int64(1), 1.0)) is False
    assert ev(q.neq(Int64(1), 1.0)) is True
    assert ev(q.eq(None, None)) is True
    assert ev(q.eq([Int64(1)], [1.0])) is False
    assert ev(q.eq({"a": 0.0}, {"a": -0.0})) is False
    assert ev(q.eq({"a": [1.0, "x"]}, {"a": [1.0, "x"]})) is True
    assert ev(q.eq(b"\x00", b"\x00")) is True


def test_eq_undefined_selects_missing_fields():
    pred = q.eq(q.field("x"), UNDEFINED)
    assert matches(pred, {}) is True
    assert matches(pred, {"b": 1.0}) is True
    assert matches(pred, {"x": None}) is False
    assert matches(pred, {"x": 1.0}) is False
    assert matches(q.neq(q.field("x"), UNDEFINED), {"x": None}) is True


def test_missing_sorts_below_everything():
    pred = q.lt(q.field("x"), 5)
    assert matches(pred, {}) is True
    assert matches(pred, {"x": None}) is True  # null < float64 too
    assert matches(pred, {"x": 4.0}) is True
    assert matches(pred, {"x": 5.0}) is False
    assert matches(q.gt(q.field("x"), UNDEFINED), {"x": None}) is True
    assert matches(q.gt(q.field("x"), UNDEFINED), {}) is False
    assert matches(q.gte(q.field("x"), None), {}) is False


# Ascending, one value per type, in Convex's cross-type order.
ORDERED = [
    UNDEFINED,
    None,
    Int64(-5),
    Int64(34),
    -math.inf,
    -0.0,
    0.0,
    34.0,
    35.0,
    math.inf,
    math.nan,
    False,
    True,
    "",
    "a",
    "ab",
    "\uffff",
    "\U0001f600",  # after U+FFFF: UTF-8 order, not UTF-16 code units
    b"",
    b"\x00",
    [],
    [1.0],
    [1.0, 0.0],
    [2.0],
    {},
    {"a": 1.0},
    {"a": 1.0, "b": 0.0},
    {"b": 0.0},
]


@pytest.mark.parametrize("index", range(len(ORDERED) - 1))
def test_total_order_across_and_within_types(index):
    low, high = ORDERED[index], ORDERED[index + 1]
    assert ev(q.lt(low, high)) is True
    assert ev(q.lte(low, high)) is True
    assert ev(q.gt(high, low)) is True
    assert ev(q.gte(high, low)) is True
    assert ev(q.gt(low, high)) is False
    assert ev(q.eq(low, high)) is False
    assert ev(q.lte(low, low)) is True
    assert ev(q.gte(high, high)) is True


def test_float_equality_is_total_order_equality():
    assert ev(q.eq(math.nan, math.nan)) is True
    assert ev(q.eq(-0.0, 0.0)) is False
    assert ev(q.lt(-0.0, 0.0)) is True
    assert ev(q.eq(0.1 + 0.2, 0.3)) is False


# --- arithmetic ---------------------------------------------------------------


def test_int64_arithmetic():
    assert ev(q.add(q.field("i"), Int64(3))) == Int64(10)
    assert type(ev(q.add(q.field("i"), Int64(3)))) is Int64
    assert ev(q.sub(Int64(3), Int64(10))) == -7
    assert ev(q.mul(Int64(-4), Int64(5))) == -20
    # Division truncates toward zero; the remainder has the dividend's sign.
    assert ev(q.div(Int64(-7), Int64(2))) == -3
    assert ev(q.div(Int64(7), Int64(-2))) == -3
    assert ev(q.div(Int64(7), Int64(2))) == 3
    assert ev(q.mod(Int64(-7), Int64(2))) == -1
    assert ev(q.mod(Int64(7), Int64(-2))) == 1
    assert ev(q.mod(Int64(INT64_MIN), Int64(2))) == 0
    assert ev(q.neg(Int64(5))) == -5
    assert ev(q.add(Int64(INT64_MAX), Int64(INT64_MIN))) == -1


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: q.add(Int64(INT64_MAX), Int64(1)),
            "Cannot add 9223372036854775807 and 1: the result is out of range for Int64",
        ),
        (
            lambda: q.sub(Int64(INT64_MIN), Int64(1)),
            "Cannot subtract -9223372036854775808 and 1: the result is out of range for Int64",
        ),
        (
            lambda: q.mul(Int64(1 << 62), Int64(2)),
            "Cannot multiply 4611686018427387904 and 2: the result is out of range for Int64",
        ),
        (
            lambda: q.div(Int64(INT64_MIN), Int64(-1)),
            "Cannot divide -9223372036854775808 and -1: the result is out of range for Int64",
        ),
        (
            lambda: q.mod(Int64(INT64_MIN), Int64(-1)),
            "Cannot mod -9223372036854775808 and -1: the result is out of range for Int64",
        ),
        (lambda: q.div(Int64(1), Int64(0)), "Cannot divide 1 by zero"),
        (lambda: q.mod(Int64(-3), Int64(0)), "Cannot mod -3 by zero"),
        (
            lambda: q.neg(Int64(INT64_MIN)),
            "Cannot negate -9223372036854775808: the result is out of range for Int64",
        ),
    ],
)
def test_int64_errors(build, message):
    assert error_of(build()) == message


def test_float_arithmetic_is_ieee():
    assert ev(q.add(0.1, 0.2)) == 0.30000000000000004
    assert ev(q.sub(q.field("a"), 3)) == -2.0
    assert ev(q.mul(1e308, 10)) == math.inf
    assert math.isnan(ev(q.sub(math.inf, math.inf)))
    assert ev(q.div(1, 4)) == 0.25
    assert ev(q.div(1.0, 0.0)) == math.inf
    assert ev(q.div(-1.0, 0.0)) == -math.inf
    assert ev(q.div(1.0, -0.0)) == -math.inf
    assert math.isnan(ev(q.div(0.0, 0.0)))
    assert math.isnan(ev(q.div(math.nan, 0.0)))
    assert ev(q.mod(5.5, 2.0)) == 1.5
    assert ev(q.mod(-5.5, 2.0)) == -1.5
    assert ev(q.mod(1.0, math.inf)) == 1.0
    assert math.isnan(ev(q.mod(1.0, 0.0)))
    assert math.isnan(ev(q.mod(math.inf, 2.0)))
    assert math.copysign(1.0, ev(q.neg(0.0))) == -1.0
    assert ev(q.neg(q.field("a"))) == -1.0


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: q.add(Int64(1), 1.0), "Cannot add 1 (type Int64) and 1.0 (type Float64)"),
        (
            lambda: q.add(q.field("missing"), 1),
            "Cannot add undefined (type undefined) and 1.0 (type Float64)",
        ),
        (lambda: q.sub("a", "b"), 'Cannot subtract "a" (type String) and "b" (type String)'),
        (lambda: q.mul(None, True), "Cannot multiply null (type Null) and true (type Boolean)"),
        (
            lambda: q.div([1.0], {"k": Int64(2)}),
            "Cannot divide [1.0] (type Array) and {k: 2} (type Object)",
        ),
        (lambda: q.mod(b"\x01\x02", 2), 'Cannot mod b"AQI=" (type Bytes) and 2.0 (type Float64)'),
        (lambda: q.neg("x"), 'Cannot negate "x" (type String)'),
        (lambda: q.neg(q.field("missing")), "Cannot negate undefined (type undefined)"),
    ],
)
def test_mixed_or_non_numeric_operands_are_errors(build, message):
    assert error_of(build()) == message


# --- boolean logic ------------------------------------------------------------


def test_and_or_not():
    t, f = q.eq(1, 1), q.eq(1, 2)
    assert ev(q.and_(t, t)) is True
    assert ev(q.and_(t, f)) is False
    assert ev(q.or_(f, t)) is True
    assert ev(q.or_(f, f)) is False
    assert ev(q.not_(f)) is True
    assert ev(q.not_(True)) is False
    assert ev(q.and_()) is True
    assert ev(q.or_()) is False
    assert ev(q.and_(True, t, q.field("t"))) is True


def test_and_or_short_circuit():
    boom = q.add("x", 1)
    assert ev(q.and_(False, boom)) is False
    assert ev(q.or_(True, boom)) is True
    assert error_of(q.and_(True, boom)).startswith("Cannot add")
    assert error_of(q.or_(False, boom)).startswith("Cannot add")


def test_logic_requires_booleans():
    assert error_of(q.and_(True, 1)) == "Cannot use value 1.0 (type Float64) as a Boolean"
    assert error_of(q.or_(q.field("missing"))) == (
        "Cannot use value undefined (type undefined) as a Boolean"
    )
    assert error_of(q.not_(None)) == "Cannot use value null (type Null) as a Boolean"
    # The first operand is checked even when it would decide the result.
    assert error_of(q.and_("yes", False)) == 'Cannot use value "yes" (type String) as a Boolean'


# --- matches and compile_filter -----------------------------------------------


def test_matches_requires_a_boolean_result():
    assert matches(q.eq(q.field("s"), "hi"), DOC) is True
    assert matches(q.eq(q.field("s"), "ho"), DOC) is False
    with pytest.raises(QueryError, match=r"^Cannot use value 7 \(type Int64\) as a Boolean$"):
        matches(q.field("i"), DOC)
    with pytest.raises(QueryError, match="Cannot use value undefined"):
        matches(q.field("missing"), DOC)


def test_compile_filter():
    expr = compile_filter(lambda q: q.and_(q.eq(q.field("a"), 1), q.gt(q.field("o.b.c"), 1)))
    assert expr is not None
    assert matches(expr, DOC) is True
    assert matches(expr, {"a": 1.0}) is False


def test_compile_filter_refuses_a_predicate_that_returns_nothing():
    # A forgotten `return` must not silently match every row.
    for result in (None, UNDEFINED):
        with pytest.raises(QueryError, match="did you forget `return`"):
            compile_filter(lambda q, result=result: result)


def test_compile_filter_with_a_literal_result():
    always = compile_filter(lambda q: True)
    never = compile_filter(lambda q: False)
    assert always is not None and never is not None
    assert matches(always, {}) is True
    assert matches(never, DOC) is False
    number = compile_filter(lambda q: 1)
    assert number is not None
    with pytest.raises(QueryError, match="as a Boolean"):
        matches(number, DOC)
    with pytest.raises(InvalidValueError):
        compile_filter(lambda q: object())


def test_compile_filter_argument_checks():
    with pytest.raises(TypeError, match="Must provide arg 1 `predicate` to `filter`"):
        compile_filter(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a function"):
        compile_filter(True)  # type: ignore[arg-type]


# --- Python-level guards, immutability, repr ---------------------------------


def test_python_operators_are_refused():
    a, b = q.eq(q.field("a"), 1), q.eq(q.field("b"), 2)
    with pytest.raises(QueryError, match="q.and_"):
        _ = a and b
    with pytest.raises(QueryError, match="q.and_"):
        _ = not a
    with pytest.raises(QueryError, match=r"q\.eq"):
        _ = q.field("a") == 1
    with pytest.raises(QueryError, match=r"q\.eq"):
        _ = q.field("a") != 1
    assert len({a, b}) == 2  # still hashable, by identity


def test_expressions_are_immutable():
    expr = q.eq(q.field("a"), 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        expr.op = "neq"  # type: ignore[attr-defined]
    assert isinstance(expr, Expression)


def test_repr():
    expr = q.and_(q.eq(q.field("a.b"), 1), q.not_(q.lt(q.neg(q.field("c")), UNDEFINED)))
    assert repr(expr) == "and_(eq(field('a.b'), 1.0), not_(lt(neg(field('c')), UNDEFINED)))"
    assert repr(q.or_(q.mod(Int64(1), Int64(2)), True)) == "or_(mod(Int64(1), Int64(2)), True)"


# --- serialization ------------------------------------------------------------


def _fallback_encode_json(value):
    # Convex's JSON encoding, for when pyconvex.values.json has not landed yet.
    if type(value) is Int64:
        return {"$integer": base64.b64encode(struct.pack("<q", value)).decode()}
    if type(value) is float:
        if math.isfinite(value) and not (value == 0 and math.copysign(1, value) < 0):
            return value
        return {"$float": base64.b64encode(struct.pack("<d", value)).decode()}
    if type(value) is bytes:
        return {"$bytes": base64.b64encode(value).decode()}
    if type(value) is list:
        return [_fallback_encode_json(item) for item in value]
    if type(value) is dict:
        return {key: _fallback_encode_json(item) for key, item in value.items()}
    return value


@pytest.fixture
def convex_json(monkeypatch):
    try:
        importlib.import_module("pyconvex.values.json")
    except ImportError:
        fake = types.ModuleType("pyconvex.values.json")
        fake.encode_json = _fallback_encode_json  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "pyconvex.values.json", fake)


def test_to_json_shapes(convex_json):
    a, one = {"$field": "a"}, {"$literal": 1.0}
    for name in ("eq", "neq", "lt", "lte", "gt", "gte", "add", "sub", "mul", "div", "mod"):
        build = getattr(q, name)
        assert build(q.field("a"), 1).to_json() == {f"${name}": [a, one]}
    assert q.neg(q.field("a")).to_json() == {"$neg": a}
    assert q.not_(True).to_json() == {"$not": {"$literal": True}}
    assert q.and_(True, q.field("a")).to_json() == {"$and": [{"$literal": True}, a]}
    assert q.or_().to_json() == {"$or": []}
    assert q.field(".o.b.").to_json() == {"$field": "o.b"}


def test_to_json_literals(convex_json):
    def literal(value):
        return q.eq(value, None).to_json()["$eq"][0]

    assert literal(UNDEFINED) == {"$literal": {"$undefined": None}}
    assert literal(None) == {"$literal": None}
    assert literal("s") == {"$literal": "s"}
    assert literal(Int64(1)) == {"$literal": {"$integer": "AQAAAAAAAAA="}}
    assert literal(b"\x01\x02") == {"$literal": {"$bytes": "AQI="}}
    assert literal({"k": [2.5]}) == {"$literal": {"k": [2.5]}}


# --- format_value -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (UNDEFINED, "undefined"),
        (None, "null"),
        (Int64(-3), "-3"),
        (1.0, "1.0"),
        (-0.0, "-0.0"),
        (0.1, "0.1"),
        (0.0001, "0.0001"),
        (1.5e-7, "1.5e-7"),
        (1e16, "1e16"),
        (9999999999999998.0, "9999999999999998.0"),
        (1.7976931348623157e308, "1.7976931348623157e308"),
        (math.inf, "inf"),
        (-math.inf, "-inf"),
        (math.nan, "NaN"),
        (True, "true"),
        ("a\"b\\c\nd'", '"a\\"b\\\\c\\nd\'"'),
        ("\x01é", '"\\u{1}é"'),
        (b"", 'b""'),
        ([Int64(1), [None]], "[1, [null]]"),
        ({"b": 1.0, "a": "x"}, '{a: "x", b: 1.0}'),
    ],
)
def test_format_value_matches_rust_display(value, text):
    assert format_value(value) == text

import math

import pytest
from hypothesis import given, settings, strategies as st

from pyconvex.database.field_paths import get_field
from pyconvex.database.index_range import IndexRange, IndexRangeBuilder, compile_index_range
from pyconvex.errors import InvalidValueError, QueryError
from pyconvex.values.model import INT64_MAX, UNDEFINED, Int64, normalize_value
from pyconvex.values.ordering import compare_values, encode_key, encode_value, prefix_successor

FIELDS = ["a", "b", "_creationTime", "_id"]
DOCS_LINK = "https://docs.convex.dev/using/indexes"


def compile_range(build, fields=FIELDS, **kwargs):
    builder = build(IndexRangeBuilder()) if build is not None else None
    return compile_index_range(
        builder, table="t", index_name="by_a_b", index_fields=fields, **kwargs
    )


def error_of(build, fields=FIELDS):
    with pytest.raises(QueryError) as caught:
        compile_range(build, fields)
    return caught.value.message


# --- intervals ----------------------------------------------------------------


def test_no_range_is_the_whole_index():
    whole = compile_range(None)
    assert whole == IndexRange(start=b"", end=None)
    assert whole.contains(b"") and whole.contains(b"\xff" * 10)
    assert not whole.is_empty()
    assert compile_range(lambda q: q) == whole


def test_equality_prefix():
    r = compile_range(lambda q: q.eq("a", 1).eq("b", "x"))
    prefix = encode_key([1.0, "x"])
    assert r.start == prefix
    assert r.end == prefix_successor(prefix)


def test_bounds():
    p = encode_value(1.0)
    five = p + encode_value(5.0)
    assert compile_range(lambda q: q.eq("a", 1).gte("b", 5)).start == five
    assert compile_range(lambda q: q.eq("a", 1).gt("b", 5)).start == prefix_successor(five)
    assert compile_range(lambda q: q.eq("a", 1).lt("b", 5)).end == five
    assert compile_range(lambda q: q.eq("a", 1).lte("b", 5)).end == prefix_successor(five)
    assert compile_range(lambda q: q.eq("a", 1).lt("b", 5)).start == p
    assert compile_range(lambda q: q.eq("a", 1).gt("b", 5)).end == prefix_successor(p)
    assert compile_range(lambda q: q.lt("a", 5)).start == b""
    assert compile_range(lambda q: q.gt("a", 5)).end is None


def test_bound_on_an_int64_whose_encoding_ends_in_ff():
    r = compile_range(lambda q: q.gt("a", Int64(INT64_MAX)))
    assert r.contains(encode_key([1.0]))  # float64 sorts after every int64
    assert not r.contains(encode_key([Int64(INT64_MAX), None]))


def test_equalities_may_be_written_in_any_order():
    forward = compile_range(lambda q: q.eq("a", 1).eq("b", 2).gt("_creationTime", 3))
    backward = compile_range(lambda q: q.eq("b", 2).gt("_creationTime", 3).eq("a", 1))
    assert forward == backward
    assert forward.to_json() == backward.to_json()


def test_bounds_may_be_written_in_either_order():
    one = compile_range(lambda q: q.gt("a", 1).lt("a", 5))
    other = compile_range(lambda q: q.lt("a", 5).gt("a", 1))
    assert one == other


def test_undefined_means_missing():
    missing = compile_range(lambda q: q.eq("a", UNDEFINED))
    assert missing.contains(encode_key([UNDEFINED, 1.0]))
    assert not missing.contains(encode_key([None, 1.0]))
    present = compile_range(lambda q: q.gt("a", UNDEFINED))
    assert present.contains(encode_key([None]))
    assert not present.contains(encode_key([UNDEFINED, 1.0]))
    assert compile_range(lambda q: q.gte("a", None)).start == encode_value(None)


def test_full_key_equality_on_by_id():
    r = compile_range(lambda q: q.eq("_id", "abc"), fields=["_id"])
    assert r.contains(encode_key(["abc"]))
    assert not r.contains(encode_key(["abd"]))
    assert not r.contains(encode_key(["ab"]))


def test_empty_ranges():
    assert compile_range(lambda q: q.gt("a", 5).lt("a", 3)).is_empty()
    assert compile_range(lambda q: q.gt("a", 5).lte("a", 5)).is_empty()
    assert compile_range(lambda q: q.gte("a", 5).lt("a", 5)).is_empty()
    assert not compile_range(lambda q: q.gte("a", 5).lte("a", 5)).is_empty()


def test_values_are_coerced_or_normalized():
    seen = []

    def coerce(field, value):
        seen.append((field, value))
        return Int64(value) if field == "a" else normalize_value(value)

    r = compile_range(
        lambda q: q.eq("a", 3).eq("b", UNDEFINED).lt("_creationTime", 2), coerce=coerce
    )
    assert seen == [("a", 3), ("_creationTime", 2)]  # UNDEFINED is never coerced
    assert r.start == encode_key([Int64(3), UNDEFINED])
    plain = compile_range(lambda q: q.eq("a", 3))
    assert plain.start == encode_value(3.0)
    with pytest.raises(InvalidValueError):
        compile_range(lambda q: q.eq("a", {1, 2}))


def test_field_paths_are_validated_and_trimmed():
    assert compile_range(lambda q: q.eq(".a", 1)) == compile_range(lambda q: q.eq("a", 1))
    assert error_of(lambda q: q.eq("a..b", 1)) == "Identifier cannot be empty"


def test_nested_index_fields():
    fields = ["o.x", "_creationTime", "_id"]
    r = compile_range(lambda q: q.eq("o.x", "v"), fields=fields)
    assert r.contains(encode_key([get_field({"o": {"x": "v"}}, f) for f in ["o.x"]]))


def test_to_json_describes_the_normalized_range():
    r = compile_range(lambda q: q.lt("b", Int64(9)).eq("a", UNDEFINED).gte("b", -0.0))
    assert r.to_json() == [
        ["Eq", "a", encode_value(UNDEFINED).hex()],
        ["Gte", "b", encode_value(-0.0).hex()],
        ["Lt", "b", encode_value(Int64(9)).hex()],
    ]
    assert (
        compile_range(lambda q: q.eq("a", 1)).to_json()
        != compile_range(lambda q: q.eq("a", Int64(1))).to_json()
    )


# --- errors -------------------------------------------------------------------


def test_a_builder_can_only_be_used_once():
    message = (
        "IndexRangeBuilder has already been used! Chain your method calls like "
        f"`q => q.eq(...).eq(...)`. See {DOCS_LINK}"
    )
    q = IndexRangeBuilder()
    q.eq("a", 1)
    with pytest.raises(QueryError) as caught:
        q.eq("b", 2)
    assert caught.value.message == message

    def returns_the_used_builder(q):
        q.eq("a", 1)
        return q

    assert error_of(returns_the_used_builder) == message


def test_the_range_function_must_return_a_builder():
    with pytest.raises(QueryError, match="must return the builder chain"):
        compile_index_range(
            "a",
            table="t",
            index_name="i",
            index_fields=FIELDS,  # type: ignore[arg-type]
        )


def not_in_order(query_fields, first):
    listed = ", ".join(f'"{f}"' for f in query_fields)
    return (
        "Tried to query index t.by_a_b but the query didn't use the index fields in order.\n"
        'Index fields: ["a", "b", "_creationTime"]\n'
        f"Query fields: [{listed}]\n"
        f'First incorrect field: "{first}"\n'
        f"For more information see {DOCS_LINK}."
    )


@pytest.mark.parametrize(
    ("build", "query_fields", "first"),
    [
        (lambda q: q.eq("b", 1), ["b"], "b"),
        (lambda q: q.gt("b", 1), ["b"], "b"),
        (lambda q: q.eq("a", 1).lt("_creationTime", 1), ["a", "_creationTime"], "_creationTime"),
        (lambda q: q.eq("_id", "x").eq("a", 1), ["a", "_id"], "_id"),
        (lambda q: q.eq("a", 1).eq("b", 1).eq("_id", "x"), ["a", "b", "_id"], "_id"),
    ],
)
def test_fields_out_of_order(build, query_fields, first):
    assert error_of(build) == not_in_order(query_fields, first)


def not_indexed(field, listed='"a", "b", "_creationTime"', index="t.by_a_b"):
    return (
        f'The index range included a comparison with "{field}", but {index} with fields '
        f"[{listed}] doesn't index this field. For more information see {DOCS_LINK}."
    )


def test_fields_not_in_the_index():
    assert error_of(lambda q: q.eq("c", 1)) == not_indexed("c")
    assert error_of(lambda q: q.eq("a", 1).lt("a.b", 1)) == not_indexed("a.b")
    # Equalities are checked first, in path order.
    assert error_of(lambda q: q.gt("x", 1).eq("z", 1).eq("c", 1)) == not_indexed("c")
    assert error_of(lambda q: q.eq("a", 1), fields=["_id"]) == not_indexed("a", listed="")
    by_creation_time = ["_creationTime", "_id"]
    assert error_of(lambda q: q.eq("a", 1), fields=by_creation_time) == not_indexed(
        "a", listed='"_creationTime"'
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda q: q.gte("a", 1).gt("a", 2),
            'Already defined lower bound in index range. Can\'t add "a" > 2.0.',
        ),
        (
            lambda q: q.gt("a", 1).gte("b", Int64(2)),
            'Already defined lower bound in index range. Can\'t add "b" >= 2.',
        ),
        (
            lambda q: q.lt("a", 1).lte("a", "z"),
            'Already defined upper bound in index range. Can\'t add "a" <= "z".',
        ),
        (
            # Convex reports the value recorded first.
            lambda q: q.eq("a", 1).eq("a", 2),
            'Already defined equality bound in index range. Can\'t add "a" == 1.0.',
        ),
        (
            lambda q: q.eq("a", None).gt("a", 0),
            'Already defined inequality bound in index range. Can\'t add "a" == null.',
        ),
        (
            lambda q: q.lt("b", 0).eq("b", UNDEFINED),
            'Already defined inequality bound in index range. Can\'t add "b" == undefined.',
        ),
    ],
)
def test_bounds_defined_twice(build, message):
    assert error_of(build) == message


def test_bounds_on_two_fields():
    assert error_of(lambda q: q.gt("a", 1).lt("b", 2)) == (
        "Upper and lower bounds in `range` can only be applied to a single index field. "
        'This query against index t.by_a_b attempted to set a range bound on both "a" and "b". '
        f"Consider using `filter` instead. See {DOCS_LINK} for more info."
    )


def test_range_errors_come_before_index_errors():
    # Splitting (bounds twice) happens before the fields are checked against the index.
    assert error_of(lambda q: q.eq("c", 1).eq("c", 2)).startswith("Already defined equality")


def test_repr():
    assert (
        repr(IndexRangeBuilder().eq("a", 1).lt("b", Int64(2))) == "q.eq('a', 1).lt('b', Int64(2))"
    )


# --- property: the compiled interval agrees with the predicate ----------------

POOL = [
    UNDEFINED,
    None,
    Int64(-1),
    Int64(0),
    Int64(INT64_MAX),
    -0.0,
    0.0,
    1.0,
    2.0,
    math.inf,
    math.nan,
    False,
    True,
    "",
    "a",
    "ab",
    b"\xff",
    [],
    [1.0],
    {"a": None},
]
values = st.sampled_from(POOL)
documents = st.fixed_dictionaries(
    {"a": values, "b": values, "_creationTime": st.sampled_from([1.0, 2.0, 3.0]), "_id": values}
)


@st.composite
def cases(draw):
    """A document and a valid range whose values are often the document's own."""
    document = draw(documents)
    document = {key: value for key, value in document.items() if value is not UNDEFINED}

    def value_for(field):
        return draw(st.one_of(st.just(get_field(document, field)), values))

    eq_count = draw(st.integers(0, len(FIELDS)))
    equalities = [("eq", field, value_for(field)) for field in FIELDS[:eq_count]]
    bounds = []
    if eq_count < len(FIELDS):
        field = FIELDS[eq_count]
        lower = draw(st.sampled_from([None, "gt", "gte"]))
        upper = draw(st.sampled_from([None, "lt", "lte"]))
        bounds = [(op, field, value_for(field)) for op in (lower, upper) if op is not None]
    return document, draw(st.permutations(equalities + bounds))


def satisfies(document, expressions):
    tests = {
        "eq": lambda c: c == 0,
        "gt": lambda c: c > 0,
        "gte": lambda c: c >= 0,
        "lt": lambda c: c < 0,
        "lte": lambda c: c <= 0,
    }
    return all(
        tests[op](compare_values(get_field(document, field), value))
        for op, field, value in expressions
    )


@settings(max_examples=400, deadline=None)
@given(case=cases())
def test_interval_contains_exactly_the_matching_keys(case):
    document, expressions = case
    builder = IndexRangeBuilder()
    for op, field, value in expressions:
        builder = getattr(builder, op)(field, value)
    compiled = compile_index_range(builder, table="t", index_name="i", index_fields=FIELDS)
    key = encode_key(get_field(document, field) for field in FIELDS)
    assert compiled.contains(key) == satisfies(document, expressions)
    if compiled.is_empty():
        assert not compiled.contains(key)

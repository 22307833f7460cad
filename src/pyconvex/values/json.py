"""The JSON encodings of Convex values.

Three formats, as the Convex server has them (``crates/value/src/json``,
``crates/value/src/export.rs``):

``convex_encoded_json`` (:func:`encode_json`, :func:`decode_json`, :func:`dumps`, :func:`loads`)
    Lossless; the client protocol, the HTTP API and pyconvex's storage use it.
    Int64 is ``{"$integer": base64(8 bytes little-endian two's complement)}``,
    bytes ``{"$bytes": base64}``, NaN/±Infinity/-0.0 ``{"$float": base64(8
    bytes little-endian IEEE-754)}``, every other float a JSON number. Every
    bare JSON number decodes as float64 (``1`` is ``1.0``), a ``$float`` for an
    ordinary number is refused, and object keys follow Convex's field-name
    rules (non-control ASCII, at most 1024 characters, no leading ``$``).
    Objects are written with sorted keys, as the Convex server writes them.

``json`` / "clean" (:func:`encode_clean_json`)
    Lossy and one-way: Int64 as a decimal string, bytes as a base64 string,
    NaN and ±Infinity as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``;
    -0.0 stays a number.

``export_json`` (:func:`encode_export_json`, :func:`decode_export_json`,
:func:`dumps_export`, :func:`loads_export`)
    The snapshot-export form: Int64 as a bare JSON integer, finite floats as
    JSON numbers that always carry a ``.`` or an exponent (``123.0``,
    ``-0.0``, ``1e20``), non-finite floats and bytes in the ``$float`` /
    ``$bytes`` wrappers.

Base64 is written in the standard alphabet with ``=`` padding; the decoder
also takes the URL-safe ``-`` and ``_`` and missing padding, like the clients.

Values passed to the encoders should be canonical (see
:func:`pyconvex.values.model.normalize_value`); a plain ``int`` is encoded as
the float64 it stands for. Decoders raise
:class:`~pyconvex.errors.InvalidValueError`. This module does not check size
or nesting limits (see :mod:`pyconvex.values.limits`).
"""

from __future__ import annotations

import binascii
import json as _json
import math
import struct
from collections.abc import Callable
from typing import Any, Final, NoReturn

from pyconvex.errors import InvalidValueError
from pyconvex.values.limits import check_field_names
from pyconvex.values.model import INT64_MAX, INT64_MIN, Int64, Undefined, Value, normalize_value

__all__ = [
    "JSONValue",
    "b64decode",
    "b64encode",
    "decode_export_json",
    "decode_json",
    "dumps",
    "dumps_bytes",
    "dumps_export",
    "encode_clean_json",
    "encode_export_json",
    "encode_json",
    "format_json_float",
    "loads",
    "loads_bytes",
    "loads_export",
]

#: A Python object that :mod:`json` can write (dicts, lists, str, float, int, bool, None).
JSONValue = Any

_pack_f64 = struct.Struct("<d").pack
_unpack_f64 = struct.Struct("<d").unpack
_pack_i64 = struct.Struct("<q").pack
_unpack_i64 = struct.Struct("<q").unpack
_copysign = math.copysign
_b2a = binascii.b2a_base64
_a2b = binascii.a2b_base64
_URLSAFE_TO_STANDARD = str.maketrans("-_", "+/")
_NoneType = type(None)


# --------------------------------------------------------------------------- base64


def b64encode(data: bytes) -> str:
    """Return ``data`` in standard base64 with ``=`` padding."""
    return _b2a(data, newline=False).decode("ascii")


def b64decode(text: str) -> bytes:
    """Decode base64, accepting the URL-safe ``-``/``_`` and missing padding.

    Raises:
        InvalidValueError: ``text`` is not base64.
    """
    try:
        if "-" in text or "_" in text:
            text = text.translate(_URLSAFE_TO_STANDARD)
        missing = -len(text) % 4
        if missing:
            text += "=" * missing
        return _a2b(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise InvalidValueError(f"Invalid base64 string {text!r}.") from None


# --------------------------------------------------------------------------- floats


def _is_plain_float(value: float) -> bool:
    # True for the floats written as bare JSON numbers: finite and not -0.0.
    # ``x - x`` is NaN for NaN and the infinities, 0.0 otherwise.
    return value - value == 0.0 and (value != 0.0 or _copysign(1.0, value) > 0.0)


def _float_wrapper(value: float) -> dict[str, str]:
    return {"$float": b64encode(_pack_f64(value))}


def _shortest_digits(value: float) -> tuple[str, int]:
    """Return ``(digits, exponent)`` with ``abs(value) == int(digits) * 10**exponent``.

    ``digits`` are the shortest that round-trip (what ``repr`` and Rust's ryu
    both produce), without leading or trailing zeros. ``value`` must be finite
    and non-zero.
    """
    text = repr(abs(value))
    mantissa, _, exp_text = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    exponent = (int(exp_text) if exp_text else 0) - len(fraction)
    stripped = digits.rstrip("0")
    return stripped, exponent + len(digits) - len(stripped)


def format_json_float(value: float) -> str:
    """Format a finite float as Convex's server (serde_json / ryu) writes it.

    ``1.0`` → ``1.0``, ``-0.0`` → ``-0.0``, ``1e16`` → ``1e16``, ``1.5e-7`` →
    ``1.5e-7``, ``0.00001`` → ``0.00001``. Python's :func:`repr` differs only in
    writing exponents as ``e+16``/``e-07`` and in switching to exponents below
    1e-4 instead of 1e-5.

    Raises:
        ValueError: ``value`` is NaN or infinite.
    """
    if value - value != 0.0:
        raise ValueError(f"{value!r} has no JSON number form.")
    sign = "-" if _copysign(1.0, value) < 0.0 else ""
    if value == 0.0:
        return sign + "0.0"
    digits, k = _shortest_digits(value)
    length = len(digits)
    kk = length + k  # 10**(kk-1) <= |value| < 10**kk
    if 0 <= k and kk <= 16:
        return f"{sign}{digits}{'0' * k}.0"
    if 0 < kk <= 16:
        return f"{sign}{digits[:kk]}.{digits[kk:]}"
    if -5 < kk <= 0:
        return f"{sign}0.{'0' * -kk}{digits}"
    if length == 1:
        return f"{sign}{digits}e{kk - 1}"
    return f"{sign}{digits[0]}.{digits[1:]}e{kk - 1}"


def _rust_float_display(value: float) -> str:
    # Rust's ``{}`` for f64: plain decimal, never an exponent, "1" for 1.0.
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "inf" if value > 0 else "-inf"
    sign = "-" if _copysign(1.0, value) < 0.0 else ""
    if value == 0.0:
        return sign + "0"
    digits, k = _shortest_digits(value)
    kk = len(digits) + k
    if k >= 0:
        return f"{sign}{digits}{'0' * k}"
    if kk > 0:
        return f"{sign}{digits[:kk]}.{digits[kk:]}"
    return f"{sign}0.{'0' * -kk}{digits}"


# --------------------------------------------------------------------------- encode


def encode_json(value: Value) -> JSONValue:
    """Return the ``convex_encoded_json`` form of ``value`` (fresh containers, sorted keys).

    Raises:
        InvalidValueError: ``value`` is not a Convex value.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is float:
        return value if _is_plain_float(value) else _float_wrapper(value)
    if kind is dict:
        out: dict[str, JSONValue] = {}
        for key in _sorted_keys(value):
            item = value[key]
            if type(item) is not Undefined:
                out[key] = encode_json(item)
        return out
    if kind is list:
        return [encode_json(item) for item in value]
    if kind is Int64:
        return {"$integer": b64encode(_pack_i64(value))}
    if kind is bytes:
        return {"$bytes": b64encode(value)}
    return encode_json(normalize_value(value))


def _sorted_keys(obj: dict[Any, Any]) -> list[str]:
    for key in obj:
        if type(key) is not str:
            raise InvalidValueError(
                f"Object keys must be strings, got {type(key).__name__} {key!r}."
            )
    # Code-point order equals the UTF-8 byte order Convex sorts by.
    return sorted(obj)


def encode_clean_json(value: Value) -> JSONValue:
    """Return the lossy "clean" ``json`` form of ``value`` (sorted keys).

    Int64 → decimal string, bytes → base64 string, NaN/±inf → ``"NaN"``,
    ``"Infinity"``, ``"-Infinity"``; other floats (-0.0 included) stay numbers.

    Raises:
        InvalidValueError: ``value`` is not a Convex value.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is float:
        if value != value:
            return "NaN"
        if value == math.inf:
            return "Infinity"
        if value == -math.inf:
            return "-Infinity"
        return value
    if kind is dict:
        return {
            key: encode_clean_json(value[key])
            for key in _sorted_keys(value)
            if type(value[key]) is not Undefined
        }
    if kind is list:
        return [encode_clean_json(item) for item in value]
    if kind is Int64:
        return str(int(value))
    if kind is bytes:
        return b64encode(value)
    return encode_clean_json(normalize_value(value))


def encode_export_json(value: Value) -> JSONValue:
    """Return the snapshot-export form of ``value`` (sorted keys).

    Int64 → a plain ``int`` (a bare JSON integer), finite floats stay floats
    (so :mod:`json` writes them with a ``.`` or an exponent), non-finite floats
    and bytes use the ``$float`` / ``$bytes`` wrappers. Use :func:`dumps_export`
    for Convex's exact text.

    Raises:
        InvalidValueError: ``value`` is not a Convex value.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is float:
        return value if value - value == 0.0 else _float_wrapper(value)
    if kind is dict:
        return {
            key: encode_export_json(value[key])
            for key in _sorted_keys(value)
            if type(value[key]) is not Undefined
        }
    if kind is list:
        return [encode_export_json(item) for item in value]
    if kind is Int64:
        return int(value)
    if kind is bytes:
        return {"$bytes": b64encode(value)}
    return encode_export_json(normalize_value(value))


# --------------------------------------------------------------------------- decode


def _malformed(key: str, payload: Any) -> str:
    return f"Malformed {key} field: expected a base64 string, got {payload!r}"


def _decode_special(key: str, payload: Any) -> Value:
    """Decode a one-key ``{"$...": payload}`` object."""
    if key == "$bytes":
        if type(payload) is not str:
            raise InvalidValueError(_malformed("$bytes", payload))
        return b64decode(payload)
    if key == "$integer":
        if type(payload) is not str:
            raise InvalidValueError(_malformed("$integer", payload))
        raw = b64decode(payload)
        if len(raw) != 8:
            raise InvalidValueError("Int64 must be exactly eight bytes")
        return Int64(_unpack_i64(raw)[0])
    if key == "$float":
        if type(payload) is not str:
            raise InvalidValueError(_malformed("$float", payload))
        raw = b64decode(payload)
        if len(raw) != 8:
            raise InvalidValueError("Float64 must be exactly eight bytes")
        number: float = _unpack_f64(raw)[0]
        if _is_plain_float(number):
            raise InvalidValueError(
                f"Float64 {_rust_float_display(number)} should be encoded as a number"
            )
        return number
    raise InvalidValueError(f"Field name {key} starts with '$', which is reserved.")


def decode_json(obj: JSONValue) -> Value:
    """Decode a parsed ``convex_encoded_json`` document (as :func:`json.loads` returns it).

    Bare numbers become float64, ``$integer``/``$bytes``/``$float`` objects
    become Int64/bytes/float, and object keys are checked against Convex's
    field-name rules.

    Raises:
        InvalidValueError: ``obj`` is not a valid encoding.
    """
    kind = type(obj)
    if kind is str or kind is bool or obj is None or kind is float:
        return obj
    if kind is int:
        try:
            return float(obj)
        except OverflowError:
            raise InvalidValueError(f"JSON number {obj} is out of range for a float64.") from None
    if kind is list:
        return [decode_json(item) for item in obj]
    if kind is dict:
        if len(obj) == 1:
            (key,) = obj
            if type(key) is str and key.startswith("$"):
                return _decode_special(key, obj[key])
        check_field_names(obj)
        return {key: decode_json(item) for key, item in obj.items()}
    raise InvalidValueError(f"{kind.__name__} {obj!r} is not JSON.")


def _object_hook(obj: dict[str, Any]) -> Value:
    # Called by the C JSON scanner for every object, innermost first, so a
    # special object's payload is already decoded (and must still be a str).
    if len(obj) == 1:
        for key in obj:
            if key.startswith("$"):
                return _decode_special(key, obj[key])
    check_field_names(obj)
    return obj


def _reject_constant(name: str) -> float:
    raise InvalidValueError(f"{name} is not valid JSON; encode it as a $float object.")


def _reject_type(obj: object) -> NoReturn:
    raise InvalidValueError(f"{type(obj).__name__} {obj!r} is not a supported Convex type.")


# JSON integers parse as float64, as in every Convex client and the server.
_decoder = _json.JSONDecoder(
    object_hook=_object_hook, parse_int=float, parse_constant=_reject_constant
)
_scan_once: Callable[[str, int], tuple[Any, int]] = getattr(_decoder, "scan_once")  # noqa: B009


def loads(text: str) -> Value:
    """Parse ``convex_encoded_json`` text into a value (the inverse of :func:`dumps`).

    Raises:
        InvalidValueError: the text is not JSON or not a valid encoding.
    """
    # Calling the scanner directly skips JSONDecoder.decode's whitespace regex
    # on the common path; anything unusual goes through decode for its errors.
    try:
        value, end = _scan_once(text, 0)
    except (StopIteration, _json.JSONDecodeError):
        end = -1
    except RecursionError:
        raise InvalidValueError("JSON value is nested too deeply.") from None
    if end == len(text):
        return value
    try:
        return _decoder.decode(text)
    except _json.JSONDecodeError as exc:
        raise InvalidValueError(f"Invalid JSON: {exc}") from None
    except RecursionError:
        raise InvalidValueError("JSON value is nested too deeply.") from None


def loads_bytes(data: bytes) -> Value:
    """Parse UTF-8 ``convex_encoded_json`` bytes (the inverse of :func:`dumps_bytes`).

    Raises:
        InvalidValueError: the bytes are not UTF-8 JSON or not a valid encoding.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidValueError(f"Invalid UTF-8 in JSON: {exc}") from None
    return loads(text)


# --------------------------------------------------------------------------- dumps

_DROP: Final = object()


def _prepare(value: Value) -> Any:
    """Return ``value`` with Int64, bytes and special floats wrapped for the C encoder.

    Containers are copied only when something inside them changes, so the
    common document (strings, plain floats, booleans) is not copied at all.
    """
    kind = type(value)
    if kind is dict:
        return _prepare_dict(value)
    if kind is list:
        return _prepare_list(value)
    if kind is str or kind is bool or value is None:
        return value
    new = _prepare_scalar(value, kind)
    if new is _DROP:
        raise InvalidValueError("undefined is not a valid Convex value.")
    return new


def _prepare_scalar(value: Any, kind: type) -> Any:
    if kind is float:
        return value if _is_plain_float(value) else _float_wrapper(value)
    if kind is Int64:
        return {"$integer": b64encode(_pack_i64(value))}
    if kind is bytes:
        return {"$bytes": b64encode(value)}
    if kind is Undefined:
        return _DROP
    return _prepare(normalize_value(value))


def _prepare_dict(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] | None = None
    new: Any
    for key, item in value.items():
        kind = type(item)
        if kind is str or kind is bool or kind is _NoneType:
            continue
        if kind is float:
            if item - item == 0.0 and (item != 0.0 or _copysign(1.0, item) > 0.0):
                continue
            new = _float_wrapper(item)
        elif kind is dict:
            new = _prepare_dict(item)
            if new is item:
                continue
        elif kind is list:
            new = _prepare_list(item)
            if new is item:
                continue
        else:
            new = _prepare_scalar(item, kind)
        if out is None:
            out = dict(value)
        if new is _DROP:
            del out[key]
        else:
            out[key] = new
    return value if out is None else out


def _prepare_list(value: list[Any]) -> list[Any]:
    out: list[Any] | None = None
    new: Any
    for index, item in enumerate(value):
        kind = type(item)
        if kind is str or kind is bool or kind is _NoneType:
            continue
        if kind is float:
            if item - item == 0.0 and (item != 0.0 or _copysign(1.0, item) > 0.0):
                continue
            new = _float_wrapper(item)
        elif kind is dict:
            new = _prepare_dict(item)
            if new is item:
                continue
        elif kind is list:
            new = _prepare_list(item)
            if new is item:
                continue
        else:
            new = _prepare_scalar(item, kind)
            if new is _DROP:
                raise InvalidValueError(
                    "undefined is not a valid Convex value (found in an array)."
                )
        if out is None:
            out = list(value)
        out[index] = new
    return value if out is None else out


def _make_encoder() -> Callable[[Any], str]:
    # The C encoder built once, without the circular-reference bookkeeping
    # (Convex values are trees) and without JSONEncoder's per-call setup.
    c_make_encoder = getattr(_json.encoder, "c_make_encoder", None)
    if c_make_encoder is not None:
        encoder = c_make_encoder(
            None,  # markers: no cycle detection
            _reject_type,  # default
            _json.encoder.encode_basestring,  # raw UTF-8, like serde_json
            None,  # indent
            ":",
            ",",
            True,  # sort_keys
            False,  # skipkeys
            False,  # allow_nan
        )

        def encode(obj: Any) -> str:
            return "".join(encoder(obj, 0))

        return encode
    fallback = _json.JSONEncoder(  # pragma: no cover - CPython always has the C encoder
        separators=(",", ":"),
        sort_keys=True,
        allow_nan=False,
        ensure_ascii=False,
        default=_reject_type,
    )
    return fallback.encode  # pragma: no cover


_encode = _make_encoder()


def dumps(value: Value) -> str:
    """Return the compact ``convex_encoded_json`` text of ``value`` (sorted keys).

    ``UNDEFINED`` object fields are left out; non-ASCII text is written as is.

    Raises:
        InvalidValueError: ``value`` is not a Convex value.
    """
    return _encode(_prepare(value))


def dumps_bytes(value: Value) -> bytes:
    """Return :func:`dumps` as UTF-8 bytes (the storage form of documents).

    Raises:
        InvalidValueError: ``value`` is not a Convex value (a lone surrogate included).
    """
    try:
        return _encode(_prepare(value)).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValueError(
            "String is not valid Unicode (it contains a lone surrogate)."
        ) from None


# --------------------------------------------------------------------------- export


def decode_export_json(obj: JSONValue) -> Value:
    """Decode a parsed snapshot-export document (as :func:`json.loads` returns it).

    JSON integers that fit in 64 bits become Int64, other numbers float64; an
    object whose first key starts with ``$`` is read as ``convex_encoded_json``
    (the ``$bytes``/``$float``/``$integer`` wrappers).

    Raises:
        InvalidValueError: ``obj`` is not a valid export encoding.
    """
    kind = type(obj)
    if kind is str or kind is bool or obj is None or kind is float:
        return obj
    if kind is int:
        if INT64_MIN <= obj <= INT64_MAX:
            return Int64(obj)
        try:
            return float(obj)
        except OverflowError:
            raise InvalidValueError(f"JSON number {obj} is out of range for a float64.") from None
    if kind is list:
        return [decode_export_json(item) for item in obj]
    if kind is dict:
        first = next(iter(obj), None)
        if type(first) is str and first.startswith("$"):
            return decode_json(obj)
        check_field_names(obj)
        return {key: decode_export_json(item) for key, item in obj.items()}
    raise InvalidValueError(f"{kind.__name__} {obj!r} is not JSON.")


def dumps_export(value: Value) -> str:
    """Return the export-JSON text of ``value`` exactly as Convex writes it.

    Compact, sorted keys, raw UTF-8, floats formatted by :func:`format_json_float`.

    Raises:
        InvalidValueError: ``value`` is not a Convex value.
    """
    parts: list[str] = []
    _write_export(value, parts)
    return "".join(parts)


_encode_string = _json.encoder.encode_basestring


def _write_export(value: Value, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(_encode_string(value))
    elif kind is float:
        if value - value == 0.0:
            out.append(format_json_float(value))
        else:
            out.append(_encode(_float_wrapper(value)))
    elif kind is bool:
        out.append("true" if value else "false")
    elif value is None:
        out.append("null")
    elif kind is Int64:
        out.append(str(int(value)))
    elif kind is bytes:
        out.append(_encode({"$bytes": b64encode(value)}))
    elif kind is list:
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write_export(item, out)
        out.append("]")
    elif kind is dict:
        out.append("{")
        first = True
        for key in _sorted_keys(value):
            item = value[key]
            if type(item) is Undefined:
                continue
            if not first:
                out.append(",")
            first = False
            out.append(_encode_string(key))
            out.append(":")
            _write_export(item, out)
        out.append("}")
    else:
        _write_export(normalize_value(value), out)


def loads_export(text: str | bytes) -> Value:
    """Parse export-JSON text (one line of a snapshot's ``documents.jsonl``).

    Raises:
        InvalidValueError: the text is not JSON or not a valid export encoding.
    """
    try:
        parsed = _json.loads(text, parse_constant=_reject_constant)
    except (_json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidValueError(f"Invalid JSON: {exc}") from None
    except RecursionError:
        raise InvalidValueError("JSON value is nested too deeply.") from None
    return decode_export_json(parsed)

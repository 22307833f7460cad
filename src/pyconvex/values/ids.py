"""Convex document IDs: the binary layout and the base32 text form.

An ID is, in binary::

    varint(table_number) ‖ internal_id (16 bytes) ‖ footer (2 bytes, little-endian)

where the varint stores 7 bits per byte, low bits first, with the high bit set
on every byte but the last (1 to 5 bytes, since table numbers are u32), and the
footer is the Fletcher-16 checksum (mod 256) of everything before it, XOR the
ID version (0). The text form is that binary in base32 with the lowercase
Crockford alphabet ``0123456789abcdefghjkmnpqrstvwxyz``, bits taken big-endian
in 5-byte groups exactly as RFC 4648 base32 does, with no padding. That gives
31 characters for table numbers below 128, 32 up to 16383 (user tables start
at 10001), and at most 37.

Decoding is strict, as in Convex (``crates/value/src/id_v6.rs``): the text must
re-encode to itself, and failures raise :class:`~pyconvex.errors.InvalidIdError`
with Convex's "Unable to decode ID: ..." messages.

Storage keys documents by :func:`id_binary` (varint + internal id, no footer):
it is shorter than the text, and all IDs of one table share its varint prefix
(the varint is prefix-free, though not in numeric order across lengths).

This module owns the ID format; it does not generate internal ids or know
which table a number names.
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from typing import Final

from pyconvex.errors import InvalidIdError

__all__ = [
    "INTERNAL_ID_LEN",
    "MAX_ID_LEN",
    "MAX_TABLE_NUMBER",
    "MIN_ID_LEN",
    "MIN_TABLE_NUMBER",
    "decode_id",
    "encode_id",
    "id_binary",
    "id_from_binary",
    "id_to_binary",
    "is_id",
]

#: Length of the random part of every ID.
INTERNAL_ID_LEN: Final = 16
#: Table numbers are non-zero u32s.
MIN_TABLE_NUMBER: Final = 1
MAX_TABLE_NUMBER: Final = (1 << 32) - 1
#: Shortest and longest text IDs (1-byte and 5-byte table numbers).
MIN_ID_LEN: Final = 31
MAX_ID_LEN: Final = 37

_VERSION: Final = 0
_FOOTER_LEN: Final = 2

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
# Encoding emits two characters per 10-bit chunk from this table: a Python
# loop over 16 chunks beats the pure-Python ``base64.b32encode``.
_PAIRS: Final = tuple(_ALPHABET[i >> 5] + _ALPHABET[i & 31] for i in range(1024))
# Decoding maps the Crockford alphabet onto the digits ``int(..., 32)`` reads
# and deletes every other byte, so a length change reveals an invalid
# character and the whole ID becomes one integer in two C calls.
_TO_DIGITS = bytes.maketrans(_ALPHABET.encode(), b"0123456789abcdefghijklmnopqrstuv")
_NOT_ALPHABET = bytes(b for b in range(256) if b not in _ALPHABET.encode())


def _encoded_len(nbytes: int) -> int:
    # 8 characters per 5 bytes; a final partial group of 1..4 bytes gives 2, 4, 5 or 7.
    return (8 * nbytes + 4) // 5


#: Text lengths that are a canonical encoding of some byte count.
_CANONICAL_LENGTHS: Final = frozenset(_encoded_len(n) for n in range(64))


def _shifts(nchars: int) -> tuple[int, ...]:
    top = 5 * (nchars + (nchars & 1)) - 10
    return tuple(range(top, -1, -10))


_SHIFTS: Final = {n: _shifts(n) for n in range(MIN_ID_LEN, MAX_ID_LEN + 1)}
_accumulate = itertools.accumulate


def _fletcher16(data: bytes) -> int:
    # Fletcher-16 mod 256: c0 is the running byte sum and c1 the sum of the
    # running sums. Reducing mod 256 only at the end gives the same result, so
    # both sums run in C instead of a Python loop.
    return ((sum(_accumulate(data)) & 0xFF) << 8) | (sum(data) & 0xFF)


@lru_cache(maxsize=4096)
def _varint(table_number: int) -> bytes:
    if not MIN_TABLE_NUMBER <= table_number <= MAX_TABLE_NUMBER:
        raise ValueError(
            f"Table number {table_number} is out of range ({MIN_TABLE_NUMBER}..{MAX_TABLE_NUMBER})."
        )
    out = bytearray()
    n = table_number
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _check_internal_id(internal_id: bytes) -> None:
    if len(internal_id) != INTERNAL_ID_LEN:
        raise ValueError(f"An internal id must be {INTERNAL_ID_LEN} bytes, got {len(internal_id)}.")


def _encode_body(body: bytes) -> str:
    footer = _fletcher16(body) ^ _VERSION
    raw = body + bytes((footer & 0xFF, footer >> 8))
    nchars = _encoded_len(len(raw))
    # Left-align the bits on a 5-bit boundary (and on a 10-bit one for an odd
    # character count, dropping the extra character afterwards).
    odd = nchars & 1
    value = int.from_bytes(raw, "big") << (5 * (nchars + odd) - 8 * len(raw))
    pairs = _PAIRS
    text = "".join([pairs[(value >> shift) & 1023] for shift in _SHIFTS[nchars]])
    return text[:-1] if odd else text


def id_binary(table_number: int, internal_id: bytes) -> bytes:
    """Return the storage form of an ID: ``varint(table_number) ‖ internal_id``.

    Raises:
        ValueError: the table number is not in 1..2**32-1 or the internal id
            is not 16 bytes (programming errors, not user input).
    """
    _check_internal_id(internal_id)
    return _varint(table_number) + internal_id


def encode_id(table_number: int, internal_id: bytes) -> str:
    """Return the text ID of document ``internal_id`` in table ``table_number``.

    >>> encode_id(10001, bytes(range(16)))
    'j57000820c20a1g7104gm2rc1m70ynr8'

    Raises:
        ValueError: the table number is not in 1..2**32-1 or the internal id
            is not 16 bytes.
    """
    _check_internal_id(internal_id)
    return _encode_body(_varint(table_number) + internal_id)


def id_from_binary(binary: bytes) -> str:
    """Return the text ID for a storage key made by :func:`id_binary`.

    Raises:
        ValueError: ``binary`` is not a varint table number followed by 16 bytes.
    """
    table_number, pos = _read_varint(binary)
    if table_number == 0 or len(binary) - pos != INTERNAL_ID_LEN:
        raise ValueError(f"{binary!r} is not a binary document ID.")
    return _encode_body(bytes(binary))


def _read_varint(data: bytes) -> tuple[int, int]:
    """Read a table number varint; return (number, bytes read) or raise ValueError."""
    # Fast paths: system tables take one byte, user tables (10001 and up) two.
    if data and data[0] < 0x80:
        return data[0], 1
    if len(data) > 1 and data[1] < 0x80:
        return (data[0] & 0x7F) | (data[1] << 7), 2
    n = 0
    for i in range(5):
        if i >= len(data):
            raise ValueError("truncated")
        byte = data[i]
        # Convex folds into a u32 with a plain shift, so bits beyond 32 are
        # dropped (the round-trip check then rejects such IDs).
        n |= ((byte & 0x7F) << (7 * i)) & 0xFFFFFFFF
        if byte < 0x80:
            return n, i + 1
    raise ValueError("too large")


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def decode_id(text: str) -> tuple[int, bytes]:
    """Decode a text ID into ``(table_number, internal_id)``.

    Results are cached (the same IDs are decoded over and over: foreign keys,
    ``db.get`` of hot documents); failures are not.

    Raises:
        InvalidIdError: ``text`` is not an ID in its canonical encoding. The
            message is Convex's, e.g. ``Unable to decode ID: Invalid ID length 3``.
    """
    if type(text) is not str:
        raise InvalidIdError(f"Unable to decode ID: expected a string, got {type(text).__name__}")
    return _decode_cached(text)


@lru_cache(maxsize=16384)
def _decode_cached(text: str) -> tuple[int, bytes]:
    # Check the length first so garbage of any size fails fast (as Convex does).
    size = len(text)
    if not MIN_ID_LEN <= size <= MAX_ID_LEN or not text.isascii():
        size = _utf8_len(text)
        if not MIN_ID_LEN <= size <= MAX_ID_LEN:
            raise InvalidIdError(f"Unable to decode ID: Invalid ID length {size}")
        raise InvalidIdError("Unable to decode ID: ID wasn't valid base32")
    digits = text.encode("ascii").translate(_TO_DIGITS, _NOT_ALPHABET)
    if len(digits) != size:
        raise InvalidIdError("Unable to decode ID: ID wasn't valid base32")
    # Like Convex, decode floor(5 * size / 8) bytes and drop the leftover
    # bits; the encoding is canonical only if those bits are zero and the
    # length is what that many bytes encode to (checked last, as Convex does).
    nbytes = 5 * size // 8
    leftover = 5 * size - 8 * nbytes
    value = int(digits, 32)
    binary = (value >> leftover).to_bytes(nbytes, "big")
    canonical = size in _CANONICAL_LENGTHS and not value & ((1 << leftover) - 1)
    try:
        table_number, pos = _read_varint(binary)
    except ValueError:
        raise InvalidIdError("Unable to decode ID: Invalid table number") from None
    if table_number == 0:
        raise InvalidIdError("Unable to decode ID: Invalid table number")
    end = pos + INTERNAL_ID_LEN
    if len(binary) < end + _FOOTER_LEN:
        raise InvalidIdError(f"Unable to decode ID: Invalid ID length {size}")
    expected = _fletcher16(binary[:end]) ^ _VERSION
    footer = binary[end] | (binary[end + 1] << 8)
    if footer != expected:
        # Convex reports a checksum mismatch as a version mismatch.
        raise InvalidIdError(
            f"Unable to decode ID: Invalid ID version {footer} (expected {expected})"
        )
    if len(binary) != end + _FOOTER_LEN or not canonical:
        raise InvalidIdError(f"Unable to decode ID: Invalid ID length {size}")
    return table_number, binary[pos:end]


def id_to_binary(text: str) -> bytes:
    """Decode a text ID straight to its storage form (see :func:`id_binary`).

    Raises:
        InvalidIdError: as :func:`decode_id`.
    """
    table_number, internal_id = decode_id(text)
    return _varint(table_number) + internal_id


def is_id(text: object) -> bool:
    """Return whether ``text`` is a string holding a canonical document ID."""
    if type(text) is not str or not MIN_ID_LEN <= len(text) <= MAX_ID_LEN:
        return False
    try:
        decode_id(text)
    except InvalidIdError:
        return False
    return True

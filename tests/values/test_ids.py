"""Document IDs: Convex's binary layout, base32 text, and strict decoding (protocol.md 8)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings, strategies as st

from pyconvex.errors import InvalidIdError
from pyconvex.values.ids import (
    MAX_TABLE_NUMBER,
    decode_id,
    encode_id,
    id_binary,
    id_from_binary,
    id_to_binary,
    is_id,
)

VECTOR = "j57000820c20a1g7104gm2rc1m70ynr8"
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"

table_numbers = st.integers(1, MAX_TABLE_NUMBER)
internal_ids = st.binary(min_size=16, max_size=16)


# ---------------------------------------------------------------- an independent reference


def reference_encode(binary: bytes) -> str:
    """Append the Fletcher-16 footer and base32 with the Crockford alphabet (via RFC 4648)."""
    c0 = c1 = 0
    for byte in binary:
        c0 = (c0 + byte) % 256
        c1 = (c1 + c0) % 256
    footer = (c1 << 8) | c0
    raw = binary + footer.to_bytes(2, "little")
    standard = base64.b32encode(raw).decode().rstrip("=")
    return standard.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ALPHABET))


def varint(number: int) -> bytes:
    out = bytearray()
    while True:
        if number < 0x80:
            out.append(number)
            return bytes(out)
        out.append((number & 0x7F) | 0x80)
        number >>= 7


# ---------------------------------------------------------------- encoding


def test_protocol_test_vector() -> None:
    assert encode_id(10001, bytes(range(16))) == VECTOR
    assert decode_id(VECTOR) == (10001, bytes(range(16)))


@pytest.mark.parametrize(
    ("table_number", "length"),
    [
        (1, 31),
        (127, 31),
        (128, 32),
        (10001, 32),
        (16383, 32),
        (16384, 34),
        (2**21 - 1, 34),
        (2**21, 36),
        (2**28 - 1, 36),
        (2**28, 37),
        (MAX_TABLE_NUMBER, 37),
    ],
)
def test_lengths_follow_the_varint_size(table_number: int, length: int) -> None:
    text = encode_id(table_number, bytes(16))
    assert len(text) == length
    assert decode_id(text) == (table_number, bytes(16))


@given(table_numbers, internal_ids)
@settings(max_examples=500, deadline=None)
def test_round_trip_and_agreement_with_the_reference(table_number: int, internal: bytes) -> None:
    text = encode_id(table_number, internal)
    assert text == reference_encode(varint(table_number) + internal)
    assert set(text) <= set(ALPHABET)
    assert decode_id(text) == (table_number, internal)
    assert is_id(text)


@given(table_numbers, internal_ids)
@settings(max_examples=200, deadline=None)
def test_binary_form_round_trips(table_number: int, internal: bytes) -> None:
    binary = id_binary(table_number, internal)
    assert binary == varint(table_number) + internal
    text = id_from_binary(binary)
    assert text == encode_id(table_number, internal)
    assert id_to_binary(text) == binary


def test_binary_forms_of_one_table_share_a_prefix() -> None:
    first, second = id_binary(10001, bytes(16)), id_binary(10001, b"\xff" * 16)
    assert first[:2] == second[:2] == varint(10001)
    assert first < second


@pytest.mark.parametrize("table_number", [0, -1, MAX_TABLE_NUMBER + 1])
def test_encoding_refuses_bad_table_numbers(table_number: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        encode_id(table_number, bytes(16))


@pytest.mark.parametrize("internal", [b"", bytes(15), bytes(17)])
def test_encoding_refuses_bad_internal_ids(internal: bytes) -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        encode_id(1, internal)
    with pytest.raises(ValueError, match="16 bytes"):
        id_binary(1, internal)


def test_id_from_binary_refuses_garbage() -> None:
    with pytest.raises(ValueError):
        id_from_binary(b"\x01" + bytes(15))
    with pytest.raises(ValueError):
        id_from_binary(b"\x00" + bytes(16))


# ---------------------------------------------------------------- strict decoding


def _message(text: str) -> str:
    with pytest.raises(InvalidIdError) as info:
        decode_id(text)
    return info.value.message


@pytest.mark.parametrize("text", ["", "abc", VECTOR[:30], "0" * 38, "x" * 100])
def test_wrong_lengths_are_refused_first(text: str) -> None:
    assert _message(text) == f"Unable to decode ID: Invalid ID length {len(text)}"


@pytest.mark.parametrize(
    "text",
    [VECTOR.upper(), VECTOR[:-1] + "i", VECTOR[:-1] + "l", "o" + VECTOR[1:], VECTOR[:-1] + "-"],
)
def test_characters_outside_the_alphabet_are_refused(text: str) -> None:
    assert _message(text) == "Unable to decode ID: ID wasn't valid base32"


def test_non_ascii_text_is_measured_in_utf8_bytes() -> None:
    assert _message("é" * 16) == "Unable to decode ID: ID wasn't valid base32"
    assert _message("é" * 31) == "Unable to decode ID: Invalid ID length 62"


def test_corrupted_checksum_is_refused() -> None:
    corrupted = VECTOR[:-1] + ("9" if VECTOR[-1] != "9" else "8")
    assert _message(corrupted).startswith("Unable to decode ID: Invalid ID version")


def test_every_single_character_substitution_is_refused() -> None:
    for position, original in enumerate(VECTOR):
        for replacement in ALPHABET:
            if replacement != original:
                text = VECTOR[:position] + replacement + VECTOR[position + 1 :]
                assert not is_id(text), text


def test_table_number_zero_is_refused() -> None:
    assert _message(reference_encode(b"\x00" + bytes(16))) == (
        "Unable to decode ID: Invalid table number"
    )


def test_overlong_varint_is_refused() -> None:
    text = reference_encode(b"\xff" * 5 + bytes(14))  # six continuation bytes' worth
    assert len(text) == 34
    assert _message(text) == "Unable to decode ID: Invalid table number"


def test_non_canonical_trailing_bits_are_refused() -> None:
    text = encode_id(1, bytes(16))  # 19 bytes in 31 characters: 3 spare bits
    last = ALPHABET.index(text[-1])
    tampered = text[:-1] + ALPHABET[last | 1]
    assert tampered != text
    assert _message(tampered) == "Unable to decode ID: Invalid ID length 31"


@pytest.mark.parametrize("extra", ["0", "00", "000"])
def test_appended_characters_are_refused(extra: str) -> None:
    assert _message(VECTOR + extra).startswith("Unable to decode ID:")


def test_is_id() -> None:
    assert is_id(VECTOR)
    assert not is_id(VECTOR[:-1])
    assert not is_id(None)
    assert not is_id(123)
    with pytest.raises(InvalidIdError):
        decode_id(123)  # type: ignore[arg-type]

"""NACHA return codes: the whole R01-R85 table and a lenient lookup."""

from __future__ import annotations

import re

import pytest

from bot.nacha import RETURN_CODES, describe_return, normalize_return_code

RESERVED_OR_RETIRED = ["R48", "R49", *(f"R{n}" for n in range(54, 61)), "R63", "R64", "R65"]
RESERVED_OR_RETIRED += ["R66", "R78", "R79"]


def test_every_code_between_r01_and_r85_that_exists() -> None:
    assert all(re.fullmatch(r"R\d\d", code) for code in RETURN_CODES)
    numbers = sorted(int(code[1:]) for code in RETURN_CODES)
    expected = [*range(1, 48), 50, 51, 52, 53, 61, 62, *range(67, 78), *range(80, 86)]
    assert numbers == expected
    assert all(description.strip() for description in RETURN_CODES.values())


@pytest.mark.parametrize("code", RESERVED_OR_RETIRED)
def test_reserved_and_retired_numbers_are_not_codes(code: str) -> None:
    assert code not in RETURN_CODES
    assert describe_return(code) == "unknown return code"


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("R01", "Insufficient funds"),
        ("R02", "Account closed"),
        ("R03", "No account/unable to locate account"),
        ("R04", "Invalid account number"),
        ("R05", "Unauthorized debit to consumer account using corporate SEC code"),
        ("R07", "Authorization revoked by customer"),
        ("R10", "Customer advises not authorized"),
        ("R29", "Corporate customer advises not authorized"),
        ("R85", "Incorrectly coded outbound international payment"),
    ],
)
def test_descriptions(code: str, words: str) -> None:
    assert describe_return(code).startswith(words)


@pytest.mark.parametrize("typed", ["R01", "r01", " R01 ", "\tr 01\n", "R1", "r1"])
def test_lookup_is_lenient_about_case_and_whitespace(typed: str) -> None:
    assert normalize_return_code(typed) == "R01"
    assert describe_return(typed) == "Insufficient funds"


@pytest.mark.parametrize("typed", ["", "   ", "R00", "R86", "R99", "X01", "01", "R001", "R1O"])
def test_unknown_codes_say_so(typed: str) -> None:
    assert normalize_return_code(typed) is None
    assert describe_return(typed) == "unknown return code"

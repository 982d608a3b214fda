"""The card-number guard: every brand in every spelling masked, everything else left alone."""

from __future__ import annotations

import re
import sys
import unicodedata
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.pan import FORMAT, SEPARATORS, brand, has_pan, luhn_valid, mask_pans, random_id
from tests.card_numbers import (
    CVVS,
    KNOWN,
    SPELLED,
    card_numbers,
    check_digit,
    leaked,
    shown_as_its_own,
    spellings,
)

WORDS = st.text(
    st.characters(blacklist_categories=("Nd", "Cs")) | st.sampled_from(" .-/\n"), max_size=40
)
SHORT_NUMBERS = st.text("0123456789", min_size=1, max_size=12)


@settings(max_examples=600)
@given(data=st.data(), before=WORDS, after=WORDS, digits_before=st.booleans())
def test_no_card_number_survives_in_any_spelling(
    data: st.DataObject, before: str, after: str, digits_before: bool
) -> None:
    number = data.draw(card_numbers())
    spelled = data.draw(spellings(number))
    prefix = before + (data.draw(SHORT_NUMBERS) if digits_before else "")
    cvv = data.draw(st.sampled_from(CVVS))
    text = f"{prefix}{spelled}{cvv}{after}"
    masked = mask_pans(text)
    assert not leaked(number, masked), (text, masked)
    assert "••••" in masked
    assert mask_pans(masked) == masked
    if not digits_before:  # digits glued to the card: where it starts cannot be told
        assert shown_as_its_own(number, cvv, masked), (text, masked)


@settings(max_examples=300)
@given(number=card_numbers(), cvv=st.sampled_from([c for c in CVVS if c]))
def test_a_card_is_shown_by_its_own_last_four_when_a_cvv_follows(number: str, cvv: str) -> None:
    """Printed in groups of four (a 19-digit card ends in a group of three) and followed by a CVV
    or an expiry, a card is masked whole even when a shorter start of it passes the Luhn check."""
    spelled = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    if len(number) == 15:
        spelled = f"{number[:4]} {number[4:10]} {number[10:]}"
    masked = mask_pans(f"paid with {spelled}{cvv} thanks")
    kept = {" 12/29": " 12/29", " 12/29 987": " 12/29", " exp 1229 cvv 123": " exp 1229"}
    kept[", CVC: 0421."] = "."
    shown = f"paid with [{brand(number)} •••• {number[-4:]}]{kept.get(cvv, '')} thanks"
    assert masked == shown, (spelled + cvv, masked)


def test_a_19_digit_card_whose_first_16_digits_pass_too() -> None:
    """Found by the audit: masked as the 16, its last three taken for the CVV and the CVV kept."""
    bodies = (f"4{k:017d}" for k in range(1, 1000))
    number = next(n for n in (b + check_digit(b) for b in bodies) if luhn_valid(n[:16]))
    spelled = " ".join(number[i : i + 4] for i in range(0, 19, 4))
    assert mask_pans(f"{spelled} 987") == f"[Visa •••• {number[-4:]}]"
    assert mask_pans(f"{spelled} 12/29 987") == f"[Visa •••• {number[-4:]}] 12/29"


def test_labelled_security_codes_are_dropped() -> None:
    for after, kept in (
        (" (cvv 123)", ""),
        (" #123", ""),
        (" code 123", ""),
        (" exp 1229 cvv 123", " exp 1229"),
        (" exp: 12/29, CVV2: 1234.", " exp: 12/29."),
        (" [CVC 321] ok", " ok"),
        (" security code 321", ""),
    ):
        assert mask_pans(f"4111 1111 1111 1111{after}") == f"[Visa •••• 1111]{kept}", after


def test_every_invisible_and_space_character_is_a_separator() -> None:
    separator = re.compile(f"[{SEPARATORS}]")
    hidden = re.compile(f"[{FORMAT}]")
    for code in range(sys.maxunicode + 1):
        category = unicodedata.category(chr(code))
        if category in ("Cf", "Zs", "Zl", "Zp"):
            assert separator.fullmatch(chr(code)), hex(code)
            assert mask_pans(chr(code).join(["4111", "1111", "1111", "1111"])) == (
                "[Visa •••• 1111]"
            ), hex(code)
        if category == "Cf":
            assert hidden.fullmatch(chr(code)), hex(code)


@settings(max_examples=300)
@given(
    parts=st.lists(st.one_of(WORDS, SHORT_NUMBERS), max_size=12),
)
def test_text_without_a_card_number_is_unchanged(parts: list[str]) -> None:
    text = ", ".join(parts)  # a comma is no separator: no run reaches 13 digits
    assert mask_pans(text) == text
    assert not has_pan(text)


def test_the_spellings_that_got_through() -> None:
    for text in SPELLED:
        masked = mask_pans(text)
        assert not any(leaked(n, masked) for n in KNOWN), (text, masked)
    assert mask_pans("5555 5555 5555 4444 12/29") == "[Mastercard •••• 4444] 12/29"
    assert mask_pans("4012 8888 8888 1881 123") == "[Visa •••• 1881]"
    assert mask_pans("invoice 2 6011111111111117") == "invoice 2 [Discover •••• 1117]"
    assert mask_pans("Amex 3782 822463 10005, cvc: 1234.") == "Amex [Amex •••• 0005]."
    assert mask_pans("refund 125.50 of 4111-1111-1111-1111 on 12/03") == (
        "refund 125.50 of [Visa •••• 1111] on 12/03"
    )


def test_ids_dates_and_amounts_are_left_alone() -> None:
    for text in (
        "txn_0a1b2c3d4e5f6g7h8i9j",
        "1764633600.123456",
        "2026-11-16 15:00 UTC",
        "125.50 USD",
        "4242424242424241"[:12],
        "MAT-1001",
    ):
        assert mask_pans(text) == text


def test_an_id_we_make_never_reads_as_a_card(monkeypatch: pytest.MonkeyPatch) -> None:
    # A uuid4 hex that holds a Visa test number would be masked in the audit log: drawn again.
    card_like = uuid.UUID("4111111111111111abcdefabcdefabcd")
    plain = uuid.UUID("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
    drawn = iter([card_like, plain])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(drawn))
    assert has_pan(card_like.hex)
    assert random_id() == plain.hex


def test_a_processors_id_is_not_a_card_number() -> None:
    # Payrix ids are 23 hex characters; one in ~400 holds a digit run that passes for a card.
    payrix_id = "t1_txn_64a5f4111111111111111ab"
    assert mask_pans(f"lookup {payrix_id}") == f"lookup {payrix_id}"
    assert not has_pan(payrix_id)
    assert mask_pans(f"{payrix_id} 4111 1111 1111 1111") == f"{payrix_id} [Visa •••• 1111]"

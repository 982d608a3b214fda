"""The card-number guard: every brand in every spelling masked, everything else left alone."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.pan import has_pan, mask_pans
from tests.card_numbers import KNOWN, SPELLED, card_numbers, leaked, spellings

WORDS = st.text(
    st.characters(blacklist_categories=("Nd", "Cs")) | st.sampled_from(" .-/\n"), max_size=40
)
SHORT_NUMBERS = st.text("0123456789", min_size=1, max_size=12)


@settings(max_examples=400)
@given(data=st.data(), before=WORDS, after=WORDS, digits_before=st.booleans())
def test_no_card_number_survives_in_any_spelling(
    data: st.DataObject, before: str, after: str, digits_before: bool
) -> None:
    number = data.draw(card_numbers())
    spelled = data.draw(spellings(number))
    prefix = before + (data.draw(SHORT_NUMBERS) if digits_before else "")
    cvv = data.draw(st.sampled_from(["", " 123", " cvv 4567", " 12/29", " 12/29 987"]))
    text = f"{prefix}{spelled}{cvv}{after}"
    masked = mask_pans(text)
    assert not leaked(number, masked), (text, masked)
    assert "••••" in masked
    assert mask_pans(masked) == masked


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

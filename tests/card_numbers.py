"""Card numbers of every brand in every spelling, for the guard's property tests and leak scans."""

from __future__ import annotations

import re

from hypothesis import strategies as st

from bot.pan import SEPARATORS, luhn_valid

# Prefixes and lengths of every brand the guard names (and one it does not).
BRANDS: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "Visa": (("4",), (13, 16, 19)),
    "Mastercard": (("51", "55", "2221", "2720"), (16,)),
    "Amex": (("34", "37"), (15,)),
    "Discover": (("6011", "65", "644", "622126"), (16, 19)),
    "JCB": (("3528", "3589"), (16, 19)),
    "Diners": (("300", "36", "38"), (14, 16)),
    "UnionPay": (("62",), (16, 19)),
    "Maestro": (("50", "56", "58"), (13, 19)),
    "card": (("1",), (15,)),
}
SPACES = [" ", "  ", "\u00a0", "\u2009", "\u202f", "\u3000", "\t", "\n", "\r\n"]
SPACES += ["\u1680", "\u205f", "\u2028", "\u2029"]  # the rest of Zs, Zl and Zp
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]
# Format characters (Cf) outside the usual zero-width ones: tag characters, musical and
# shorthand format controls, the Arabic number sign; and a variation selector.
INVISIBLE += ["\U000e0020", "\U000e0001", "\U0001d173", "\U0001d17a", "\U0001bca0", "\u0600"]
INVISIBLE += ["\U000e0100"]
PUNCTUATION = [".", "-", "/", "_", "\u2013", "\u2014", "\u2212", "\\", "·"]
SEPARATOR_CHOICES = SPACES + INVISIBLE + PUNCTUATION
_SEPARATOR = re.compile(f"[{SEPARATORS}]")


def check_digit(body: str) -> str:
    return next(str(d) for d in range(10) if luhn_valid(body + str(d)))


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(sorted(BRANDS)))
    prefixes, lengths = BRANDS[name]
    prefix = draw(st.sampled_from(prefixes))
    length = draw(st.sampled_from(lengths))
    middle = draw(
        st.text("0123456789", min_size=length - len(prefix) - 1, max_size=length - len(prefix) - 1)
    )
    body = prefix + middle
    return body + check_digit(body)


@st.composite
def spellings(draw: st.DrawFn, number: str) -> str:
    """The number split into groups of any size joined by any run of separators."""
    out, rest = [], number
    while rest:
        size = draw(st.integers(1, 8))
        out.append(rest[:size])
        rest = rest[size:]
    joined = out[0]
    for group in out[1:]:
        run = draw(st.lists(st.sampled_from(SEPARATOR_CHOICES), min_size=0, max_size=3))
        joined += "".join(run) + group
    return joined


# What may follow a card: nothing, CVVs with and without labels, expiries (kept when masked).
CVVS = ["", " 123", " cvv 4567", " 12/29", " 12/29 987", " (cvv 123)", " #123", " code 123"]
CVVS += [" exp 1229 cvv 123", ", CVC: 0421."]
_SHOWN = re.compile(r"\[[A-Za-z]+ •••• (\d{4})\]")


def shown_as_its_own(number: str, cvv: str, masked: str) -> bool:
    """Whether the masked text, where `number` followed by `cvv` was the only digits, shows the
    number once by its own last four (or, when a shorter start of it is a card number too and the
    rest could be its CVV, by that start's: see bot/pan.py) and no longer holds the CVV."""
    shown = _SHOWN.findall(masked)
    starts = {number[:n][-4:] for n in range(13, len(number) + 1) if luhn_valid(number[:n])}
    code = re.sub(r"\D", "", re.sub(r"12/29|1229", "", cvv))
    rest = re.sub(r"\D", "", _SHOWN.sub("", masked)).replace("1229", "")
    return len(shown) == 1 and shown[0] in starts and not (code and rest.endswith(code))


def leaked(number: str, text: str) -> bool:
    """True when the number's digits are still in the text once every separator is removed."""
    return number in _SEPARATOR.sub("", text)


KNOWN = [
    "4111111111111111",
    "5555555555554444",
    "4012888888881881",
    "6011111111111117",
    "378282246310005",
    "4000056655665556",
]
# The spellings the issue found getting through, each of a known number.
SPELLED = [
    "5555 5555 5555 4444 12/29",
    "4012 8888 8888 1881 123",
    "invoice 2 6011111111111117",
    "4111.1111.1111.1111",
    "4111  1111  1111  1111",
    "4111/1111/1111/1111",
    "4111_1111_1111_1111",
    "4111\u00a01111\u00a01111\u00a01111",
    "4111\u200b1111\u200b1111\u200b1111",
    "4111\n1111\n1111\n1111",
    "3782-822463-10005",
    "4000 0566 5566 5556 exp 01/30 cvv 321",
]

"""How many numbers a masked phone number could still be (docs/compliance/masking.md, "Recipients").

For each number given, masks it with :func:`policies.masking.mask_phone` and counts every
way of filling the stars that ``phonenumbers.is_valid_number`` accepts for the number's
country code (a bare number is counted as a Chinese one, ``+86``). Enumerates
``10^hidden`` fillings: six hidden digits take about half a minute.

Run with ``.venv/bin/python -m benchmarks.phone_candidates +85291234567 13812348000``.
"""

from __future__ import annotations

import argparse
import itertools

import phonenumbers

from policies.masking import HIDDEN_DIGIT, mask_phone


def valid_candidates(number: str) -> tuple[str, int, int]:
    """The masked form of ``number``, its hidden digits and the valid numbers it fits."""
    masked = mask_phone(number)
    prefix = "+" + str(phonenumbers.parse(number).country_code) if number.startswith("+") else ""
    shown = masked.removeprefix(prefix)
    country = prefix or "+86"
    stars = [position for position, char in enumerate(shown) if char == HIDDEN_DIGIT]
    valid = 0
    for digits in itertools.product("0123456789", repeat=len(stars)):
        filled = list(shown)
        for position, digit in zip(stars, digits, strict=True):
            filled[position] = digit
        try:
            candidate = phonenumbers.parse(country + "".join(filled))
        except phonenumbers.NumberParseException:
            continue
        valid += phonenumbers.is_valid_number(candidate)
    return masked, len(stars), valid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("numbers", nargs="+", help="E.164 numbers, or bare Chinese mobiles")
    arguments = parser.parse_args()
    print("| stored | shown | hidden | valid numbers left |")
    print("|---|---|---|---|")
    for number in arguments.numbers:
        masked, hidden, valid = valid_candidates(number)
        print(f"| `{number}` | `{masked}` | {hidden} | {valid:,} |")


if __name__ == "__main__":
    main()

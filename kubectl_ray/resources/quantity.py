"""Kubernetes resource quantities (`2`, `500m`, `4Gi`, `1e3`): parse, compare, add, format.

A port of apimachinery's resource.Quantity grammar and canonical String() form, enough for
validating flags and for the resource sums `get` prints.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation

_PATTERN = re.compile(r"^([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$")
GO_PATTERN = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"  # the text kubectl shows in errors

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_BY_EXP = {v: k for k, v in _DECIMAL.items()}
_BINARY_BY_EXP = {v: k for k, v in _BINARY.items()}


class QuantityError(ValueError):
    pass


class Quantity:
    """An exact decimal amount plus the format (binary or decimal SI) it was written in."""

    __slots__ = ("value", "binary")

    def __init__(self, value: Decimal, binary: bool = False) -> None:
        self.value = value
        self.binary = binary

    def __add__(self, other: "Quantity") -> "Quantity":
        return Quantity(self.value + other.value, self.binary)

    def __mul__(self, factor: int) -> "Quantity":
        return Quantity(self.value * factor, self.binary)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quantity) and self.value == other.value

    def __lt__(self, other: "Quantity") -> bool:
        return self.value < other.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r})"

    def __str__(self) -> str:
        return format_quantity(self.value, self.binary)

    def is_zero(self) -> bool:
        return self.value == 0


def parse_quantity(text: object) -> Quantity:
    """Parse a quantity; raises QuantityError with kubectl's wording when it is not one."""
    if isinstance(text, bool) or text is None:
        raise QuantityError(f"quantities must match the regular expression '{GO_PATTERN}'")
    raw = str(text).strip() if isinstance(text, (int, float)) else text
    if not isinstance(raw, str):
        raise QuantityError(f"quantities must match the regular expression '{GO_PATTERN}'")
    match = _PATTERN.match(raw)
    if not match:
        raise QuantityError(f"quantities must match the regular expression '{GO_PATTERN}'")
    number, suffix = match.group(1), match.group(2) or ""
    try:
        amount = Decimal(number)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guarantees a number
        raise QuantityError(str(exc)) from exc
    if suffix in _BINARY:
        return Quantity(amount * (Decimal(1024) ** _BINARY[suffix]), binary=True)
    if suffix[:1] in ("e", "E") and len(suffix) > 1:
        return Quantity(amount.scaleb(int(suffix[1:])))
    return Quantity(amount.scaleb(_DECIMAL[suffix]))


def format_quantity(value: Decimal, binary: bool = False) -> str:
    """Canonical text, as Quantity.String() gives it (`2`, `500m`, `4Gi`, `1536Mi`, `2k`)."""
    if value == 0:
        return "0"
    # Kubernetes keeps nano precision at most and rounds up.
    value = (value * 1_000_000_000).to_integral_value(rounding=ROUND_CEILING) / 1_000_000_000
    if binary and value == value.to_integral_value() and abs(value) >= 1024:
        n, exp = int(value), 0
        while n % 1024 == 0 and exp < 6:
            n //= 1024
            exp += 1
        return f"{n}{_BINARY_BY_EXP.get(exp, '')}"
    for exp in (18, 15, 12, 9, 6, 3, 0, -3, -6, -9):
        scaled = value.scaleb(-exp)
        if scaled == scaled.to_integral_value():
            return f"{int(scaled)}{_DECIMAL_BY_EXP[exp]}"
    return str(value)  # pragma: no cover - nano rounding above makes -9 always integral


def sum_quantities(values: list[Quantity]) -> Quantity:
    total = Quantity(Decimal(0), binary=bool(values and values[0].binary))
    for q in values:
        total = total + q
    return total

"""Kubernetes resource quantities (`2`, `500m`, `4Gi`, `1e3`): parse, compare, add, format.

apimachinery's resource.Quantity grammar, bounded to what Kubernetes represents: a whole number of
milli-units in an int64 (Quantity.MilliValue, MaxMilliValue). A quantity outside that range, or
finer than 1m, is rejected, never rounded: `--worker-cpu 1e999990`, eighty 9s or `0.0001` are errors.
Values are exact Python integers of milli-units, so parsing and formatting stay linear in the text
whatever it holds (a hostile RayCluster in the API reaches this code through `get` tables too).
"""

from __future__ import annotations

import re
from decimal import Decimal

_PATTERN = re.compile(r"^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:([eE])([+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$")
GO_PATTERN = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"  # the text kubectl shows in errors

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_BY_EXP = {v: k for k, v in _DECIMAL.items()}
_BINARY_BY_EXP = {v: k for k, v in _BINARY.items()}
MAX_MILLI = (1 << 63) - 1  # int64, apimachinery's bound for MilliValue
MAX_DIGITS = 40  # significant digits past which no quantity can fit MAX_MILLI (or be a whole milli)
MAX_TEXT = 4096  # a quantity longer than this is not one (checked before the regular expression)


class QuantityError(ValueError):
    pass


class Quantity:
    """An exact amount in milli-units plus the format (binary or decimal SI) it was written in."""

    __slots__ = ("milli", "binary")

    def __init__(self, milli: int, binary: bool = False) -> None:
        self.milli = milli
        self.binary = binary

    @property
    def value(self) -> Decimal:
        """The amount as an exact Decimal (milli-units / 1000)."""
        return Decimal(self.milli).scaleb(-3)

    def __add__(self, other: "Quantity") -> "Quantity":
        return Quantity(self.milli + other.milli, self.binary)

    def __mul__(self, factor: int) -> "Quantity":
        return Quantity(self.milli * factor, self.binary)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quantity) and self.milli == other.milli

    def __lt__(self, other: "Quantity") -> bool:
        return self.milli < other.milli

    def __hash__(self) -> int:
        return hash(self.milli)

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r})"

    def __str__(self) -> str:
        return format_milli(self.milli, self.binary)

    def is_zero(self) -> bool:
        return self.milli == 0


def _format_error() -> QuantityError:
    return QuantityError(f"quantities must match the regular expression '{GO_PATTERN}'")


def parse_quantity(text: object) -> Quantity:
    """Parse a quantity; raises QuantityError with kubectl's wording when it is not one, and says so
    when it is one that Kubernetes cannot hold (beyond int64 milli-units, or finer than 1m)."""
    if isinstance(text, bool) or text is None:
        raise _format_error()
    raw = str(text).strip() if isinstance(text, (int, float)) else text
    if not isinstance(raw, str):
        raise _format_error()
    if len(raw) > MAX_TEXT:
        raise QuantityError(f"a quantity of {len(raw)} characters is not one Kubernetes can hold")
    match = _PATTERN.match(raw)
    if not match or not (match.group(2) or match.group(3)):
        raise _format_error()
    sign, whole, fraction, e_mark, e_value, suffix = match.groups()
    fraction = fraction or ""
    digits = (whole + fraction).lstrip("0")
    exponent = -len(fraction)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    binary = suffix in _BINARY
    if e_mark:
        if len(e_value.lstrip("+-").lstrip("0")) > 6:
            return _bounded(stripped, 10 ** 7 if not e_value.startswith("-") else -(10 ** 7), 0, sign, False)
        exponent += int(e_value)
    elif not binary:
        exponent += _DECIMAL[suffix or ""]
    return _bounded(stripped, exponent, _BINARY.get(suffix or "", 0), sign, binary)


def _bounded(digits: str, exponent: int, power_1024: int, sign: str, binary: bool) -> Quantity:
    """digits x 10^exponent x 1024^power_1024 as milli-units, if Kubernetes can hold it exactly."""
    if not digits:
        return Quantity(0, binary)
    shift = exponent + 3  # to milli-units
    if len(digits) > MAX_DIGITS or shift > MAX_DIGITS:
        raise QuantityError(f"too large: Kubernetes holds quantities up to {MAX_MILLI}m")
    if shift < -(MAX_DIGITS + 20):
        raise QuantityError("finer than 1m: Kubernetes would have to round it")
    amount = int(digits) * 1024 ** power_1024
    if shift >= 0:
        milli = amount * 10 ** shift
    else:
        milli, rest = divmod(amount, 10 ** -shift)
        if rest:
            raise QuantityError("finer than 1m: Kubernetes would have to round it")
    if milli > MAX_MILLI:
        raise QuantityError(f"too large: Kubernetes holds quantities up to {MAX_MILLI}m")
    return Quantity(-milli if sign == "-" else milli, binary)


def format_milli(milli: int, binary: bool = False) -> str:
    """Canonical text, as Quantity.String() gives it (`2`, `500m`, `4Gi`, `1536Mi`, `2k`)."""
    if milli == 0:
        return "0"
    sign = "-" if milli < 0 else ""
    magnitude = abs(milli)
    if binary and magnitude % 1000 == 0 and magnitude >= 1024 * 1000:
        n, exp = magnitude // 1000, 0
        while n % 1024 == 0 and exp < 6:
            n //= 1024
            exp += 1
        return f"{sign}{n}{_BINARY_BY_EXP.get(exp, '')}"
    for exp in (18, 15, 12, 9, 6, 3, 0):
        unit = 10 ** (exp + 3)
        if magnitude % unit == 0:
            return f"{sign}{magnitude // unit}{_DECIMAL_BY_EXP[exp]}"
    return f"{sign}{magnitude}m"


def sum_quantities(values: list[Quantity]) -> Quantity:
    total = Quantity(0, binary=bool(values and values[0].binary))
    for q in values:
        total = total + q
    return total

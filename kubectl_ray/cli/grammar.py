"""kubectl's flag grammar (spf13/pflag v1.0.5, what kubectl 1.32 links) for every command, in one place.

click's parser differs from pflag: it keeps the `=` of `-n=x`, rejects `--yes=false`, has no optional
flag values (`--dry-run` = `--dry-run=unchanged`) and words its errors its own way. Every command
class (PflagCommand, and KubectlCommand/KubectlGroup built on it) therefore reads its arguments with
pflag's rules first and hands click one canonical spelling per flag:

    -n=x  -nx  -n x  --namespace=x  --namespace x    ->  --namespace=x   (the last one given wins)
    -y  -y=true  --yes=1  -Ay (two bools)            ->  --yes
    --yes=false  -y=f                                ->  nothing; yes is False, given on the command line
    --dry-run                                        ->  --dry-run=unchanged (pflag's NoOptDefVal)
    --dry-run server                                 ->  --dry-run=unchanged server  (`server` is an argument)
    --                                               ->  the rest are arguments, untouched

and reports what pflag reports, in its words: `unknown flag: --bogus`, `unknown shorthand flag: 'x'
in -x`, `flag needs an argument: --namespace`, `bad flag syntax: ---x`, `invalid argument "x" for
"-y, --yes" flag: strconv.ParseBool: parsing "x": invalid syntax`. Unlike kubectl, an unknown flag
gets "Did you mean this?" when one is close (cobra's rule for commands: Levenshtein distance <= 2
or a prefix), so `version --bogus` suggests nothing.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import click
from click.core import ParameterSource

NO_OPT_DEFAULT_ATTR = "no_opt_default"  # click.Option attribute: pflag's NoOptDefVal
EXPLICIT_BOOLS_KEY = "kubectl_ray.pflag.bools"  # ctx.meta: bool flags given on the line, with their last value
SUGGESTION_DISTANCE = 2  # cobra's SuggestionsMinimumDistance

_HOLE = object()  # where a bool flag was given, in _Reader.out
_GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")


class FlagError(click.UsageError):
    """A flag the grammar rejects; the message is pflag's."""


class OptionalValueOption(click.Option):
    """A string flag whose value may be left out (`--dry-run` alone), like a pflag flag with NoOptDefVal:
    alone it takes `no_opt_default`; a value must be attached with `=`; the next word is never its value."""

    def __init__(self, *args: Any, no_opt_default: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        setattr(self, NO_OPT_DEFAULT_ATTR, no_opt_default)


def parse_go_bool(text: str) -> bool | None:
    """strconv.ParseBool: None when `text` is not one of Go's spellings."""
    if text in _GO_TRUE:
        return True
    if text in _GO_FALSE:
        return False
    return None


def flag_display(param: click.Option) -> str:
    """How pflag names a flag in `invalid argument` errors: `-r, --replicas` or `--dry-run`."""
    longs = [o for o in param.opts if o.startswith("--")]
    shorts = [o for o in param.opts if not o.startswith("--")]
    if shorts and longs:
        return f"{shorts[0]}, {longs[0]}"
    return (longs or shorts)[0]


class GoInt(click.ParamType):
    """An int flag as pflag parses it (strconv.ParseInt(s, 0, bits)): `010` is 8, `0x10` 16, `1_000` 1000;
    errors in pflag's words."""

    name = "integer"

    def __init__(self, bits: int = 64) -> None:
        self.bits = bits

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value)
        try:
            return parse_go_int(text, self.bits)
        except ValueError as exc:
            where = flag_display(param) if isinstance(param, click.Option) else (param.name if param else "value")
            raise FlagError(f'invalid argument "{text}" for "{where}" flag: strconv.ParseInt: parsing "{text}": {exc}',
                            ctx=ctx) from None


INT32 = GoInt(32)  # pflag's Int32Var, what upstream uses for replicas, hosts and TTLs
INT64 = GoInt(64)  # pflag's IntVar on 64-bit platforms


def parse_go_int(text: str, bits: int = 64) -> int:
    """strconv.ParseInt(text, 0, bits); ValueError("invalid syntax" | "value out of range")."""
    body = text[1:] if text[:1] in ("+", "-") else text
    negative = text[:1] == "-"
    base, digits = 10, body
    if body[:1] == "0":
        prefix = body[1:2].lower()
        if len(body) >= 3 and prefix in ("b", "o", "x"):
            base, digits = {"b": 2, "o": 8, "x": 16}[prefix], body[2:]
        else:
            base, digits = 8, body[1:]
    if not body or not _underscores_ok(body) or (digits == "" and base != 8):
        raise ValueError("invalid syntax")
    plain = digits.replace("_", "")
    allowed = "0123456789abcdef"[:base]
    if any(c.lower() not in allowed for c in plain) or (plain == "" and digits != ""):
        raise ValueError("invalid syntax")
    if len(plain.lstrip("0")) > 64:  # no int64 needs more digits, even in base 2; keeps int() cheap
        raise ValueError("value out of range")
    number = int(plain, base) if plain else 0
    limit = 1 << (bits - 1)
    if number > limit or (number == limit and not negative):
        raise ValueError("value out of range")
    return -number if negative else number


def _underscores_ok(body: str) -> bool:
    """Go's underscoreOK: `_` only between digits (a base prefix counts as a digit)."""
    saw, i = "^", 0
    hexadecimal = False
    if len(body) >= 2 and body[0] == "0" and body[1].lower() in "box":
        saw, i, hexadecimal = "0", 2, body[1].lower() == "x"
    for char in body[i:]:
        if char.isdigit() and char.isascii() or hexadecimal and char.lower() in "abcdef":
            saw = "0"
        elif char == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


@dataclass(frozen=True)
class _Flag:
    param: click.Option
    kind: str  # "bool" | "optional" | "value"

    @property
    def spelling(self) -> str:
        """The one spelling handed to click: the long name when there is one."""
        longs = [o for o in self.param.opts if o.startswith("--")]
        return longs[0] if longs else self.param.opts[0]


def _flag_table(command: click.Command, ctx: click.Context) -> tuple[dict[str, _Flag], dict[str, _Flag]]:
    longs: dict[str, _Flag] = {}
    shorts: dict[str, _Flag] = {}
    for param in command.get_params(ctx):
        if not isinstance(param, click.Option):
            continue
        if param.is_flag and param.is_bool_flag and not param.count and not param.secondary_opts:
            kind = "bool"
        elif getattr(param, NO_OPT_DEFAULT_ATTR, None) is not None:
            kind = "optional"
        else:
            kind = "value"
        flag = _Flag(param, kind)
        for opt in param.opts:
            if opt.startswith("--"):
                longs[opt[2:]] = flag
            elif len(opt) == 2:
                shorts[opt[1]] = flag
    return longs, shorts


class _Reader:
    """One pass over a command's arguments with pflag's rules (flagset.parseArgs)."""

    def __init__(self, command: click.Command, ctx: click.Context, args: list[str]) -> None:
        self.command = command
        self.ctx = ctx
        self.rest = deque(args)
        self.out: list[Any] = []
        self.bools: dict[str, tuple[_Flag, bool, int]] = {}  # name -> (flag, last value, index in out)
        self.longs, self.shorts = _flag_table(command, ctx)
        self.interspersed = ctx.allow_interspersed_args

    def read(self) -> list[str]:
        while self.rest:
            arg = self.rest.popleft()
            if arg == "--":
                self.out.append(arg)
                self.out.extend(self.rest)
                break
            if len(arg) < 2 or arg[0] != "-":
                self.out.append(arg)
                if not self.interspersed:  # a group: the first argument names the subcommand
                    self.out.extend(self.rest)
                    break
                continue
            if arg.startswith("--"):
                self._long(arg)
            else:
                self._shorts(arg)
        return self._with_bools()

    def _long(self, arg: str) -> None:
        body = arg[2:]
        if not body or body[0] in "-=":
            self._fail(f"bad flag syntax: {arg}", arg)
            return
        name, eq, value = body.partition("=")
        flag = self.longs.get(name)
        if flag is None:
            self._fail(f"unknown flag: --{name}{self._suggestion('--' + name)}", arg)
            return
        if eq:
            self._set(flag, value)
        elif flag.kind == "bool":
            self._set(flag, "true")
        elif flag.kind == "optional":
            self._set(flag, getattr(flag.param, NO_OPT_DEFAULT_ATTR))
        elif self.rest:
            self._set(flag, self.rest.popleft())
        else:
            self._fail(f"flag needs an argument: {arg}", arg)

    def _shorts(self, arg: str) -> None:
        shorthands = arg[1:]
        while shorthands:
            char = shorthands[0]
            flag = self.shorts.get(char)
            if flag is None:
                self._fail(f"unknown shorthand flag: {char!r} in -{shorthands}", arg)
                return
            if len(shorthands) > 2 and shorthands[1] == "=":
                self._set(flag, shorthands[2:])
                return
            if flag.kind == "bool":
                self._set(flag, "true")
            elif flag.kind == "optional":
                self._set(flag, getattr(flag.param, NO_OPT_DEFAULT_ATTR))
            elif len(shorthands) > 1:
                self._set(flag, shorthands[1:])
                return
            elif self.rest:
                self._set(flag, self.rest.popleft())
                return
            else:
                self._fail(f"flag needs an argument: {char!r} in -{shorthands}", arg)
                return
            shorthands = shorthands[1:]

    def _set(self, flag: _Flag, value: str) -> None:
        if flag.kind != "bool":
            self.out.append(f"{flag.spelling}={value}" if flag.spelling.startswith("--") else flag.spelling)
            if not flag.spelling.startswith("--"):
                self.out.append(value)
            return
        parsed = parse_go_bool(value)
        if parsed is None:
            self._fail(f'invalid argument "{value}" for "{flag_display(flag.param)}" flag: '
                       f'strconv.ParseBool: parsing "{value}": invalid syntax', value)
            return
        self.bools[flag.param.name or flag.spelling] = (flag, parsed, len(self.out))
        self.out.append(_HOLE)  # the flag goes where it was last given, if true

    def _with_bools(self) -> list[str]:
        """Each bool flag once, where it was last given, when true; false ones left out (and recorded,
        so that parse_args can say they were given)."""
        keep = {index: flag.spelling for flag, value, index in self.bools.values() if value}
        explicit = self.ctx.meta.setdefault(EXPLICIT_BOOLS_KEY, {})
        for flag, value, _ in self.bools.values():
            explicit[flag.param.name] = (flag.param, value)
        return [keep[i] if arg is _HOLE else arg for i, arg in enumerate(self.out) if arg is not _HOLE or i in keep]

    def _suggestion(self, typed: str) -> str:
        candidates = sorted({o for f in [*self.longs.values(), *self.shorts.values()] for o in f.param.opts
                             if o.startswith("--") and o != typed})
        close = suggestions(typed.lstrip("-"), [c[2:] for c in candidates])
        return f". Did you mean this? {', '.join('--' + c for c in close)}" if close else ""

    def _fail(self, message: str, arg: str) -> None:
        if self.ctx.resilient_parsing:  # completion: keep the word and let click ignore it
            self.out.append(arg)
            return
        raise FlagError(message, ctx=self.ctx)


def normalize_args(command: click.Command, ctx: click.Context, args: list[str]) -> list[str]:
    """`args` read with pflag's grammar, respelled so that click's parser reads them the same way."""
    return _Reader(command, ctx, args).read()


def apply_explicit_bools(ctx: click.Context) -> None:
    """After click's parse: bool flags given as false (`--yes=false`) hold False and count as given."""
    for name, (param, value) in ctx.meta.pop(EXPLICIT_BOOLS_KEY, {}).items():
        if not param.expose_value or name is None:
            continue
        ctx.params[name] = value
        ctx.set_parameter_source(name, ParameterSource.COMMANDLINE)


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def suggestions(typed: str, names: list[str]) -> list[str]:
    """cobra's SuggestionsFor: names within Levenshtein distance 2, or that start with what was typed."""
    typed_lower = typed.lower()
    return [name for name in names
            if levenshtein(typed_lower, name.lower()) <= SUGGESTION_DISTANCE or name.lower().startswith(typed_lower)]


class PflagMixin:
    """Reads a command's flags with kubectl's (pflag's) grammar before click parses them."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, normalize_args(self, ctx, args))  # type: ignore[misc]
        apply_explicit_bools(ctx)
        return rest


class PflagCommand(PflagMixin, click.Command):
    """A click command with kubectl's flag grammar."""


class PflagGroup(PflagMixin, click.Group):
    """A click group with kubectl's flag grammar and cobra's answer to an unknown subcommand."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if self.get_command(ctx, name) is None and not ctx.resilient_parsing and not name.startswith("-"):
            raise click.UsageError(unknown_command_message(self, ctx, name), ctx=ctx)
        return super().resolve_command(ctx, args)


def unknown_command_message(group: click.Group, ctx: click.Context, typed: str) -> str:
    """cobra's `unknown command "gte" for "kubectl ray"`, with its suggestions on the same line."""
    names = [n for n in group.list_commands(ctx) if not getattr(group.get_command(ctx, n), "hidden", False)]
    names += [n for n in getattr(group, "suggested_names", ()) if n not in names]
    close = suggestions(typed, names)
    hint = f". Did you mean this? {', '.join(close)}" if close else ""
    return f'unknown command "{typed}" for "{ctx.command_path}"{hint}'

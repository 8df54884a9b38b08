"""The hot commands without click: `get cluster|job|service ...` and `version --client`.

Importing click and building the command tree costs ~20-30 ms, a third of what `kubectl get` takes.
These command lines are read here with kubectl's (pflag's) grammar, from the same flag declarations
the click commands are built from, and run the same code. Anything this reader is not sure of (help,
an unknown or malformed flag, a bad value, another command) returns None and the click path runs,
so every error is still worded by the one grammar (cli/grammar.py). tests/test_fast_path.py runs a
matrix of command lines both ways and compares output, errors and exit codes.
"""

from __future__ import annotations

from collections.abc import Callable  # not typing: this path must not pay for importing it

from kubectl_ray.cli import registry

_GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")
_DEBUG_OPTION = (("--debug",), {"is_flag": True})
_VERSION_OPTIONS: list[tuple[tuple[str, ...], dict[str, object]]] = [
    (("--client", "client_only"), {"is_flag": True}),
    (("-o", "--output"), {}),
]


class _Unsure(Exception):
    """The click path must decide (and word any error)."""


def run(args: list[str]) -> int | None:
    """Run a hot command line and return its exit code; None when the click path must run it."""
    try:
        command = _command(args)
    except _Unsure:
        return None
    if command is None:
        return None
    from kubectl_ray.cli.outcome import guarded

    return guarded(command)


def _command(args: list[str]) -> Callable[[], None] | None:
    if args[0] == "version":
        return _version(args[1:])
    if len(args) < 2 or args[1].startswith("-"):
        return None
    from kubectl_ray.cli.get import listing, ray_objects

    typed, slash, name = args[1].partition("/")
    if slash and (not typed or not name or "/" in name):
        return None
    type_ = ray_objects.OBJECT_TYPES.get(ray_objects.subcommand_name(typed))
    if type_ is None:
        return None
    values, targets = read_flags(args[2:], [*_connection_options(), *listing.LIST_OPTIONS])
    if slash:
        targets.insert(0, name)
    debug = values.pop("debug")
    env = _env(values)
    opts_values = {dest: values.pop(dest) for dest in listing.LIST_FLAGS}

    def get() -> None:
        if debug:
            registry.set_debug(True)
        ray_objects.get_objects(env, type_, tuple(targets), listing.list_options_from(opts_values),
                                ray_objects.object_view(type_))

    return get


def _version(args: list[str]) -> Callable[[], None] | None:
    values, targets = read_flags(args, [*_connection_options(), *_VERSION_OPTIONS])
    output = values["output"]
    if targets or not values["client_only"] or (output is not None and output.lower() not in ("json", "yaml")):
        return None

    def version() -> None:
        import sys

        if values["debug"]:
            registry.set_debug(True)

        from kubectl_ray import __version__

        if output:
            from kubectl_ray.printing import print_objects

            print_objects([{"clientVersion": {"plugin": __version__}}], output.lower())
        else:
            sys.stdout.write(f"kubectl ray plugin version: {__version__}\n")
            sys.stdout.flush()

    return version


def _connection_options() -> list[tuple[tuple[str, ...], dict[str, object]]]:
    return [*registry.CONNECTION_OPTIONS, _DEBUG_OPTION]


def _env(values: dict[str, object]) -> object:
    """The CommandEnv the click path builds: root flags (none here) merged with the command's."""
    from kubectl_ray.env import CommandEnv, flags_from_kwargs
    from kubectl_ray.kube.flags import ConnectionFlags

    return CommandEnv(flags=ConnectionFlags().merged_with(flags_from_kwargs(values)))


# --- kubectl's grammar, without error messages -------------------------------------------------------

def read_flags(args: list[str], options: list[tuple[tuple[str, ...], dict[str, object]]]) -> tuple[dict[str, object], list[str]]:
    """Flag values by destination (click's parameter names and defaults) and the positional arguments,
    read as pflag reads them (cli/grammar.py); _Unsure where pflag or click would report an error."""
    longs: dict[str, tuple[str, str]] = {}
    shorts: dict[str, tuple[str, str]] = {}
    values: dict[str, object] = {}
    for decls, kwargs in options:
        dest, kind = _destination(decls), "bool" if kwargs.get("is_flag") else "multiple" if kwargs.get("multiple") else "value"
        values[dest] = () if kind == "multiple" else kwargs.get("default", False if kind == "bool" else None)
        for opt in decls:
            if opt.startswith("--"):
                longs[opt[2:]] = (dest, kind)
            elif opt.startswith("-") and len(opt) == 2:
                shorts[opt[1]] = (dest, kind)
    positionals: list[str] = []
    rest = list(reversed(args))
    while rest:
        arg = rest.pop()
        if arg == "--":
            positionals.extend(reversed(rest))
            break
        if len(arg) < 2 or arg[0] != "-":
            positionals.append(arg)
        elif arg.startswith("--"):
            _long(arg[2:], longs, values, rest)
        else:
            _shorts(arg[1:], shorts, values, rest)
    return values, positionals


def _destination(decls: tuple[str, ...]) -> str:
    """click's parameter name: the declared one, else the first long flag (else the first flag) in snake case."""
    plain = [d for d in decls if not d.startswith("-")]
    if plain:
        return plain[0]
    longs = [d for d in decls if d.startswith("--")]
    return (longs or list(decls))[0].lstrip("-").replace("-", "_").lower()


def _long(body: str, longs: dict[str, tuple[str, str]], values: dict[str, object], rest: list[str]) -> None:
    name, eq, value = body.partition("=")
    if not body or body[0] in "-=" or name not in longs:
        raise _Unsure  # bad syntax, unknown flag, or --help
    dest, kind = longs[name]
    if eq:
        _set(values, dest, kind, value)
    elif kind == "bool":
        _set(values, dest, kind, "true")
    elif rest:
        _set(values, dest, kind, rest.pop())
    else:
        raise _Unsure


def _shorts(shorthands: str, shorts: dict[str, tuple[str, str]], values: dict[str, object], rest: list[str]) -> None:
    while shorthands:
        if shorthands[0] not in shorts:
            raise _Unsure  # unknown, or -h
        dest, kind = shorts[shorthands[0]]
        if len(shorthands) > 2 and shorthands[1] == "=":
            _set(values, dest, kind, shorthands[2:])
            return
        if kind == "bool":
            _set(values, dest, kind, "true")
        elif len(shorthands) > 1:
            _set(values, dest, kind, shorthands[1:])
            return
        elif rest:
            _set(values, dest, kind, rest.pop())
            return
        else:
            raise _Unsure
        shorthands = shorthands[1:]


def _set(values: dict[str, object], dest: str, kind: str, value: str) -> None:
    if kind == "multiple":
        values[dest] = (*values[dest], value)
    elif kind == "value":
        values[dest] = value
    else:
        parsed = parse_go_bool(value)
        if parsed is None:
            raise _Unsure
        values[dest] = parsed


def parse_go_bool(text: str) -> bool | None:
    """strconv.ParseBool: None when `text` is not one of Go's spellings."""
    if text in _GO_TRUE:
        return True
    if text in _GO_FALSE:
        return False
    return None

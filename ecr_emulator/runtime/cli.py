"""``ecr-emulator serve`` / ``ecr-emulator operations`` (also ``python -m ecr_emulator``).

The flags of ``serve`` are built from the fields of :class:`Settings`, so a new setting needs
no code here.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from dataclasses import fields

from ..settings import SettingError, Settings, env_of, flag_of, kind_of


def _add_setting(parser: argparse.ArgumentParser, f) -> None:
    meta = f.metadata
    kind = kind_of(f)
    flag = flag_of(f.name)
    shown_default = f.default not in ("", -1) and kind is not bool
    env = env_of(f.name) + ((f"={int(not f.default)}") if kind is bool else "")
    text = f"{meta['help']}." + (f" Default {f.default}." if shown_default else "") + f" Env {env}."
    if kind is bool:
        action = "store_false" if flag.startswith("--no-") else "store_true"
        parser.add_argument(flag, dest=f.name, action=action, default=None, help=text)
    elif kind is tuple:
        parser.add_argument(flag, dest=f.name, action="append", default=None,
                            metavar=meta.get("metavar") or "VALUE", help=text + " Repeatable.")
    else:
        metavar = None if meta.get("choices") else (meta.get("metavar") or f.name.upper())
        parser.add_argument(flag, dest=f.name, type=_typed(kind, flag), choices=meta.get("choices"),
                            default=None, metavar=metavar, help=text)


def _typed(kind: type, flag: str):
    def convert(raw: str):
        try:
            return kind(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} expects {kind.__name__}, not {raw!r}") from None

    convert.__name__ = kind.__name__
    return convert


def version() -> str:
    """The installed distribution's version (the package's own when run from a source tree)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("ecr-emulator")
    except PackageNotFoundError:
        from .. import __version__

        return __version__


class _Parser(argparse.ArgumentParser):
    """argparse's parser, with a mistake answered in one line plus a hint instead of the
    whole usage block (which hides the one line that matters)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message}\n(see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ecr-emulator", description="A local, offline stand-in for AWS ECR and ECR Public.")
    parser.add_argument("--version", action="version", version=f"ecr-emulator {version()}")
    commands = parser.add_subparsers(dest="command", metavar="{serve,operations}")
    serve = commands.add_parser("serve", help="serve the ECR control plane and registries",
                                description="Serve the ECR and ECR Public APIs and registries. "
                                            "Every flag also has an ECR_EMULATOR_* variable; the flag wins. "
                                            "Stop the server with Ctrl-C or SIGTERM (with --state-dir it "
                                            "saves the state first).")
    for f in fields(Settings):
        if f.metadata.get("cli", True):
            _add_setting(serve, f)
    commands.add_parser("operations", help="list the implemented operations of each service model")
    return parser


def _operations() -> int:
    from ..awsjson import load_service
    from ..control import ECR, ECR_PUBLIC

    try:
        for registry in (ECR, ECR_PUBLIC):
            names = load_service(registry.service).operation_names
            done = [n for n in names if registry.get(n)]
            print(f"{registry.service}: {len(done)} of {len(names)} operations implemented")
            for name in names:
                print(f"  [{'x' if registry.get(name) else ' '}] {name}")
        sys.stdout.flush()
    except BrokenPipeError:  # `ecr-emulator operations | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


def _unrecognized(parser: argparse.ArgumentParser, command: str | None, extra: list[str]) -> int:
    """One line naming what was not understood (with the nearest flag, for a typo) and a hint."""
    prog = f"ecr-emulator {command}" if command else "ecr-emulator"
    sub = _subparser(parser, command)
    known = [flag for action in sub._actions for flag in action.option_strings]
    first = extra[0].split("=", 1)[0]
    close = difflib.get_close_matches(first, known, n=1) if first.startswith("-") else []
    hint = f" (did you mean {close[0]}?)" if close else ""
    what = "argument" if len(extra) == 1 else "arguments"
    print(f"{prog}: unrecognized {what} {' '.join(extra)}{hint}\n(see {prog} --help)", file=sys.stderr)
    return 2


def _subparser(parser: argparse.ArgumentParser, command: str | None) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command]
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        return _unrecognized(parser, args.command, extra)
    if args.command is None:  # a bare ``ecr-emulator``: what it can do, not an error
        parser.print_help()
        return 0
    if args.command == "operations":
        return _operations()
    options = {k: (tuple(v) if isinstance(v, list) else v) for k, v in vars(args).items() if k != "command"}
    try:
        settings = Settings.from_env(**options)
    except SettingError as error:
        print(f"ecr-emulator: {error}", file=sys.stderr)
        return 2
    from ..app import Emulator
    from .server import serve

    # the one line saying what was saved is printed by the app's close (whichever server runs it)
    Emulator.announce_stop = True
    return serve(settings)

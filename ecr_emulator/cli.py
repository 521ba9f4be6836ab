"""``ecr-emulator serve`` / ``ecr-emulator operations`` (also ``python -m ecr_emulator``).

The flags of ``serve`` are built from the fields of :class:`Settings`, so a new setting needs
no code here.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import fields

from .settings import SettingError, Settings, env_of, flag_of, kind_of


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ecr-emulator",
                                     description="A local, offline stand-in for AWS ECR and ECR Public.")
    commands = parser.add_subparsers(dest="command", required=True)
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
    from .awsjson import load_service
    from .control import ECR, ECR_PUBLIC

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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "operations":
        return _operations()
    options = {k: (tuple(v) if isinstance(v, list) else v) for k, v in vars(args).items() if k != "command"}
    try:
        settings = Settings.from_env(**options)
    except SettingError as error:
        print(f"ecr-emulator: {error}", file=sys.stderr)
        return 2
    from .server import serve

    return serve(settings)

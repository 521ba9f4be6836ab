"""``ecr-emulator serve`` / ``ecr-emulator operations`` (also ``python -m ecr_emulator``)."""

from __future__ import annotations

import argparse
import os
import sys

from .settings import SERVERS, URI_STYLES, Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ecr-emulator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the ECR control plane and registry on one port")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1; env ECR_EMULATOR_HOST)")
    serve.add_argument("--port", type=int, help="port (default 5000; env ECR_EMULATOR_PORT)")
    serve.add_argument("--account", help="default 12-digit account (env ECR_EMULATOR_ACCOUNT)")
    serve.add_argument("--region", help="default region (env ECR_EMULATOR_REGION)")
    serve.add_argument("--uri-style", choices=URI_STYLES, help="repositoryUri form (env ECR_EMULATOR_URI_STYLE)")
    serve.add_argument("--no-registry-auth", dest="registry_auth", action="store_false", default=None,
                       help="accept registry requests without credentials (env ECR_EMULATOR_REGISTRY_AUTH=0)")
    serve.add_argument("--server", choices=SERVERS, help="HTTP server (env ECR_EMULATOR_SERVER)")
    serve.add_argument("--threads", type=int, help="worker threads (env ECR_EMULATOR_THREADS)")
    serve.add_argument("--no-access-log", dest="access_log", action="store_false", default=None,
                       help="do not log one line per request (env ECR_EMULATOR_ACCESS_LOG=0)")

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
    options = {k: v for k, v in vars(args).items() if k != "command"}
    try:
        settings = Settings.from_env(**options)
    except ValueError as error:
        print(f"ecr-emulator: {error}", file=sys.stderr)
        return 2
    from .server import serve

    serve(settings)
    return 0

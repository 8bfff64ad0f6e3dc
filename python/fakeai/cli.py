"""The ``fakeai`` command: ``fakeai server [--port ...] [--workers ...]``."""

from __future__ import annotations

import argparse
import sys

from fakeai import __version__
from fakeai.settings import Settings, knob_type


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fakeai",
        description="A simulated inference server that speaks the OpenAI API.",
    )
    parser.add_argument("--version", action="version", version=f"fakeai {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    server = commands.add_parser(
        "server",
        help="Run the server.",
        description="Run the server. Every option can also be set by its FAKEAI_* environment variable; "
        "flags win over the environment.",
    )
    for f in Settings.knobs():
        meta = f.metadata
        server.add_argument(
            meta["flag"],
            dest=f.name,
            type=knob_type(f),
            choices=meta["choices"],
            default=None,
            help=f"{meta['help']} [env {Settings.env_name(f.name)}; default {f.default}]".replace("%", "%%"),
        )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        flags = {k: v for k, v in vars(args).items() if k != "command" and v is not None}
        settings = settings.replace(**flags)
    except ValueError as e:
        sys.exit(f"fakeai: {e}")
    if args.command == "server":
        from fakeai.server import serve

        serve(settings)


if __name__ == "__main__":
    main()

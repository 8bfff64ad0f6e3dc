"""The ``fakeai`` command: ``fakeai server [--port ...] [--workers ...]``, ``fakeai simulate ...``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import Any

from fakeai import __version__
from fakeai.settings import Settings, kind_of


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
        description="Run the server. Every option can also be set by its FAKEAI_* environment variable or "
        "in the --config file; flags win over the environment, which wins over the file.",
    )
    for f in Settings.knobs():
        add_option(server, f)
    from fakeai.simulate import add_parser

    add_parser(commands)
    return parser


def add_option(parser: argparse.ArgumentParser, f: Any, typed: bool = True) -> None:
    """The flag of one :class:`Settings` field, with its help, environment variable and default.
    ``typed=False`` takes the value as text (the caller parses it with :func:`fakeai.settings.parse`)."""
    meta = f.metadata
    kind = kind_of(f)
    shown = ",".join(f.default) if kind is tuple else f.default
    help = f"{meta['help']} [env {Settings.env_name(f.name)}; default {shown if shown not in ('', None) else 'none'}]"
    help = help.replace("%", "%%")
    if kind is bool:
        parser.add_argument(
            meta["flag"], dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=help
        )
    elif kind is tuple:
        parser.add_argument(meta["flag"], dest=f.name, action="append", default=None, help=help)
    else:
        parser.add_argument(
            meta["flag"],
            dest=f.name,
            type=kind if typed else str,
            choices=meta["choices"] if typed else None,
            default=None,
            nargs="+" if meta["many"] else None,
            help=help,
            metavar=None if typed else f.name.upper(),
        )


def _flag_value(f: Any, value: Any) -> Any:
    """A parsed flag as the field holds it: repeated flags a tuple, a ``many`` flag one string."""
    if isinstance(value, list):
        return " ".join(value) if f.metadata["many"] else tuple(x for x in value if x)
    return value


def settings_from(flags: dict[str, Any], environ: Mapping[str, str] = os.environ) -> Settings:
    """Defaults < the ``--config`` scenario file < ``FAKEAI_*`` environment < ``flags``."""
    from fakeai.gateway.scenario import Scenario, settings_with

    fields = {f.name: f for f in Settings.knobs()}
    flags = {k: _flag_value(fields[k], v) for k, v in flags.items() if v is not None}
    config = str(flags.get("config") or environ.get(Settings.env_name("config"), ""))
    if config:  # workers read it again, whatever their working directory
        config = flags["config"] = os.path.abspath(config)
    base = Settings(config=config)
    if config:
        base = settings_with(Scenario.load(config), base)
    return Settings.from_env(environ, base).replace(**flags)


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command == "simulate":
        from fakeai.simulate import run

        sys.exit(run(args))
    try:
        settings = settings_from({k: v for k, v in vars(args).items() if k != "command"})
        from fakeai.context import ServerContext

        ServerContext.check(settings)
    except ValueError as e:
        sys.exit(f"fakeai: {e}")
    if args.command == "server":
        from fakeai.runtime.server import serve

        serve(settings)


if __name__ == "__main__":
    main()

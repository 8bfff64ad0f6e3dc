"""The ``fakeai`` command: ``fakeai server [--port ...] [--workers ...]``, ``fakeai simulate ...``."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping
from typing import Any, NoReturn

from fakeai import __version__
from fakeai.extras import MissingExtra
from fakeai.runtime.output import closed_stdout_exits
from fakeai.settings import GROUPS, Settings, kind_of

_FLAG = re.compile(r"--[a-z0-9][a-z0-9-]*|FAKEAI_[A-Z0-9_]+")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are short: the error, then the help line of the option it
    names (not the whole usage block), and where to find the rest."""

    server: _Parser

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n{self.explain(message)}")

    def explain(self, message: str) -> str:
        """The help line of the first option ``message`` names, and a pointer to ``--help``."""
        flags = {Settings.env_name(f.name): f.metadata["flag"] for f in Settings.knobs()}
        for flag in _FLAG.findall(message):
            action = self._option_string_actions.get(flags.get(flag, flag))
            if action is not None and action.help != argparse.SUPPRESS:
                formatter = self._get_formatter()
                formatter.add_argument(action)
                return f"{formatter.format_help()}{self.pointer()}"
        return self.pointer()

    def pointer(self) -> str:
        """Where the options are listed: ``fakeai`` itself has none, its commands have them."""
        if self.prog == "fakeai":
            return "(fakeai server --help and fakeai simulate --help list every option)\n"
        return f"({self.prog} --help lists every option)\n"


def integer(text: str) -> int:
    return int(text)


def number(text: str) -> float:
    return float(text)


_TYPES: dict[type, Any] = {int: integer, float: number, str: str}


def shown_default(f: Any) -> str:
    """A knob's default as ``--help`` (and the README) writes it: on/off, a comma-separated list, or
    the knob's ``unset`` text for an empty or None default."""
    kind, value = kind_of(f), f.default
    if kind is bool:
        return "on" if value else "off"
    if kind is tuple:
        value = ",".join(value)
    return f.metadata["unset"] if value in (None, "") else str(value)


def _add_server_options(server: argparse.ArgumentParser) -> None:
    """Every :class:`Settings` knob as an option, in one section per group."""
    sections = {group: server.add_argument_group(f"{group} options") for group in GROUPS}
    for f in Settings.knobs():
        add_option(sections[f.metadata["group"]], f)


def _parser() -> _Parser:
    """The ``fakeai`` parser; ``.server`` is the parser of its ``server`` command."""
    parser = _Parser(
        prog="fakeai",
        description="A simulated inference server that speaks the OpenAI API.",
        epilog="'fakeai server' serves on http://127.0.0.1:8000 (OpenAI base URL /v1, dashboard /dashboard); "
        "'fakeai server --help' and 'fakeai simulate --help' list each command's options.",
    )
    parser.add_argument("--version", action="version", version=f"fakeai {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    server = commands.add_parser(
        "server",
        help="Run the server.",
        usage="fakeai server [OPTIONS]",
        description="Run the server. Every option can also be set by its FAKEAI_* environment variable or "
        "in the --config file; flags win over the environment, which wins over the file. On/off options "
        "take --x / --no-x; repeatable ones take one value per flag (comma-separated in the environment).",
    )
    _add_server_options(server)
    parser.server = server
    from fakeai.simulate import add_parser

    add_parser(commands)
    return parser


def add_option(
    parser: argparse.ArgumentParser | Any,
    f: Any,
    typed: bool = True,
    text: tuple[str, str] | None = None,
) -> None:
    """The flag of one :class:`Settings` field, with its help, environment variable and default.
    ``typed=False`` takes the value as text (the caller parses it with :func:`fakeai.settings.parse`);
    ``text``: ``(help, default)`` written instead of the knob's (a command where its words do not apply)."""
    meta = f.metadata
    kind = kind_of(f)
    env = Settings.env_name(f.name)
    about, default = text or (meta["help"], shown_default(f))
    help = f"{about} (default: {default}; env {env})".replace("%", "%%")
    if kind is bool:
        parser.add_argument(
            meta["flag"], dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=help
        )
    elif kind is tuple:  # one value per flag, so the metavar is singular (--api-key API_KEY)
        metavar = meta["flag"].removeprefix("--").upper().replace("-", "_")
        parser.add_argument(
            meta["flag"], dest=f.name, action="append", default=None, metavar=metavar, help=help
        )
    else:
        choices = meta["choices"] if typed else None
        parser.add_argument(
            meta["flag"],
            dest=f.name,
            type=_TYPES[kind] if typed else str,
            # a choice '' (unset) is left to Settings to check, so that help never lists it
            choices=choices if choices and "" not in choices else None,
            metavar=(
                "{" + ",".join(c for c in choices if c) + "}"
                if choices and "" in choices
                else (None if typed else f.name.upper())
            ),
            default=None,
            nargs="+" if meta["many"] else None,
            help=help,
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
    with closed_stdout_exits():  # `fakeai ... | head`: no BrokenPipeError traceback
        _command(argv)


def _command(argv: list[str] | None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "simulate":
        from fakeai.simulate import run

        sys.exit(run(args))
    server = parser.server
    try:
        settings = settings_from({k: v for k, v in vars(args).items() if k != "command"})
        from fakeai.context import ServerContext

        ServerContext.check(settings)
    except (ValueError, MissingExtra) as e:
        server.exit(2, f"fakeai server: error: {e}\n{server.explain(str(e))}")
    from fakeai.runtime.server import serve

    serve(settings)


if __name__ == "__main__":
    main()

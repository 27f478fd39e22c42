"""Base of the `xsender:*` sysadmin commands: one clear line and a non-zero exit on bad input, `--json` output."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from xsender.errors import DomainError


def positive_int(value: str) -> int:
    """argparse type for counts; rejects '-3', 'ten' and '1.5' with one clear line."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} must not be negative")
    return number


def credit_amount(value: str) -> int:
    """argparse type for plan credits: a whole number, -1 meaning unlimited."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < -1:
        raise argparse.ArgumentTypeError(f"{value!r}: use -1 for unlimited or a number of credits")
    return number


class XSenderCommand(BaseCommand):
    """Subclasses implement `run(**options) -> (text, data)`; the change runs in one transaction."""

    json_option = True

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        def one_line_error(message: str) -> NoReturn:
            if not parser.called_from_command_line:
                raise CommandError(f"Error: {message}")
            sys.stderr.write(f"{subcommand}: error: {message} (see --help)\n")
            sys.exit(2)

        parser.error = one_line_error  # type: ignore[method-assign]
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        if self.json_option:
            parser.add_argument("--json", action="store_true", help="Print one JSON object (for scripts).")
        self.add_command_arguments(parser)

    def add_command_arguments(self, parser: CommandParser) -> None:
        pass

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with transaction.atomic():
                text, data = self.run(**options)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if options.get("json"):
            self.stdout.write(json.dumps(data, default=str))
        else:
            self.stdout.write(text)

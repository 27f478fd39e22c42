import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from gateways.transfer import import_settings
from xsender.commands import XSenderCommand
from xsender.errors import ValidationFailed


class Command(XSenderCommand):
    help = "Apply a document written by xsender:settings:export (all or nothing; '-' reads standard input)."

    def add_command_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")

    def run(self, **options: Any) -> tuple[str, dict[str, Any]]:
        try:
            text = Path("/dev/stdin" if options["file"] == "-" else options["file"]).read_text()
            document = json.loads(text)
        except OSError as exc:
            raise ValidationFailed.single("file", f"Cannot read {options['file']}: {exc.strerror}.") from None
        except json.JSONDecodeError as exc:
            raise ValidationFailed.single(
                "file", f"{options['file']} is not JSON ({exc.msg}, line {exc.lineno})."
            ) from None
        counts = import_settings(document=document)
        return "Imported " + ", ".join(f"{n} {k}" for k, n in counts.items()) + ".", counts

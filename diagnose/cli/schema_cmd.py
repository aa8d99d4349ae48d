"""`netpoll-diagnose schema findings|features|rule`: the published JSON Schemas (schemas/*.json)."""
from __future__ import annotations

from typing import Annotated

import typer

from ..errors import UsageError
from ..rules import SCHEMAS, schema_text


def schema_command(
    kind: Annotated[str, typer.Argument(help="findings (the JSON report), features (features --json) or rule "
                                        "(one rule file document)", show_default=False)],
) -> None:
    """Print the JSON Schema of the findings JSON, the features JSON or a rule file document."""
    if kind not in SCHEMAS:
        raise UsageError(f"unknown schema {kind!r} (one of: {', '.join(SCHEMAS)})")
    typer.echo(schema_text(kind), nl=False)


def register(app: typer.Typer) -> None:
    app.command("schema")(schema_command)

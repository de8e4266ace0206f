"""Docs that cannot drift: the schema page is generated, every command and source is documented."""

from __future__ import annotations

import re

import pytest
import typer.main

from ingest.schema import docs_markdown
from ingest.sources import SOURCES
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_schema_page_is_generated_from_the_code() -> None:
    page = (ROOT / "docs" / "schema.md").read_text()
    assert page == docs_markdown(), "regenerate: python -m ingest.schema > docs/schema.md"


def _commands() -> dict[str, object]:
    import traces_cli

    group = typer.main.get_command(traces_cli.app)
    return dict(group.commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_has_help_with_an_example_and_a_readme_line(name: str) -> None:
    command = _commands()[name]
    help_text = command.help or ""  # type: ignore[attr-defined]
    assert help_text.strip(), f"`traces {name}` has no help"
    assert f"traces {name}" in help_text, f"`traces {name} --help` shows no example"
    assert re.search(rf"`traces {name}\b", README), f"README does not mention `traces {name}`"


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_source_has_a_readme_row_and_a_test(name: str) -> None:
    assert re.search(rf"^\| `{name}` \|", README, re.M), f"README sources table lacks {name}"
    module = SOURCES[name].read.__module__.rsplit(".", 1)[-1]
    test = ROOT / "tests" / "sources" / f"test_{module}.py"
    assert test.is_file(), f"ingest/sources/{module}.py has no {test.name}"
    assert module in test.read_text(), f"{test.name} does not use {module}"


def test_readme_has_exactly_two_setup_commands() -> None:
    block = re.search(r"## Quick start\n.*?```(?:sh|bash)\n(.*?)```", README, re.S)
    assert block, "README needs a '## Quick start' section with one shell block"
    commands = [line for line in block.group(1).splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2, commands
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci, ".ci/run must call the README's test command"

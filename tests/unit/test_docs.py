"""The README documents every setting and the two commands."""

from __future__ import annotations

import re

from pydantic import AliasChoices

from parley.config import Settings
from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def variable_names() -> list[str]:
    names = []
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.append(str(alias.choices[0]))
        else:
            names.append(f"PARLEY_{field_name.upper()}")
    return names


def test_every_setting_is_in_the_readme_configuration_table() -> None:
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", README, re.MULTILINE))
    missing = [name for name in variable_names() if name not in documented]
    assert not missing, f"document these in README.md's configuration table: {missing}"


def test_the_readme_gives_the_two_commands() -> None:
    assert "make dev" in README
    assert "make test" in README


def test_ci_runs_make_test() -> None:
    assert "make test" in (REPO / ".ci" / "run").read_text()


DOCUMENTS = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").glob("*.md"))]


def _anchor(heading: str) -> str:
    # GitHub's: lower case, punctuation dropped, spaces to hyphens.
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_between_the_docs_points_inside_the_repository_and_at_a_heading() -> None:
    broken = []
    for document in DOCUMENTS:
        for target in re.findall(r"\]\(([^)\s]+)\)", document.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path, _, anchor = target.partition("#")
            linked = (document.parent / path).resolve() if path else document
            if REPO.resolve() not in linked.parents or not linked.exists():
                broken.append(f"{document.name}: {target}")
                continue
            headings = re.findall(r"^#+ (.+)$", linked.read_text(), re.MULTILINE)
            if anchor and anchor not in {_anchor(heading) for heading in headings}:
                broken.append(f"{document.name}: {target} (no such heading)")
    assert broken == []

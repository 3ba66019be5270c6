"""The user documentation: README.md as a short front door, and README.md with docs/*.md rendering
as written. Every Markdown table parses (same number of cells in every row, no blank line inside),
every relative link and anchor resolves, the rules the README names exist, and no user document
narrates how the project was made. Plain text checks, no network, well under a second."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers.paths import REPO

README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
USER_DOCS = [README, *DOCS]
MAX_README_LINES = 200
HISTORY_WORDS = [
    r"\bsessions?\b",
    r"\bissues? #?\d+",
    r"\blater issues\b",
    r"\bearlier sessions\b",
]
FENCE = re.compile(r"^\s*(```|~~~)")
SEPARATOR_CELL = re.compile(r"^\s*:?-+:?\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
RULE_DEFINITION = re.compile(r"^\s*(?:rule|checkpoint)\s+(\w+)\s*:|^\s*use rule \w+ as (\w+)", re.M)


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the lines outside fenced code blocks."""
    out, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            out.append((number, line))
    return out


def split_cells(row: str) -> list[str]:
    """The cells of a table row as GitHub splits them: on every `|` not escaped as `\\|`, code
    spans included (a pipe inside backticks still ends a cell)."""
    row = row.strip()
    cells = re.split(r"(?<!\\)\|", row)
    if row.startswith("|"):
        cells = cells[1:]
    if re.search(r"(?<!\\)\|$", row):
        cells = cells[:-1]
    return [cell.strip() for cell in cells]


def is_separator(row: str) -> bool:
    cells = split_cells(row)
    return bool(cells) and all(SEPARATOR_CELL.match(cell) for cell in cells)


def tables(text: str) -> list[list[tuple[int, str]]]:
    """Each table (header, separator and body rows, with line numbers), in order."""
    found, lines, i = [], prose_lines(text), 0
    while i < len(lines):
        number, line = lines[i]
        following = lines[i + 1] if i + 1 < len(lines) else (0, "")
        if line.lstrip().startswith("|") and following[0] == number + 1:
            if is_separator(following[1]):
                table, i = [lines[i], following], i + 2
                while i < len(lines) and lines[i][1].lstrip().startswith("|"):
                    if lines[i][0] != table[-1][0] + 1:
                        break
                    table.append(lines[i])
                    i += 1
                found.append(table)
                continue
        i += 1
    return found


def table_problems(text: str) -> list[str]:
    """What would not render as a table: rows whose cell count differs from the header's, and `|`
    lines outside any table (e.g. the rows after a blank line in the middle of a table)."""
    problems, in_table = [], set()
    for table in tables(text):
        in_table.update(number for number, _ in table)
        width = len(split_cells(table[0][1]))
        for number, row in table[1:]:
            if len(split_cells(row)) != width:
                problems.append(
                    f"line {number}: {len(split_cells(row))} cells, the header has {width}"
                )
    for number, line in prose_lines(text):
        if line.lstrip().startswith("|") and number not in in_table:
            problems.append(
                f"line {number}: a table row outside any table (a blank line inside a table, "
                "or a header without its separator row): renders as raw pipes"
            )
    return problems


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = CODE_SPAN.sub(lambda m: m.group(2), heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for _, line in prose_lines(text):
        match = HEADING.match(line)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            out.add(base if count == 0 else f"{base}-{count}")
    return out


def link_problems(path: Path) -> list[str]:
    """Relative links (and their #anchors) of a Markdown file that point at nothing."""
    text = path.read_text()
    problems = []
    for number, line in prose_lines(text):
        for target in LINK.findall(CODE_SPAN.sub("", line)):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                continue  # http:, https:, mailto: ...
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            if not linked.exists():
                problems.append(f"{path.name}:{number}: {target} does not exist")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text()):
                problems.append(f"{path.name}:{number}: {target}: no heading #{anchor}")
    return problems


def history_problems(text: str) -> list[str]:
    """Words that narrate how the project was made (code blocks included)."""
    return [
        f"line {number}: {match.group(0)!r}"
        for number, line in enumerate(text.splitlines(), start=1)
        for pattern in HISTORY_WORDS
        for match in re.finditer(pattern, line, re.I)
    ]


def section(text: str, heading: str) -> str:
    """The text under a `## heading`, up to the next heading of the same level."""
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"README.md has no '## {heading}' section"
    return match.group(1)


def defined_rules() -> set[str]:
    sources = [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]
    return {
        name
        for source in sources
        for match in RULE_DEFINITION.finditer(source.read_text())
        for name in match.groups()
        if name
    }


def rules_named_in(table: list[tuple[int, str]]) -> list[str]:
    """The rule names (code spans that are identifiers) in a table's `rule` column."""
    header = [cell.lower() for cell in split_cells(table[0][1])]
    assert "rule" in header, f"the table has no 'rule' column: {header}"
    column = header.index("rule")
    return [
        span
        for _, row in table[2:]
        for _, span in CODE_SPAN.findall(split_cells(row)[column])
        if re.fullmatch(r"[A-Za-z_]\w*", span)
    ]


# ----- the checkers themselves catch what they are for -----


def test_table_checker_catches_a_blank_line_inside_a_table():
    good = "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n"
    broken = "| a | b |\n|---|---|\n| 1 | 2 |\n\n| 3 | 4 |\n"
    assert table_problems(good) == []
    assert len(tables(good)) == 1 and len(tables(good)[0]) == 4
    assert any("outside any table" in p for p in table_problems(broken))


def test_table_checker_counts_cells_as_github_does():
    assert table_problems("| a | b |\n|---|---|\n| 1 | 2 | 3 |\n")  # one cell too many
    assert table_problems("| a | b |\n|---|---|\n| `x | y` |\n") == []  # 2 cells, as rendered
    assert table_problems("| a | b |\n|---|---|\n| `x \\| y` |\n")  # escaped: 1 cell
    assert table_problems("| a | b |\n| 1 | 2 |\n")  # no separator row: not a table
    assert table_problems("```\n| not | a table\n```\n") == []  # code blocks are not tables


def test_link_and_history_checkers_find_problems(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title here\n[ok](page.md#title-here) [bad](missing.md) [no](#nowhere)\n")
    problems = link_problems(page)
    assert len(problems) == 2 and "missing.md" in problems[0] and "nowhere" in problems[1]
    assert history_problems("Added in session 5, see issue 12 and later issues.\n")
    assert history_problems("Measured 2026-12-03 on 2 cores; the issue is the cache.\n") == []
    assert slug("Face inversion (thesis chapter 2; `src/a.py`)") == (
        "face-inversion-thesis-chapter-2-srcapy"
    )


# ----- the documentation -----


def test_readme_is_a_front_door_of_at_most_200_lines():
    n = len(README.read_text().splitlines())
    assert n <= MAX_README_LINES, f"README.md has {n} lines; move detail to docs/"


@pytest.mark.parametrize("path", USER_DOCS, ids=lambda p: p.name)
def test_every_table_parses(path):
    text = path.read_text()
    assert table_problems(text) == [], f"{path.name}: {table_problems(text)}"


def test_the_documents_have_tables():
    # The table tests above would pass vacuously if table detection broke.
    assert len(tables(README.read_text())) >= 2
    assert sum(len(tables(path.read_text())) for path in DOCS) >= 10


@pytest.mark.parametrize("path", USER_DOCS, ids=lambda p: p.name)
def test_every_relative_link_resolves(path):
    assert link_problems(path) == []


@pytest.mark.parametrize("path", USER_DOCS, ids=lambda p: p.name)
def test_no_project_history_words(path):
    assert history_problems(path.read_text()) == [], path.name


def test_readme_links_every_docs_page():
    linked = {
        (README.parent / target.partition("#")[0]).resolve()
        for _, line in prose_lines(README.read_text())
        for target in LINK.findall(line)
    }
    assert [p.name for p in DOCS if p.resolve() not in linked] == []


def test_readme_keeps_the_two_commands():
    quick = section(README.read_text(), "Quick start (two commands)")
    block = re.search(r"```bash\n(.*?)```", quick, re.S)
    assert block, "the quick start has no bash block"
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert commands == ["make run", "make test"]


def test_rules_in_what_you_get_exist():
    what = tables(section(README.read_text(), "What you get"))
    assert what, "the 'What you get' section has no table"
    named = rules_named_in(what[0])
    assert len(named) >= 15, named
    missing = sorted(set(named) - defined_rules())
    assert missing == [], f"not a rule in Snakefile or workflow/rules/*.smk: {missing}"

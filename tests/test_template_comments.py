"""A Django template comment {# … #} ends on its own line: one that runs on is shown on the page as text (the
dashboard's filter partial once showed its own note to every reader). Longer notes use {% comment %}."""

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def test_no_template_comment_runs_past_its_line():
    unclosed = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "{#" in line and "#}" not in line.rsplit("{#", 1)[1]
    ]
    assert unclosed == []

"""The README stays true to the code: the taxonomy table is the generated one."""

from pathlib import Path

from wrl.requirements import taxonomy_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_taxonomy_table_is_current():
    text = README.read_text()
    begin, end = "<!-- taxonomy:begin -->\n", "\n<!-- taxonomy:end -->"
    embedded = text[text.index(begin) + len(begin) : text.index(end)]
    assert embedded == taxonomy_markdown(), "regenerate the README table with wrl.requirements.taxonomy_markdown()"

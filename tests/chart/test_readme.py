"""Every value is documented, and each chart's README.md matches its values.yaml."""

from __future__ import annotations

import pytest

from tests.chart import readme

CHARTS = {chart.name: chart for chart in readme.documented_charts()}


@pytest.mark.parametrize("chart", sorted(CHARTS))
def test_every_value_has_a_doc_comment(chart):
    values = CHARTS[chart] / "values.yaml"
    missing = readme.undocumented(values.read_text())
    assert not missing, f"values without a `# --` comment in {values}: {missing}"


def test_undocumented_keys_are_found():
    text = "# -- documented\na: 1\nb:\n  # -- documented too\n  c: 2\n  d: 3\n"
    assert readme.undocumented(text) == ["b.d"]


def test_doc_comments_continue_and_document_subtrees():
    text = "# Section.\nres:\n  # -- Limits of\n  # split.\n  split:\n    cpu: 1\n"
    assert readme.value_docs(text) == [readme.ValueDoc("res.split", "Limits of split.")]
    assert readme.undocumented(text) == []


@pytest.mark.parametrize("chart", sorted(CHARTS))
def test_readme_is_in_sync_with_values(chart):
    path = CHARTS[chart] / "README.md"
    assert path.read_text() == readme.expected_readme(CHARTS[chart]), (
        f"{path} is out of date: run `make golden` and commit it"
    )

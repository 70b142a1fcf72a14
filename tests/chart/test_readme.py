"""Every value is documented, and charts/log-count/README.md matches values.yaml."""

from __future__ import annotations

from tests.chart import readme


def test_every_value_has_a_doc_comment():
    missing = readme.undocumented(readme.VALUES_FILE.read_text())
    assert not missing, f"values without a `# --` comment in {readme.VALUES_FILE}: {missing}"


def test_undocumented_keys_are_found():
    text = "# -- documented\na: 1\nb:\n  # -- documented too\n  c: 2\n  d: 3\n"
    assert readme.undocumented(text) == ["b.d"]


def test_doc_comments_continue_and_document_subtrees():
    text = "# Section.\nres:\n  # -- Limits of\n  # split.\n  split:\n    cpu: 1\n"
    assert readme.value_docs(text) == [readme.ValueDoc("res.split", "Limits of split.")]
    assert readme.undocumented(text) == []


def test_readme_is_in_sync_with_values():
    assert readme.README_FILE.read_text() == readme.expected_readme(), (
        f"{readme.README_FILE} is out of date: run `make golden` and commit it"
    )

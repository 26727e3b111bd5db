"""Instructions Markdown is rendered with an allow-list; confidence labels follow the project's scale."""

from frontend.rendering import markdown_safe
from frontend.workspace_config import confidence_labels


def test_markdown_keeps_formatting_and_neutralises_html():
    html = str(
        markdown_safe(
            "# Rules\n\nBe **kind**.\n\n<script>alert(1)</script>\n\n[x](javascript:alert(2)) <img src=x onerror=alert(3)>"
        )
    )
    assert "<h1>Rules</h1>" in html
    assert "<strong>kind</strong>" in html
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html  # shown as text, not dropped silently
    assert "javascript:" not in html


def test_markdown_links_are_nofollow():
    html = str(markdown_safe("see https://example.org/guide"))
    assert 'href="https://example.org/guide"' in html and 'rel="nofollow"' in html


def test_confidence_labels_on_the_default_scale():
    labels = confidence_labels(low=1, high=9)
    assert labels[1] == "A much better" and labels[9] == "B much better"
    assert labels[5] == "Equal"
    assert labels[4] == "A slightly better" and labels[6] == "B slightly better"
    assert list(labels) == list(range(1, 10))


def test_confidence_labels_on_an_even_scale_have_no_middle():
    labels = confidence_labels(low=1, high=4)
    assert labels == {1: "A much better", 2: "A slightly better", 3: "B slightly better", 4: "B much better"}

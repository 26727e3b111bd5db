"""The ORM's Choice enum takes its values from the one definition in labeling.stats.choices."""

from labeling.models import Choice
from labeling.stats.choices import BOTH_BAD, CHOICE_CODES, CHOICES, PREFERENCE_CHOICES


def test_the_enum_holds_exactly_the_canonical_choices_in_code_order():
    assert Choice.values == list(CHOICES) == ["a", "b", "tie", "both_bad"]
    assert [CHOICE_CODES[c] for c in CHOICES] == [0, 1, 2, 3]
    assert set(PREFERENCE_CHOICES) == set(CHOICES) - {BOTH_BAD}
    assert Choice.BOTH_BAD.label == "Both bad"

import json

import pytest

from rewards.data import (
    PreferenceExample,
    load_preferences,
    preferences_from_hh_rlhf,
    preferences_hash,
    save_preferences,
)


def test_round_trip_and_hash(tmp_path):
    examples = [PreferenceExample("p", "a", "b"), PreferenceExample("q", "c", "d", margin=0.5)]
    save_preferences(tmp_path / "x.jsonl", examples)
    assert load_preferences(tmp_path / "x.jsonl") == examples
    assert preferences_hash(examples) != preferences_hash(examples[::-1])


@pytest.mark.parametrize(
    "line,message",
    [
        ("{not json", "not valid JSON"),
        ('{"prompt": "p", "chosen": "a"}', "rejected"),
        ('{"prompt": "p", "chosen": "a", "rejected": "b", "margin": "big"}', "margin"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_bad_lines_name_the_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prompt": "p", "chosen": "a", "rejected": "b"}\n' + line + "\n")
    with pytest.raises(ValueError, match=f"bad.jsonl:2: .*{message}"):
        load_preferences(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_preferences(tmp_path / "none.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(ValueError, match="no preference examples"):
        load_preferences(tmp_path / "empty.jsonl")


def test_hh_rlhf_split_at_last_shared_assistant_turn(tmp_path):
    rows = [
        {
            "chosen": "\n\nHuman: hi\n\nAssistant: yo\n\nHuman: help?\n\nAssistant: sure",
            "rejected": "\n\nHuman: hi\n\nAssistant: yo\n\nHuman: help?\n\nAssistant: no",
        },
        {"chosen": "\n\nHuman: a\n\nAssistant: b", "rejected": "\n\nHuman: z"},
    ]
    (tmp_path / "hh.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    examples, skipped = preferences_from_hh_rlhf(tmp_path / "hh.jsonl")
    assert skipped == 1
    assert examples == [PreferenceExample("Human: hi\n\nAssistant: yo\n\nHuman: help?\n\nAssistant:", "sure", "no")]

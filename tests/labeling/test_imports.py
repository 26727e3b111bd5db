"""Imports: both pair formats, HH-RLHF splitting, line-numbered errors, atomicity and idempotence."""

import gzip
import json

import pytest

from common.errors import DomainError
from labeling.models import Pair, Policy, PolicyKind, Prompt, Sample
from labeling.services.imports import ImportFileError, pairs_import, prompts_import, split_hh_dialogue
from tests.conftest import SHARED_DATA, pair_lines

pytestmark = pytest.mark.django_db


def hh_lines(n: int) -> list[str]:
    with gzip.open(SHARED_DATA / "hh-rlhf-harmless-dev.jsonl.gz", "rt") as handle:
        return [next(handle) for _ in range(n)]


def test_split_hh_dialogue_takes_everything_up_to_the_last_assistant_turn():
    chosen = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: insult me\n\nAssistant: No, I won't."
    rejected = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: insult me\n\nAssistant: You fool."
    prompt, a, b = split_hh_dialogue(chosen, rejected)
    assert prompt == "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: insult me\n\nAssistant:"
    assert (a, b) == ("No, I won't.", "You fool.")


def test_hh_rlhf_import_of_real_data_builds_pairs_with_the_shared_prompt(make_project):
    project = make_project(pairs=0)
    lines = hh_lines(50)
    result = pairs_import(project=project, lines=lines, gold=True)
    assert result.pairs_created == Pair.objects.filter(project=project).count() > 0
    for raw, pair in zip(lines[:10], Pair.objects.filter(project=project).order_by("id")[:10]):
        row = json.loads(raw)
        prompt, chosen, rejected = split_hh_dialogue(row["chosen"], row["rejected"])
        pair = Pair.objects.get(project=project, prompt__text=prompt, sample_a__text__in=[chosen, rejected])
        gold_text = pair.sample_a.text if pair.gold_choice == "a" else pair.sample_b.text
        assert gold_text == chosen
    # The chosen answer is not always shown first in canonical order.
    assert {p.gold_choice for p in Pair.objects.filter(project=project)} == {"a", "b"}


def test_plain_format_records_policies_and_gold(make_project):
    project = make_project(pairs=0)
    result = pairs_import(project=project, lines=pair_lines(6, gold_every=3))
    assert (result.lines, result.pairs_created, result.prompts_created, result.samples_created) == (6, 6, 6, 12)
    assert set(Policy.objects.filter(project=project).values_list("name", flat=True)) == {"policy-one", "policy-two"}
    assert Pair.objects.filter(project=project, is_gold=True).count() == 2


def test_reimporting_the_same_file_creates_no_duplicates(make_project):
    project = make_project(pairs=0)
    pairs_import(project=project, lines=pair_lines(5))
    again = pairs_import(project=project, lines=pair_lines(5))
    assert (again.pairs_created, again.pairs_existing, again.prompts_created, again.samples_created) == (0, 5, 0, 0)
    assert Pair.objects.filter(project=project).count() == 5


def test_a_file_with_errors_imports_nothing_and_names_lines_and_fields(make_project):
    project = make_project(pairs=0)
    lines = pair_lines(3) + [
        "not json",
        json.dumps({"prompt": "p", "response_a": "x"}),
        json.dumps({"prompt": "p", "response_a": "x", "response_b": "y", "gold_choice": "maybe"}),
        json.dumps({"chosen": "no assistant turn", "rejected": "none either"}),
    ]
    with pytest.raises(ImportFileError) as caught:
        pairs_import(project=project, lines=lines)
    errors = {(e["line"], e["field"]) for e in caught.value.extra["errors"]}
    assert errors == {(4, "(line)"), (5, "response_b"), (6, "gold_choice"), (7, "chosen/rejected")}
    assert "line 5: response_b: is missing" in caught.value.message
    assert Pair.objects.filter(project=project).count() == 0
    assert Prompt.objects.filter(project=project).count() == 0


def test_empty_file_is_an_error(make_project):
    with pytest.raises(ImportFileError, match="no records"):
        pairs_import(project=make_project(pairs=0), lines=["", "  "])


def test_prompts_import_with_references_creates_human_reference_samples(make_project):
    project = make_project(pairs=0)
    fables = (SHARED_DATA / "fables.jsonl").read_text().splitlines()
    result = prompts_import(project=project, lines=fables)
    assert result.prompts_created == len(fables) == 50
    assert result.samples_created == 50
    policy = Policy.objects.get(project=project, name="human-reference")
    assert policy.kind == PolicyKind.HUMAN_REFERENCE
    first = json.loads(fables[0])
    prompt = Prompt.objects.get(project=project, text=first["text"])
    assert prompt.metadata["title"] == first["title"]
    assert Sample.objects.get(prompt=prompt, policy=policy).text == first["reference"]
    assert prompts_import(project=project, lines=fables).prompts_created == 0


def test_prompts_import_rejects_bad_metadata():
    with pytest.raises(DomainError):
        prompts_import(project=None, lines=[json.dumps({"text": "x", "metadata": [1]})])


def test_split_hh_dialogue_when_an_answer_contains_further_turns():
    shared = "\n\nHuman: Are drag queens men?\n\nAssistant: No.\n\nHuman: Isn't that drag kings?\n\nAssistant:"
    chosen = shared + " No, men who do that are drag queens.\n\nHuman: Ok.\n\nAssistant: Glad to help."
    rejected = shared + " A drag king is the opposite."
    prompt, a, b = split_hh_dialogue(chosen, rejected)
    assert prompt == shared
    assert a.endswith("Glad to help.") and b == "A drag king is the opposite."


def test_skip_invalid_imports_the_valid_lines_of_the_real_file_and_reports_the_rest(make_project):
    project = make_project(pairs=0)
    with gzip.open(SHARED_DATA / "hh-rlhf-harmless-dev.jsonl.gz", "rt") as handle:
        lines = handle.read().splitlines()
    with pytest.raises(ImportFileError, match="line 61: chosen/rejected: a final Assistant turn is empty"):
        pairs_import(project=project, lines=lines)
    assert Pair.objects.filter(project=project).count() == 0
    result = pairs_import(project=project, lines=lines, skip_invalid=True)
    assert [e["line"] for e in result.details["skipped"]] == [61, 725]
    assert result.pairs_created + result.pairs_existing == 1798
    for raw in lines[:5]:
        row = json.loads(raw)
        prompt, chosen, rejected = split_hh_dialogue(row["chosen"], row["rejected"])
        assert prompt.endswith("\n\nAssistant:") and row["rejected"].startswith(prompt)
        pair = Pair.objects.get(project=project, prompt__text=prompt, sample_a__text__in=[chosen, rejected])
        assert {pair.sample_a.text, pair.sample_b.text} == {chosen, rejected}

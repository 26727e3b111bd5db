import pytest

from rewards.layout import encode_prompt_response, prompt_ids_fit
from training.loading import load_tokenizer
from training.sampling import format_prompt

TEMPLATE = "Summarise the following text in one sentence.\n\n{text}"


@pytest.fixture(scope="module")
def tokenizer(tiny_base):
    return load_tokenizer(tiny_base)


def _ids(tokenizer, text):
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def test_layout_is_prompt_then_response_then_eos(tokenizer):
    encoded = encode_prompt_response(tokenizer, "the fox", "ran away", template="Say: {text}", max_length=256)
    prompt_ids = _ids(tokenizer, format_prompt(tokenizer, "the fox", "Say: {text}"))
    response_ids = _ids(tokenizer, "ran away")
    assert encoded.input_ids == prompt_ids + response_ids + [tokenizer.eos_token_id]
    assert not encoded.prompt_truncated and not encoded.response_truncated


def test_long_prompt_is_cut_inside_its_text_so_the_template_stays_whole(tokenizer):
    text = " ".join(f"word{i}" for i in range(80))
    full = encode_prompt_response(tokenizer, text, "fox", template=TEMPLATE, max_length=1000)
    cut = encode_prompt_response(tokenizer, text, "fox", template=TEMPLATE, max_length=60)
    assert cut.prompt_truncated and not cut.response_truncated and not full.prompt_truncated
    assert len(cut.input_ids) <= 60
    # Same layout as a short prompt: the user header and instruction open it, the assistant header ends it.
    head, tail = format_prompt(tokenizer, "\x00", TEMPLATE).split("\x00")
    decoded = tokenizer.decode(cut.input_ids)
    assert decoded.startswith(head) and decoded.endswith(tail + "fox" + tokenizer.eos_token)
    kept_text = decoded[len(head) : -len(tail + "fox" + tokenizer.eos_token)]
    assert kept_text and text.endswith(kept_text)  # the text lost its start, kept its end
    assert full.input_ids[-4:] == cut.input_ids[-4:]


def test_prompt_ids_fit_cuts_only_when_needed_and_refuses_a_budget_below_the_template(tokenizer):
    short = format_prompt(tokenizer, "a fox", TEMPLATE)
    ids, truncated = prompt_ids_fit(tokenizer, "a fox", template=TEMPLATE, max_tokens=200)
    assert ids == _ids(tokenizer, short) and not truncated
    for budget in (40, 47, 61):
        ids, truncated = prompt_ids_fit(tokenizer, "lion and mouse " * 40, template=TEMPLATE, max_tokens=budget)
        assert truncated and len(ids) <= budget
        assert tokenizer.decode(ids).startswith(format_prompt(tokenizer, "\x00", TEMPLATE).split("\x00")[0])
    with pytest.raises(ValueError, match="leave no room"):
        prompt_ids_fit(tokenizer, "lion " * 40, template=TEMPLATE, max_tokens=3)


def test_overlong_response_keeps_eos_and_some_prompt(tokenizer):
    cut = encode_prompt_response(tokenizer, "the fox", "lion " * 100, template="{text}", max_length=32)
    assert cut.response_truncated and len(cut.input_ids) == 32
    assert cut.input_ids[-1] == tokenizer.eos_token_id
    head, tail = format_prompt(tokenizer, "\x00", "{text}").split("\x00")
    decoded = tokenizer.decode(cut.input_ids)
    assert decoded.startswith(head) and tail + "lion" in decoded  # the template survives around the cut prompt

import pytest

from rewards.layout import encode_prompt_response
from training.loading import load_tokenizer
from training.sampling import format_prompt


@pytest.fixture(scope="module")
def tokenizer(tiny_base):
    return load_tokenizer(tiny_base)


def test_layout_is_prompt_then_response_then_eos(tokenizer):
    encoded = encode_prompt_response(tokenizer, "the fox", "ran away", template="Say: {text}", max_length=256)
    prompt_ids = tokenizer(format_prompt(tokenizer, "the fox", "Say: {text}"), add_special_tokens=False)["input_ids"]
    response_ids = tokenizer("ran away", add_special_tokens=False)["input_ids"]
    assert encoded.input_ids == prompt_ids + response_ids + [tokenizer.eos_token_id]
    assert not encoded.prompt_truncated and not encoded.response_truncated


def test_prompt_is_cut_from_the_left(tokenizer):
    full = encode_prompt_response(tokenizer, "one two three " * 20, "fox", template="{text}", max_length=1000)
    cut = encode_prompt_response(tokenizer, "one two three " * 20, "fox", template="{text}", max_length=20)
    assert cut.prompt_truncated and not cut.response_truncated
    assert len(cut.input_ids) == 20
    assert cut.input_ids == full.input_ids[-20:]  # the end (assistant header + response + EOS) survives


def test_overlong_response_keeps_eos_and_some_prompt(tokenizer):
    cut = encode_prompt_response(tokenizer, "the fox", "lion " * 100, template="{text}", max_length=32)
    assert cut.response_truncated and len(cut.input_ids) == 32
    assert cut.input_ids[-1] == tokenizer.eos_token_id

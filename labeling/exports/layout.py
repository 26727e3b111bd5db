"""How a preference row's prompt and responses are written for the trainer that reads them.

The chat layout is Arbiter's own (rewards/layout.py: format_prompt(prompt) + response + EOS), so a model trained
from the export sees the context Arbiter's reward model and PPO see. Pure Python; the tokenizer is passed in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rewards.data import HH_ASSISTANT

HH_HUMAN = "\n\nHuman:"
_HH_TURN = re.compile(r"\n\n(Human|Assistant):")
# A plain-text join (TRL concatenates prompt + chosen) needs a boundary the prompt does not already end with.
BARE_SEPARATOR = "\n\n"
HH_SEPARATOR = " "  # HH-RLHF writes "Assistant: answer"

Message = dict[str, str]


def is_hh_dialogue(prompt: str) -> bool:
    """An HH-RLHF dialogue prefix as the importer stores it: Human turn first, ending on an open Assistant turn."""
    return prompt.startswith(HH_HUMAN) and prompt.rstrip().endswith(HH_ASSISTANT.strip())


def hh_messages(prompt: str) -> list[Message]:
    """The dialogue's turns as chat messages; the final open Assistant turn is left for the response."""
    parts = _HH_TURN.split(prompt)
    # parts: ["", "Human", " text", "Assistant", " text", ..., "Assistant", ""]
    messages = []
    for role, content in zip(parts[1::2], parts[2::2]):
        messages.append({"role": "user" if role == "Human" else "assistant", "content": content.strip()})
    if messages and messages[-1]["role"] == "assistant" and not messages[-1]["content"]:
        messages.pop()
    return messages


def response_separator(prompt: str) -> str:
    """What a bare prompt needs before a response so that prompt + response reads as the dialogue meant."""
    if prompt.endswith((" ", "\n")):
        return ""
    return HH_SEPARATOR if is_hh_dialogue(prompt) else BARE_SEPARATOR


@dataclass(frozen=True)
class PromptLayout:
    """`kind` is chat, bare or stored (see options.PROMPT_LAYOUTS); `tokenizer` renders chat prompts."""

    kind: str
    template: str = "{text}"
    tokenizer: Any = None  # a transformers tokenizer with a chat template; needed for chat strings only

    def prompt_text(self, prompt: str) -> str:
        if self.kind != "chat":
            return prompt
        if self.tokenizer is None:
            raise ValueError("the chat layout needs a tokenizer with a chat template")
        from training.sampling import format_prompt  # transformers: imported only by exports that render chat

        return format_prompt(self.tokenizer, prompt, self.template)

    def response_text(self, prompt: str, response: str) -> str:
        return response_separator(prompt) + response if self.kind == "bare" else response

    def prompt_messages(self, prompt: str) -> list[Message]:
        """TRL / OpenRLHF conversational prompt: HH dialogues as their turns, else one user message that holds
        the instruction template (chat layout) or the stored text (bare, stored)."""
        if is_hh_dialogue(prompt):
            return hh_messages(prompt)
        content = self.template.replace("{text}", prompt) if self.kind == "chat" else prompt
        return [{"role": "user", "content": content}]

    @staticmethod
    def response_messages(response: str) -> list[Message]:
        return [{"role": "assistant", "content": response}]

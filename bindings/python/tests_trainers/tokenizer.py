"""A real Hugging Face tokenizer built here, for tests that cannot reach the hub.

A byte-level BPE (every byte is in its alphabet, so any text round-trips) trained on the
fly with the ``tokenizers`` library, wrapped in ``transformers.PreTrainedTokenizerFast``,
with ChatML special tokens and a ChatML chat template that renders tools and tool messages
the way Qwen2.5's does (tools in the system turn, a tool result as a user turn inside
``<tool_response>`` tags, ``<|im_end|>\\n`` after every turn).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Plain added tokens (not special: decoding keeps them), as in Qwen2.5's vocabulary.
ADDED_TOKENS = ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"]

CHAT_TEMPLATE = (
    # trim_blocks drops a newline right after a block tag: such newlines are written {{ '\n' }}.
    "{% if tools %}"
    "<|im_start|>system\n"
    "{% if messages[0].role == 'system' %}{{ messages[0].content + '\n\n' }}{% endif %}"
    "# Tools\n\n<tools>"
    "{% for tool in tools %}{{ '\n' + (tool | tojson) }}{% endfor %}"
    "{{ '\n' }}</tools>\n\nFor each function call, return a json object with function name and arguments "
    "within <tool_call></tool_call> XML tags.<|im_end|>\n"
    "{% elif messages[0].role == 'system' %}"
    "<|im_start|>system\n{{ messages[0].content }}<|im_end|>\n"
    "{% endif %}"
    "{% for message in messages %}"
    "{% if message.role == 'system' and loop.first %}"
    "{% elif message.role == 'tool' %}"
    "<|im_start|>user\n<tool_response>\n{{ message.content }}\n</tool_response><|im_end|>\n"
    "{% elif message.role == 'assistant' %}"
    "<|im_start|>assistant\n{{ message.content or '' }}"
    "{% for call in message.tool_calls or [] %}"
    "{{ '\n<tool_call>\n' + (call.function | tojson) + '\n</tool_call>' }}"
    "{% endfor %}"
    "<|im_end|>{{ '\n' }}"
    "{% else %}"
    "<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tokenizer(
    corpus: Iterable[str],
    directory: Path | None = None,
    vocab_size: int = 1200,
    chat_template: str = CHAT_TEMPLATE,
) -> PreTrainedTokenizerFast:
    """Train the tokenizer on ``corpus``; with ``directory``, also save it there (with
    ``save_pretrained``) so it can be loaded by path like a hub model's. ``chat_template``
    replaces the ChatML one (e.g. with Qwen2.5's own, as TRL ships it)."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(list(corpus), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=[],
    )
    tokenizer.add_tokens(ADDED_TOKENS)
    tokenizer.chat_template = chat_template
    if directory is not None:
        tokenizer.save_pretrained(directory)
    return tokenizer

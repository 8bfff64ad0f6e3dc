"""fakeai's tokenizer as a service, for vLLM's ``/tokenize`` and ``/detokenize``.

The ids are the ones the core counts and caches with (``_core.tokenize``: one id per piece, a hash of
the piece into cl100k's 100,256-token vocabulary), and a chat prompt goes through the chat template
(``_core.tokenize_chat``: ChatML's ``<|im_start|>role<|im_sep|>content<|im_end|>`` with cl100k's
special ids), so ``count`` is exactly the ``prompt_tokens`` a completion of the same input reports.
Hashes cannot be inverted, so every piece tokenized is remembered in the server's shared ``vocab``
table (the Rust core's ``shm/vocab.rs``, up to :data:`CAPACITY` ids): ``/detokenize`` of ids that
``/tokenize`` gave, on any worker, gives the text back. Ids never tokenized read as generated text's
pieces (the rendering of token-id prompts); two rare pieces sharing an id read as the first seen.
"""

from __future__ import annotations

from typing import Any

from fakeai import _core
from fakeai.runtime import shared

TABLE = "vocab"
#: Distinct token ids remembered for detokenizing.
CAPACITY = 16384


class Tokenizer:
    def __init__(self) -> None:
        self.vocab = shared.open_table(TABLE, CAPACITY, _core.VOCAB_TABLE_WIDTH)

    def prompt(self, text: str) -> list[int]:
        return _core.tokenize(text, self.vocab)

    def chat(self, messages: list[Any], add_generation_prompt: bool = True) -> list[int]:
        """Raises ``_core.InvalidInput`` for a message holding a non-text part."""
        return _core.tokenize_chat(messages, self.vocab, add_generation_prompt)

    def text(self, ids: list[int]) -> str:
        return _core.detokenize(ids, self.vocab)

    def pieces(self, ids: list[int]) -> list[str]:
        return [_core.detokenize([i], self.vocab) for i in ids]

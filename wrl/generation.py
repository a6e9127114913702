"""Generating responses: three backends behind one interface.

A :class:`Generator` turns chat prompts (one user message each) into :class:`Completion` s. The
backends share one contract, so the ``rollout`` stage (and later the policy evaluation) does not
care which one runs:

- ``transformers`` (the default): the model loaded with :mod:`wrl.models`, the chat template
  applied, prompts sorted by length into batches, left padding with the attention mask passed,
  ``torch.manual_seed`` set before each batch from the seed given and the batch's index, greedy
  when ``temperature == 0``; CPU or GPU.
- ``vllm``: the optional ``wrl[vllm]`` extra, imported only when chosen; a seed per prompt.
- ``openai``: any OpenAI-compatible chat-completions server (``vllm serve``, a hosted API), with
  the standard library only: a thread pool of ``concurrency`` requests, a timeout per request,
  retries with exponential backoff and seeded jitter on connection errors, timeouts, 429 and 5xx
  (:class:`wrl.rm_client.JsonHttp`, the one HTTP mechanism of wrl), and every answer's shape checked.

Every backend reports, per prompt, the text, why it ended (``stop``: the model ended it; ``length``:
cut at ``max_new_tokens``) and the prompt and completion token counts (eos excluded). Failures are
one :class:`~wrl.errors.ModelError` line naming the model or the server.

Example:
    >>> settings = GenerationSettings(model="models/policy", max_new_tokens=64)   # doctest: +SKIP
    >>> gen = make_generator(settings)                                            # doctest: +SKIP
    >>> gen.generate(["Write a haiku about rain."], seed=0)[0].text               # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from wrl.errors import ModelError
from wrl.models import ModelSource, guarded_load, load_causal_lm, load_tokenizer, pick_device, resolve, torch_dtype
from wrl.rm_client import JsonHttp, excerpt
from wrl.seeding import derive_seed

BACKENDS = ("transformers", "vllm", "openai")
FINISH_REASONS = ("stop", "length")
VLLM_MISSING = "the vllm backend is not installed: pip install 'wrl[vllm]'"

#: Called with the completions of each finished batch (or request), for progress bars.
Progress = Callable[[Sequence["Completion"]], None]


@dataclass(frozen=True)
class Completion:
    """One generated response.

    Attributes:
        text: the response, special tokens removed.
        finish_reason: ``stop`` (the model ended it) or ``length`` (cut at ``max_new_tokens``).
        prompt_tokens: tokens of the prompt as sent (chat template applied); None where unknown.
        completion_tokens: tokens generated, eos and padding excluded; None where unknown.
    """

    text: str
    finish_reason: str
    prompt_tokens: int | None
    completion_tokens: int | None


@dataclass(frozen=True)
class OpenAISettings:
    """How to reach an OpenAI-compatible server (the ``openai`` backend)."""

    base_url: str = "http://127.0.0.1:8000/v1"
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 8
    timeout_s: float = 120.0
    max_retries: int = 5
    backoff_s: float = 0.5


@dataclass(frozen=True)
class GenerationSettings:
    """What to generate with: the model, the backend and the sampling parameters.

    Attributes:
        model: a model reference for :func:`wrl.models.resolve` (for ``openai``: the served model
            name; a local directory there also gives the tokenizer that counts tokens when the
            server does not).
        backend: ``transformers``, ``vllm`` or ``openai``.
        max_new_tokens, temperature, top_p: sampling; ``temperature == 0`` is greedy.
        batch_size: prompts per forward batch (``transformers``).
        dtype, device: ``auto`` or a dtype name; ``auto``, ``cpu``, ``cuda``, ``cuda:1`` ...
    """

    model: str
    backend: str = "transformers"
    max_new_tokens: int = 128
    temperature: float = 0.7
    top_p: float = 0.95
    batch_size: int = 16
    dtype: str = "auto"
    device: str = "auto"
    openai: OpenAISettings = field(default_factory=OpenAISettings)


class Generator(Protocol):
    """The interface of every backend."""

    #: The backend's name, as in params.
    backend: str
    #: What identifies the weights and tokenizer (a hash of their files for local models), for resume markers.
    identity: str
    #: Most tokens (prompt and response) the model takes; None where unknown.
    context_length: int | None

    def prompt_tokens(self, prompts: Sequence[str]) -> list[int] | None:
        """The token count of each prompt as it will be sent (chat template applied); None if there is no tokenizer."""
        ...

    def generate(self, prompts: Sequence[str], seed: int, progress: Progress | None = None) -> list[Completion]:
        """One completion per prompt, in the prompts' order; the same seed gives the same completions."""
        ...


def make_generator(settings: GenerationSettings) -> Generator:
    """The generator of ``settings.backend``.

    Raises:
        ModelError: the model cannot be found, or the backend is not installed.
    """
    if settings.backend == "transformers":
        return TransformersGenerator(settings)
    if settings.backend == "vllm":
        return VLLMGenerator(settings)
    if settings.backend == "openai":
        return OpenAIGenerator(settings)
    raise ModelError(f"unknown generation backend {settings.backend!r}; backends: {', '.join(BACKENDS)}")


# --- model identity -------------------------------------------------------------------------------

# Files above this size are fingerprinted by their size, a safetensors header and evenly spaced
# samples instead of read whole.
_WHOLE_FILE_MAX = 64 << 20
_SAMPLES, _SAMPLE_BYTES = 16, 64 << 10


def _file_digest(path: Path, h: Any) -> None:
    size = path.stat().st_size
    h.update(f"{path.name}\0{size}\0".encode())
    with open(path, "rb") as f:
        if size <= _WHOLE_FILE_MAX:
            h.update(f.read())
            return
        if path.suffix == ".safetensors":
            n = int.from_bytes(f.read(8), "little")
            h.update(f.read(min(n, _WHOLE_FILE_MAX)))
        for i in range(_SAMPLES):
            f.seek(size * i // _SAMPLES)
            h.update(f.read(_SAMPLE_BYTES))


def model_identity(source: ModelSource) -> str:
    """What identifies a model's weights, config and tokenizer, without loading it.

    A local directory: a hash of its files (small ones whole; weights by size, safetensors header
    and content samples), so a model rebuilt in place with other weights is a different model,
    while a ``dvc checkout`` of the same files (new mtimes) is the same. A hub id: the id.
    """
    if not source.local:
        return f"hub:{source.location}"
    h = hashlib.sha256()
    root = Path(source.location)
    files = [root / source.gguf_file] if source.gguf_file else \
        sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    for path in files:
        _file_digest(path, h)
    return f"sha256:{h.hexdigest()}"


def _messages(prompt: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}]


def _context_length(source: ModelSource, tokenizer: Any) -> int | None:
    """The model's context from its config (read without the weights), else the tokenizer's limit."""
    from transformers import AutoConfig

    config = guarded_load(source, "config", lambda: AutoConfig.from_pretrained(source.location,
                                                                               **source.pretrained_kwargs()))
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None) or getattr(getattr(config, "text_config", None), name, None)
        if isinstance(value, int) and value > 0:
            return value
    limit = getattr(tokenizer, "model_max_length", None)
    return limit if isinstance(limit, int) and 0 < limit < 10**7 else None


class _ChatTokenizer:
    """A tokenizer with the chat template applied the same way by every backend."""

    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer
        self.chat = bool(getattr(tokenizer, "chat_template", None))

    def text(self, prompt: str) -> str:
        """The prompt as the model reads it: the chat template with the generation prompt (plain text without one)."""
        if not self.chat:
            return prompt
        return self.tokenizer.apply_chat_template(_messages(prompt), add_generation_prompt=True, tokenize=False)

    def encode(self, prompts: Sequence[str]) -> list[list[int]]:
        texts = [self.text(p) for p in prompts]
        return self.tokenizer(texts, add_special_tokens=not self.chat)["input_ids"] if texts else []

    def count(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])


# --- transformers ---------------------------------------------------------------------------------


class _LocalGenerator:
    """What the backends that load the model themselves share: its source, tokenizer, chat template, identity
    (for shard fingerprints) and context length."""

    def __init__(self, settings: GenerationSettings):
        self.settings = settings
        self.source = resolve(settings.model)
        self.tokenizer = load_tokenizer(self.source)
        self.chat = _ChatTokenizer(self.tokenizer)
        self.identity = model_identity(self.source)
        self.context_length = _context_length(self.source, self.tokenizer)


class TransformersGenerator(_LocalGenerator):
    """Batched generation with transformers: length-sorted batches, left padding, seeded per batch."""

    backend = "transformers"

    def __init__(self, settings: GenerationSettings):
        super().__init__(settings)
        self.device = pick_device(settings.device)
        self._model: Any = None
        self._eos: list[int] = []
        self._pad: int = 0

    @property
    def model(self) -> Any:
        """The model, loaded on first use (a run whose shards are all done never loads it)."""
        if self._model is None:
            self._model = load_causal_lm(self.source, dtype=torch_dtype(self.settings.dtype), device=self.device)
            eos = getattr(self._model.generation_config, "eos_token_id", None)
            eos = [eos] if isinstance(eos, int) else list(eos or [])
            if self.tokenizer.eos_token_id is not None:
                eos.append(self.tokenizer.eos_token_id)
            if not eos:
                raise ModelError(f"{self.source.reference}: the model and tokenizer define no eos token")
            self._eos = sorted(set(eos))
            # The policy's pad may be its eos: that is fine with left padding and the attention mask.
            pad = self.tokenizer.pad_token_id
            self._pad = pad if pad is not None else self._eos[0]
        return self._model

    def prompt_tokens(self, prompts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.chat.encode(prompts)]

    def _kwargs(self) -> dict[str, Any]:
        s = self.settings
        kwargs: dict[str, Any] = {"max_new_tokens": s.max_new_tokens, "pad_token_id": self._pad,
                                  "eos_token_id": self._eos}
        if s.temperature > 0:
            # Only temperature and top_p shape the distribution (no top_k), as in vLLM and OpenAI's API.
            kwargs.update(do_sample=True, temperature=s.temperature, top_p=s.top_p, top_k=0)
        else:
            kwargs.update(do_sample=False)
        return kwargs

    def generate(self, prompts: Sequence[str], seed: int, progress: Progress | None = None) -> list[Completion]:
        import torch

        model = self.model
        encoded = self.chat.encode(prompts)
        # Longest first, so a batch holds prompts of similar length (little padding) and memory
        # runs out, if it does, on the first batch; the order is restored below.
        order = sorted(range(len(prompts)), key=lambda i: (-len(encoded[i]), i))
        size = self.settings.batch_size
        out: list[Completion | None] = [None] * len(prompts)
        for b, start in enumerate(range(0, len(order), size)):
            rows = order[start:start + size]
            width = max(len(encoded[i]) for i in rows)
            ids = torch.full((len(rows), width), self._pad, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for r, i in enumerate(rows):
                n = len(encoded[i])
                ids[r, width - n:] = torch.tensor(encoded[i], dtype=torch.long)
                mask[r, width - n:] = 1
            torch.manual_seed(derive_seed(seed, b))
            with torch.inference_mode():
                sequences = model.generate(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                                           **self._kwargs())
            new = sequences[:, width:].tolist()
            batch = []
            for r, i in enumerate(rows):
                completion = self._completion(new[r], len(encoded[i]))
                out[i] = completion
                batch.append(completion)
            if progress is not None:
                progress(batch)
        return out  # type: ignore[return-value]

    def _completion(self, tokens: list[int], prompt_tokens: int) -> Completion:
        eos = set(self._eos)
        end = next((k for k, t in enumerate(tokens) if t in eos), None)
        finish = "length" if end is None else "stop"
        tokens = tokens[:end]
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        return Completion(text, finish, prompt_tokens, len(tokens))


# --- vllm -----------------------------------------------------------------------------------------


class VLLMGenerator(_LocalGenerator):
    """vLLM's offline engine (GPU). Mirrors the transformers contract: chat template, seeded, eos not counted."""

    backend = "vllm"

    def __init__(self, settings: GenerationSettings):
        try:
            import vllm  # noqa: F401 - only to know it is there
        except ImportError:
            raise ModelError(VLLM_MISSING) from None
        super().__init__(settings)
        self._llm: Any = None

    def prompt_tokens(self, prompts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.chat.encode(prompts)]

    def generate(self, prompts: Sequence[str], seed: int, progress: Progress | None = None) -> list[Completion]:
        from vllm import LLM, SamplingParams

        s = self.settings
        if self._llm is None:
            location = os.path.join(self.source.location, self.source.gguf_file) if self.source.gguf_file \
                else self.source.location
            self._llm = guarded_load(self.source, "model (vllm)", lambda: LLM(
                model=location, tokenizer=self.source.location, dtype=s.dtype))
        encoded = self.chat.encode(prompts)
        params = [SamplingParams(n=1, temperature=s.temperature, top_p=s.top_p if s.temperature > 0 else 1.0,
                                 max_tokens=s.max_new_tokens, seed=derive_seed(seed, i)) for i in range(len(prompts))]
        outputs = self._llm.generate([{"prompt_token_ids": ids} for ids in encoded], params, use_tqdm=False)
        eos = self.tokenizer.eos_token_id
        completions = []
        for ids, result in zip(encoded, outputs, strict=True):
            choice = result.outputs[0]
            tokens = list(choice.token_ids)
            if tokens and tokens[-1] == eos:
                tokens = tokens[:-1]
            finish = "length" if choice.finish_reason == "length" else "stop"
            completions.append(Completion(choice.text, finish, len(ids), len(tokens)))
        if progress is not None:
            progress(completions)
        return completions


# --- openai ---------------------------------------------------------------------------------------


class OpenAIGenerator:
    """An OpenAI-compatible chat-completions server, called with the standard library."""

    backend = "openai"

    def __init__(self, settings: GenerationSettings, *, sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        o = settings.openai
        self.server = o.base_url.rstrip("/")
        key = os.environ.get(o.api_key_env) if o.api_key_env else None
        self.http = JsonHttp(self.server, name=f"openai server {self.server}", token=key, timeout_s=o.timeout_s,
                             max_retries=o.max_retries, backoff_s=o.backoff_s, sleep=sleep)
        self.identity = f"openai:{self.server}:{settings.model}"
        self.context_length = None
        self.chat = self._local_tokenizer(settings.model)

    @staticmethod
    def _local_tokenizer(model: str) -> _ChatTokenizer | None:
        """The tokenizer of ``model`` if it names a local model (to count tokens a server does not report)."""
        try:
            source = resolve(model)
        except ModelError:
            return None
        return _ChatTokenizer(load_tokenizer(source)) if source.local else None

    def prompt_tokens(self, prompts: Sequence[str]) -> list[int] | None:
        return None if self.chat is None else [len(ids) for ids in self.chat.encode(prompts)]

    def generate(self, prompts: Sequence[str], seed: int, progress: Progress | None = None) -> list[Completion]:
        out: list[Completion | None] = [None] * len(prompts)
        abort = threading.Event()
        with ThreadPoolExecutor(max_workers=self.settings.openai.concurrency, thread_name_prefix="wrl-openai") as pool:
            futures = {pool.submit(self._request, p, derive_seed(seed, i), abort): i for i, p in enumerate(prompts)}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    if future.exception() is not None:
                        abort.set()
                        for other in pending:
                            other.cancel()
                        raise future.exception()  # type: ignore[misc]
                    out[futures[future]] = future.result()
                if progress is not None:
                    progress([f.result() for f in done])
        return out  # type: ignore[return-value]

    def _request(self, prompt: str, seed: int, abort: threading.Event) -> Completion:
        s = self.settings
        answer = self.http.request("POST", "/chat/completions", {
            "model": s.model, "messages": _messages(prompt), "temperature": s.temperature, "top_p": s.top_p,
            "max_tokens": s.max_new_tokens, "seed": seed, "n": 1,
        }, jitter=random.Random(seed), abort=abort, hint=f"; is it running and serving {s.model!r}?")
        return self._parse(answer, prompt)

    def _parse(self, data: Any, prompt: str) -> Completion:
        """Check an answer's shape: ``choices[0].message.content``, ``finish_reason``, ``usage``."""
        def bad(what: str) -> ModelError:
            return ModelError(f"{self.http.name}: unexpected answer: {what}: {excerpt(json.dumps(data))}")

        if not isinstance(data, dict):
            raise bad("not a JSON object")
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise bad("no choices")
        message = choices[0].get("message")
        text = message.get("content") if isinstance(message, dict) else None
        if not isinstance(text, str):
            raise bad("choices[0].message.content is not a string")
        finish = choices[0].get("finish_reason")
        if finish not in FINISH_REASONS:
            raise bad(f"finish_reason {finish!r} is not one of {', '.join(FINISH_REASONS)}")
        usage = data.get("usage")
        prompt_tokens = completion_tokens = None
        if isinstance(usage, dict):
            prompt_tokens, completion_tokens = usage.get("prompt_tokens"), usage.get("completion_tokens")
            for name, value in (("prompt_tokens", prompt_tokens), ("completion_tokens", completion_tokens)):
                if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
                    raise bad(f"usage.{name} is not a count")
        elif usage is not None:
            raise bad("usage is not an object")
        elif self.chat is not None:  # no usage: count with the local tokenizer
            prompt_tokens = len(self.chat.encode([prompt])[0])
            completion_tokens = self.chat.count(text)
        return Completion(text, finish, prompt_tokens, completion_tokens)

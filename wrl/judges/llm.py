"""The LLM judge: any causal LM asked, requirement by requirement, whether a response satisfies it.

Two modes, both deterministic (no sampling):

- ``yes_no`` (default): the question (``templates.yaml``, or ``weval_judge.judges.<name>.template``)
  is sent as the user's message through the tokenizer's chat template with the generation prompt, and
  the requirement's score is P(Yes) / (P(Yes) + P(No)) from the model's next-token distribution.
  "Yes" is the sum of the probabilities of the tokens that spell ``Yes``, `` Yes``, ``yes``, `` yes``,
  ``YES`` or `` YES`` in one token (deduplicated ids; "No" likewise): a spelling that takes several
  tokens is left out, since its first token (SentencePiece's lone ``▁``, a bare ``Y``) says nothing
  about the answer. The ids are in :attr:`LlmJudge.settings`.
- ``critic`` (WritingBench-style): the model is asked for a 1-10 score per requirement, generates
  greedily (``max_new_tokens``), and the answer is read by :func:`parse_critic_score`; the
  requirement's score is N/10. An answer with no score from 1 to 10 fails the response
  (``critic_unparsed``, with an excerpt of the answer) and is counted per answer.

The response's score is the aggregate of its requirement scores (``aggregate``: mean, min, product).

Speed (``yes_no``): the model reads, per requirement, three parts: what the template puts before
``{response}`` (the chat template's preamble and the instruction: the same for every response to one
instruction), the response up to ``{requirement}``, and the requirement's suffix. Consecutive items
with the same first part (a WEval group) are scored together, ``batch_size`` requirements at a time:
the first part is encoded once (its cache kept while the next items share it; no logits computed),
their responses right-padded in one forward over a copy of that cache, then all their requirement
suffixes in one forward, each row over its own response's cache row (the padding after a shorter
response masked, positions counted from its real length), each score read at its row's last real
token. The model thus reads exactly the tokens a full forward of the three parts would
(``tests/test_judges_llm.py`` checks the scores against plain full forwards: equal within 1e-5,
measured 3e-9). The parts are tokenized separately, which can differ from tokenizing the whole
text only where a token would span a seam (a space before ``{response}`` or ``{requirement}`` is
moved after the seam, as BPE tokenizers spell `` word``); on SmolLM2 the scores of whole-text
tokenization differ by 3e-6. ``benchmarks/bench_llm_judge.py`` measures all of this.

``critic`` batches whole prompts (left-padded, longest first) for ``generate``; it reuses no cache.

Responses longer than ``max_length`` tokens are cut to their first ``max_length`` tokens (counted in
``counters["responses_cut"]``).

Example:
    >>> from wrl.judges import JudgeSpec, build_judge
    >>> judge = build_judge("smollm", JudgeSpec(kind="llm", model="models/policy"))  # doctest: +SKIP
    >>> judge.judge([item])[0].requirement_scores                                        # doctest: +SKIP
    (0.71, 0.38)
"""

from __future__ import annotations

import copy
import inspect
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import yaml

from wrl.errors import InvalidConfigError, ModelError
from wrl.judges import Judge, JudgeItem, JudgeSpec, Judgment, judgment
from wrl.models import load_causal_lm, load_tokenizer, pick_device, resolve, torch_dtype

TEMPLATES_FILE = Path(__file__).with_name("templates.yaml")
FIELDS = ("instruction", "response", "requirement")
#: Spellings whose single-token ids count as the answer Yes (No); see the module docstring.
YES_SPELLINGS = ("Yes", " Yes", "yes", " yes", "YES", " YES")
NO_SPELLINGS = ("No", " No", "no", " no", "NO", " NO")
#: Stands for the requirement while the chat template is rendered; the text is split there.
_MARK = "\ue000wrl-requirement\ue000"
_RESPONSE_MARK = "\ue000wrl-response\ue000"
_FIELD = re.compile(r"\{(instruction|response|requirement)\}")
#: How many characters of an unparsed critic answer a failure's detail quotes.
EXCERPT = 80


@cache
def templates() -> dict[str, str]:
    """The default template of each mode, from ``templates.yaml``."""
    data = yaml.safe_load(TEMPLATES_FILE.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(data.get(m), str) for m in ("yes_no", "critic")):
        raise InvalidConfigError(f"{TEMPLATES_FILE}: expected a mapping with the texts 'yes_no' and 'critic'")
    return data


@dataclass(frozen=True)
class Template:
    """A judge question with ``{instruction}``, ``{response}`` and ``{requirement}``, each exactly once.

    Args:
        text: the question.
        requirement_last: ``{requirement}`` must come after the other two (``yes_no`` mode, which caches
            what comes before it).

    Raises:
        InvalidConfigError: a field is missing or repeated, or out of order.
    """

    text: str
    requirement_last: bool = True

    def __post_init__(self) -> None:
        for name in FIELDS:
            n = self.text.count("{" + name + "}")
            if n != 1:
                raise InvalidConfigError(f"the LLM judge's template must contain {{{name}}} exactly once (found {n}): "
                                         f"{self.text[:120]!r}")
        where = {name: self.text.index("{" + name + "}") for name in FIELDS}
        if self.requirement_last and where["requirement"] < max(where["instruction"], where["response"]):
            raise InvalidConfigError("the LLM judge's yes_no template must put {requirement} after {instruction} and "
                                     "{response}: what comes before it is encoded once per response and its KV "
                                     "cache reused for each requirement")

    @staticmethod
    def _fill(text: str, values: dict[str, str]) -> str:
        # one pass: braces inside an instruction or a response are never read as fields
        return _FIELD.sub(lambda m: values.get(m.group(1), m.group(0)), text)

    def question(self, instruction: str, response: str, requirement: str) -> str:
        """The whole question for one requirement."""
        return self._fill(self.text, {"instruction": instruction, "response": response, "requirement": requirement})

    def split(self, instruction: str, response: str) -> tuple[str, str]:
        """The question up to ``{requirement}`` (filled) and the text after it."""
        head, tail = self.text.split("{requirement}")
        return self._fill(head, {"instruction": instruction, "response": response}), tail


_JSON_SCORE = re.compile(r'"score"\s*:\s*"?\s*(-?\d+(?:\.\d+)?)', re.IGNORECASE)
_SCORE = re.compile(r"\bscore\b\s*(?:is|of|=|:)?\s*[*_]*\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE)
_OUT_OF = re.compile(r"(-?\d+(?:\.\d+)?)\s*(?:/|out\s+of)\s*10\b", re.IGNORECASE)
_LONE = re.compile(r"^\W*?(-?\d+(?:\.\d+)?)\W*$")


def parse_critic_score(answer: str) -> float | None:
    """The 1-10 score in a critic's answer, or None.

    Read, in this order (the first form found decides): a JSON ``"score": N``; ``Score: N`` (also
    ``score is N``, ``score of N``, ``score = N``, ``**Score:** N``, any case); ``N/10`` or ``N out of 10``;
    an answer that is just a number. N may have decimals. A number outside 1-10 is no score (None), as is
    an answer with none of these forms.

    Example:
        >>> [parse_critic_score(a) for a in ('{"score": 8}', "Score: 7", "6/10", "9", "Score: 11", "good")]
        [8.0, 7.0, 6.0, 9.0, None, None]
    """
    for pattern in (_JSON_SCORE, _SCORE, _OUT_OF, _LONE):
        found = pattern.search(answer)
        if found:
            value = float(found.group(1))
            return value if 1.0 <= value <= 10.0 else None
    return None


def answer_token_ids(tokenizer: Any, spellings: Sequence[str]) -> tuple[int, ...]:
    """The sorted ids of the spellings that the tokenizer writes as one token (not its unknown token)."""
    ids: set[int] = set()
    for spelling in spellings:
        enc = tokenizer(spelling, add_special_tokens=False)["input_ids"]
        if len(enc) == 1 and enc[0] != getattr(tokenizer, "unk_token_id", None):
            ids.add(int(enc[0]))
    return tuple(sorted(ids))


class LlmJudge(Judge):
    """A causal LM as judge (see the module docstring): ``yes_no`` or ``critic`` per requirement.

    Raises:
        InvalidConfigError: the template lacks a field or (``yes_no``) puts ``{requirement}`` before the others.
        ModelError: the model or its tokenizer cannot be loaded, or (``yes_no``) the tokenizer has no one-token Yes
            or No.
    """

    kind: ClassVar[str] = "llm"

    def __init__(self, name: str, spec: JudgeSpec) -> None:
        import torch

        super().__init__(name, spec)
        self.template = Template(spec.template if spec.template is not None else templates()[spec.mode],
                                 requirement_last=spec.mode == "yes_no")
        if not spec.model:
            raise InvalidConfigError(f"judge {name!r}: an llm judge needs a model")
        source = resolve(spec.model)
        self.tokenizer = load_tokenizer(source)
        self.device = pick_device(spec.device)
        self.model = load_causal_lm(source, dtype=torch_dtype(spec.dtype), device=self.device)
        self.chat = bool(getattr(self.tokenizer, "chat_template", None))
        # Padding is never read (right padding sits after each row's last real token; left padding is masked), so a
        # model without a pad token pads with eos.
        pad = self.tokenizer.pad_token_id
        self.pad_id = int(pad if pad is not None else (self.tokenizer.eos_token_id or 0))
        self.yes_ids: tuple[int, ...] = ()
        self.no_ids: tuple[int, ...] = ()
        if spec.mode == "yes_no":
            self.yes_ids = answer_token_ids(self.tokenizer, YES_SPELLINGS)
            self.no_ids = answer_token_ids(self.tokenizer, NO_SPELLINGS)
            if not self.yes_ids or not self.no_ids or set(self.yes_ids) & set(self.no_ids):
                raise ModelError(f"{spec.model}: the tokenizer spells no Yes and No as distinct single tokens "
                                 f"(Yes: {self.yes_ids}, No: {self.no_ids}); use mode: critic")
        forward = inspect.signature(self.model.forward).parameters
        self._keep_logits = "logits_to_keep" in forward
        self._cache_arg = "cache" if "cache" in forward else "past_key_values"  # renamed in transformers 5.x
        self._shared: tuple[tuple[int, ...], Any] | None = None  # the last instruction's KV cache, by its ids
        self._counts = {"responses_cut": 0, "critic_unparsed": 0, "pairs": 0, "tokens": 0}
        self._torch = torch

    # --- what was loaded ------------------------------------------------------------------------

    @property
    def settings(self) -> dict[str, Any]:
        tok = self.tokenizer
        return {**super().settings, "template": self.template.text,
                "tokenizer": getattr(tok, "name_or_path", "") or type(tok).__name__, "chat_template": self.chat,
                "yes_token_ids": list(self.yes_ids) or None, "no_token_ids": list(self.no_ids) or None,
                "yes_tokens": tok.convert_ids_to_tokens(list(self.yes_ids)) if self.yes_ids else None,
                "no_tokens": tok.convert_ids_to_tokens(list(self.no_ids)) if self.no_ids else None,
                "kv_cache": self.spec.mode == "yes_no", "device": str(self.device),
                "dtype": str(self.model.dtype).removeprefix("torch.")}

    @property
    def counters(self) -> dict[str, int]:
        """``responses_cut``, ``critic_unparsed`` (answers), ``pairs`` (requirement, response) judged and ``tokens``
        run through the model (prompts, not generated tokens), over the life of the judge."""
        return dict(self._counts)

    def close(self) -> None:
        self.model = self._shared = None
        if str(self.device).startswith("cuda"):
            self._torch.cuda.empty_cache()

    # --- text to tokens -------------------------------------------------------------------------

    def _render(self, content: str) -> str:
        """The user's message as the model reads it: the chat template with the generation prompt, if any."""
        if not self.chat:
            return content
        return self.tokenizer.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True,
                                                  tokenize=False)

    def _ids(self, text: str, *, first: bool) -> list[int]:
        """Token ids of a text; at the start of a plain (no chat template) prompt, with the special tokens the
        tokenizer puts in front (BOS), never those it appends (EOS, SEP)."""
        plain = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        if self.chat or not first:
            return plain
        full = list(self.tokenizer(text, add_special_tokens=True)["input_ids"])
        for at in range(len(full) - len(plain) + 1):
            if full[at:at + len(plain)] == plain:
                return full[:at + len(plain)]
        return full

    def _cut(self, response: str) -> str:
        """The response, cut to its first ``max_length`` tokens (counted)."""
        limit = self.spec.max_length
        if limit is None:
            return response
        fast = getattr(self.tokenizer, "is_fast", False)
        enc = self.tokenizer(response, add_special_tokens=False, return_offsets_mapping=fast)
        if len(enc["input_ids"]) <= limit:
            return response
        self._counts["responses_cut"] += 1
        if fast:
            return response[:enc["offset_mapping"][limit - 1][1]]
        return self.tokenizer.decode(enc["input_ids"][:limit])

    def encode_parts(self, item: JudgeItem) -> tuple[list[int], list[int], list[list[int]]]:
        """The ids of the three parts the model reads for each of an item's requirements (``yes_no``): what comes
        before the response (the same for every response to the same instruction), the response up to the
        requirement, and one suffix per requirement. Counts a cut response."""
        head, tail = self.template.split(item.prompt, _RESPONSE_MARK)
        rendered = self._render(head + _MARK + tail)
        if rendered.count(_MARK) != 1 or rendered.count(_RESPONSE_MARK) != 1:
            raise ModelError(f"{self.spec.model}: the chat template does not keep the judge's question as written "
                             "(the response's or the requirement's place in it is lost)")
        shared, (space, rest) = _seam(rendered, _RESPONSE_MARK)
        own, (space, tail) = _seam(space + self._cut(item.response) + rest, _MARK)
        return (self._ids(shared, first=True), self._ids(own, first=False),
                [self._ids(space + r.text + tail, first=False) for r in item.requirements])

    def encode_item(self, item: JudgeItem) -> tuple[list[int], list[list[int]]]:
        """The ids of an item's prefix (everything before the requirement) and of each requirement's suffix: the
        model reads ``prefix + suffix`` for each requirement."""
        shared, own, suffixes = self.encode_parts(item)
        return shared + own, suffixes

    # --- judging --------------------------------------------------------------------------------

    def judge(self, items: Sequence[JudgeItem]) -> list[Judgment]:
        if self.model is None:
            raise ModelError(f"judge {self.name!r} was closed")
        if self.spec.mode == "critic":
            return self._critic(items)
        return [judgment(scores, self.spec.aggregate) for scores in self._yes_no(items)]

    def _forward(self, ids: Any, mask: Any, cache_: Any = None, keep: Any = 1, positions: Any = None) -> Any:
        kwargs: dict[str, Any] = {"input_ids": ids, "attention_mask": mask, "use_cache": cache_ is not None}
        if positions is not None:
            kwargs["position_ids"] = positions
        if cache_ is not None:
            kwargs[self._cache_arg] = cache_  # updated in place: the caller keeps its reference
        if self._keep_logits:
            kwargs["logits_to_keep"] = keep
        return self.model(**kwargs)

    def _yes_probability(self, logits: Any) -> list[float]:
        """P(Yes) / (P(Yes) + P(No)) per row of next-token logits."""
        torch = self._torch
        logp = torch.log_softmax(logits.double(), dim=-1)
        yes = torch.logsumexp(logp[:, list(self.yes_ids)], dim=-1)
        no = torch.logsumexp(logp[:, list(self.no_ids)], dim=-1)
        return torch.sigmoid(yes - no).tolist()

    def _last_logits(self, out: Any, lengths: Sequence[int], keep: Any) -> Any:
        """Each row's logits at its last real token: ``keep`` holds the positions whose logits were computed."""
        torch = self._torch
        rows = torch.arange(len(lengths))
        if not self._keep_logits:
            return out.logits[rows, torch.tensor(lengths) - 1]
        where = {p: k for k, p in enumerate(keep.tolist())}
        return out.logits[rows, torch.tensor([where[n - 1] for n in lengths])]

    def _extend(self, kv: Any, ids: Sequence[int]) -> Any:
        """A copy of ``kv`` (None: empty) extended by ``ids`` (batch 1); no logits are computed."""
        torch = self._torch
        kv = _new_cache(self.model) if kv is None else copy.deepcopy(kv)
        if ids:
            past = kv.get_seq_length()
            x = torch.tensor([list(ids)], device=self.device)
            self._forward(x, torch.ones((1, past + len(ids)), dtype=torch.long, device=self.device), cache_=kv)
            self._counts["tokens"] += len(ids)
        return kv

    def _yes_no(self, items: Sequence[JudgeItem]) -> list[list[float]]:
        """Each item's requirement scores. Consecutive items with the same part before the response (the responses
        to one instruction, as WEval's groups come) are scored together, up to ``batch_size`` requirements at once:
        that part is encoded once (and kept while the next items share it), their responses in one batch over it,
        then all their requirement suffixes in one batch."""
        scores: list[list[float]] = [[] for _ in items]
        todo = [(i, self.encode_parts(item)) for i, item in enumerate(items) if item.requirements]
        at = 0
        with self._torch.inference_mode():
            while at < len(todo):
                run = [todo[at]]
                rows = len(todo[at][1][2])
                while (at + len(run) < len(todo) and todo[at + len(run)][1][0] == run[0][1][0]
                       and rows + len(todo[at + len(run)][1][2]) <= self.spec.batch_size):
                    rows += len(todo[at + len(run)][1][2])
                    run.append(todo[at + len(run)])
                for (i, _), got in zip(run, self._score_run([parts for _, parts in run]), strict=True):
                    scores[i] = got
                at += len(run)
        return scores

    def _score_run(self, parts: list[tuple[list[int], list[int], list[list[int]]]]) -> list[list[float]]:
        """Score items that share their first part: their responses right-padded in one forward over its cache,
        then their suffixes, each row over its own response's cache row (the padding after a shorter response
        masked, positions counted from its real length)."""
        torch = self._torch
        shared = parts[0][0]
        key = tuple(shared)
        if self._shared is None or self._shared[0] != key:
            self._shared = (key, self._extend(None, shared))
        p0, owns = len(shared), [own for _, own, _ in parts]
        width = max(len(o) for o in owns)
        kv = copy.deepcopy(self._shared[1])
        kv.batch_repeat_interleave(len(parts))
        if width:
            ids = torch.full((len(parts), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(parts), p0 + width), dtype=torch.long)
            mask[:, :p0] = 1
            for g, own in enumerate(owns):
                ids[g, :len(own)] = torch.tensor(own, dtype=torch.long)
                mask[g, p0:p0 + len(own)] = 1
            self._forward(ids.to(self.device), mask.to(self.device), cache_=kv)
            self._counts["tokens"] += sum(map(len, owns))
        rows = [(g, suffix) for g, (_, _, suffixes) in enumerate(parts) for suffix in suffixes]
        flat: list[float] = []
        for start in range(0, len(rows), self.spec.batch_size):
            chunk = rows[start:start + self.spec.batch_size]
            lengths = [len(s) for _, s in chunk]
            span = max(lengths)
            ids = torch.full((len(chunk), span), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), p0 + width + span), dtype=torch.long)
            mask[:, :p0] = 1
            positions = torch.zeros((len(chunk), span), dtype=torch.long)
            for r, (g, suffix) in enumerate(chunk):
                ids[r, :len(suffix)] = torch.tensor(suffix, dtype=torch.long)
                mask[r, p0:p0 + len(owns[g])] = 1
                mask[r, p0 + width:p0 + width + len(suffix)] = 1
                positions[r] = torch.arange(p0 + len(owns[g]), p0 + len(owns[g]) + span)
            rows_kv = copy.deepcopy(kv) if start + len(chunk) < len(rows) else kv
            rows_kv.batch_select_indices(torch.tensor([g for g, _ in chunk], device=self.device))
            keep = torch.tensor(sorted({n - 1 for n in lengths}))
            out = self._forward(ids.to(self.device), mask.to(self.device), cache_=rows_kv, keep=keep.to(self.device),
                                positions=positions.to(self.device))
            flat += self._yes_probability(self._last_logits(out, lengths, keep))
            self._counts["tokens"] += sum(lengths)
        self._counts["pairs"] += len(rows)
        scores, at = [], 0
        for _, _, suffixes in parts:
            scores.append(flat[at:at + len(suffixes)])
            at += len(suffixes)
        return scores

    def score_uncached(self, items: Sequence[JudgeItem]) -> list[list[float]]:
        """The ``yes_no`` requirement scores of plain full forwards of ``prefix + suffix`` (right-padded batches of
        ``batch_size``, no cache): what :meth:`judge` computes with its KV reuse, for tests and benchmarks."""
        torch = self._torch
        rows = [(i, prefix + suffix) for i, item in enumerate(items) for prefix, suffixes in [self.encode_item(item)]
                for suffix in suffixes]
        flat: list[float] = [math.nan] * len(rows)
        order = sorted(range(len(rows)), key=lambda r: -len(rows[r][1]))
        with torch.inference_mode():
            for start in range(0, len(order), self.spec.batch_size):
                chunk = order[start:start + self.spec.batch_size]
                lengths = [len(rows[r][1]) for r in chunk]
                batch = torch.full((len(chunk), max(lengths)), self.pad_id, dtype=torch.long)
                mask = torch.zeros_like(batch)
                for j, r in enumerate(chunk):
                    batch[j, :lengths[j]] = torch.tensor(rows[r][1])
                    mask[j, :lengths[j]] = 1
                keep = torch.tensor(sorted({n - 1 for n in lengths}))
                out = self._forward(batch.to(self.device), mask.to(self.device), keep=keep.to(self.device))
                for r, s in zip(chunk, self._yes_probability(self._last_logits(out, lengths, keep)), strict=True):
                    flat[r] = s
        scores: list[list[float]] = [[] for _ in items]
        for (i, _), s in zip(rows, flat, strict=True):
            scores[i].append(s)
        return scores

    def _critic(self, items: Sequence[JudgeItem]) -> list[Judgment]:
        """Generate an answer per (item, requirement), longest prompts first, and parse each."""
        from transformers import GenerationConfig

        torch = self._torch
        prompts: list[tuple[int, int, list[int]]] = []
        for i, item in enumerate(items):
            response = self._cut(item.response)
            for j, req in enumerate(item.requirements):
                prompts.append((i, j, self._ids(self._render(self.template.question(item.prompt, response, req.text)),
                                                first=True)))
        eos = self.model.generation_config.eos_token_id
        config = GenerationConfig(do_sample=False, num_beams=1, max_new_tokens=self.spec.max_new_tokens,
                                  pad_token_id=self.pad_id, eos_token_id=eos if eos is not None else
                                  self.tokenizer.eos_token_id)
        answers: dict[tuple[int, int], str] = {}
        order = sorted(range(len(prompts)), key=lambda k: (-len(prompts[k][2]), k))
        with torch.inference_mode():
            for start in range(0, len(order), self.spec.batch_size):
                chunk = [prompts[k] for k in order[start:start + self.spec.batch_size]]
                width = max(len(ids) for _, _, ids in chunk)
                batch = torch.full((len(chunk), width), self.pad_id, dtype=torch.long)
                mask = torch.zeros_like(batch)
                for r, (_, _, ids) in enumerate(chunk):  # left padding: every row's next token is at the end
                    batch[r, width - len(ids):] = torch.tensor(ids)
                    mask[r, width - len(ids):] = 1
                out = self.model.generate(input_ids=batch.to(self.device), attention_mask=mask.to(self.device),
                                          generation_config=config)
                for r, (i, j, ids) in enumerate(chunk):
                    answers[i, j] = self.tokenizer.decode(out[r, width:], skip_special_tokens=True)
                    self._counts["tokens"] += len(ids)
        self._counts["pairs"] += len(prompts)
        judged = []
        for i, item in enumerate(items):
            scores = [parse_critic_score(answers[i, j]) for j in range(len(item.requirements))]
            unparsed = [j for j, s in enumerate(scores) if s is None]
            self._counts["critic_unparsed"] += len(unparsed)
            if unparsed:
                j = unparsed[0]
                judged.append(Judgment.failed(len(scores), "critic_unparsed",
                                              f"requirement {item.requirements[j].id}: no score from 1 to 10 in the "
                                              f"answer {json.dumps(answers[i, j][:EXCERPT], ensure_ascii=False)}"))
            else:
                judged.append(judgment([s / 10.0 for s in scores if s is not None], self.spec.aggregate))
        return judged


def _seam(text: str, mark: str) -> tuple[str, tuple[str, str]]:
    """``text`` split at ``mark``: the part before it, without its trailing spaces, and the rest, which starts with
    those spaces (BPE tokenizers spell a word with its leading space, `` word``)."""
    before, after = text.split(mark)
    kept = before.rstrip(" ")
    return kept, (before[len(kept):], after)


def _new_cache(model: Any) -> Any:
    """An empty KV cache of the model's layer types (sliding windows included)."""
    from transformers import DynamicCache

    return DynamicCache(config=model.config)

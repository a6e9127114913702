"""IFEval's own verdicts, frozen once: what IFEval's checkers (``instructions.py`` of
google-research's ``instruction_following_eval``) say about responses, for the agreement test and
benchmark that need no nltk, no langdetect and no download.

This script is not part of wrl and is not run by its tests. It needs ``nltk`` (its punkt
tokenizer, for ``number_sentences`` and ``word_tokenize``), ``langdetect`` (seeded with 0: IFEval
does not seed it, so its language verdicts can change from run to run) and punkt's English
parameters as a ``punkt_tab`` directory under ``$NLTK_DATA`` (``tokenizers/punkt_tab/english/``:
``abbrev_types.txt``, ``collocations.tab``, ``sent_starters.txt``, ``ortho_context.tab``). The
checks are written here the way IFEval writes them (its regexes, its relations: "less than" is
``<``, anything else ``>=``), each a line or two.

    NLTK_DATA=/path/to/nltk_data python benchmarks/ifeval_gold.py verdicts \\
        ../shared/data/ifeval_dev.jsonl ../shared/data/ifeval_dev_gpt4_responses.jsonl \\
        tests/fixtures/ifeval_dev_gold.jsonl
    NLTK_DATA=... python benchmarks/ifeval_gold.py sentences cases.txt tests/fixtures/punkt_sentences.jsonl

``verdicts`` writes one line per prompt: ``key``, ``strict`` and ``loose`` (one verdict per
instruction id, IFEval's ``test_instruction_following_strict`` / ``_loose``) and ``sentences``
(punkt's count of the response). ``sentences`` reads texts separated by lines of ``====`` and
writes ``{"text", "sentences"}`` per text.
"""

from __future__ import annotations

import collections
import json
import re
import sys
from typing import Any

import langdetect
import nltk

langdetect.DetectorFactory.seed = 0
_PUNKT = nltk.tokenize.PunktTokenizer("english")


def count_sentences(text: str) -> int:
    return len(_PUNKT.tokenize(text))


def _rel(relation: str | None, n: int, v: int) -> bool:
    return n < v if relation == "less than" else n >= v


def _lang(text: str) -> str | None:
    try:
        return langdetect.detect(text)
    except langdetect.LangDetectException:
        return None


def check(iid: str, kw: dict[str, Any], value: str, prompt: str) -> bool:  # noqa: C901, PLR0911, PLR0912
    """IFEval's ``check_following`` of instruction ``iid`` built with kwargs ``kw``."""
    kind = iid.split(":")[1]
    if kind == "number_words":
        return _rel(kw["relation"], len(re.findall(r"\w+", value)), kw["num_words"])
    if kind == "number_sentences":
        return _rel(kw["relation"], count_sentences(value), kw["num_sentences"])
    if kind == "number_paragraphs":
        parts = re.split(r"\s?\*\*\*\s?", value)
        n = len(parts)
        for i, p in enumerate(parts):
            if not p.strip():
                if i == 0 or i == len(parts) - 1:
                    n -= 1
                else:
                    return False
        return n == kw["num_paragraphs"]
    if kind == "nth_paragraph_first_word":
        paragraphs = re.split(r"\n\n", value)
        n = len(paragraphs) - sum(1 for p in paragraphs if not p.strip())
        nth = kw["nth_paragraph"]
        if nth > n:
            return False
        para = paragraphs[nth - 1].strip()
        if not para:
            return False
        word = para.split()[0].strip().lstrip("'").lstrip('"')
        first = ""
        for letter in word:
            if letter in {".", ",", "?", "!", "'", '"'}:
                break
            first += letter.lower()
        return n == kw["num_paragraphs"] and first == kw["first_word"].lower()
    if kind == "number_placeholders":
        return len(re.findall(r"\[.*?\]", value)) >= kw["num_placeholders"]
    if kind == "postscript":
        marker = kw["postscript_marker"].strip()
        pattern = {"P.P.S": r"\s*p\.\s?p\.\s?s.*$", "P.S.": r"\s*p\.\s?s\..*$"}.get(marker, r"\s*" + marker.lower()
                                                                                  + r".*$")
        return bool(re.findall(pattern, value.lower(), flags=re.MULTILINE))
    if kind == "number_bullet_lists":
        n = len(re.findall(r"^\s*\*[^\*].*$", value, flags=re.MULTILINE))
        n += len(re.findall(r"^\s*-.*$", value, flags=re.MULTILINE))
        return n == kw["num_bullets"]
    if kind == "constrained_response":
        value = value.strip()
        return any(o in value for o in ("My answer is yes.", "My answer is no.", "My answer is maybe."))
    if kind == "number_highlighted_sections":
        n = sum(1 for h in re.findall(r"\*[^\n\*]*\*", value) if h.strip("*").strip())
        n += sum(1 for h in re.findall(r"\*\*[^\n\*]*\*\*", value) if h.removeprefix("**").removesuffix("**").strip())
        return n >= kw["num_highlights"]
    if kind == "multiple_sections":
        pattern = r"\s?" + kw["section_spliter"].strip() + r"\s?\d+\s?"
        return len(re.split(pattern, value)) - 1 >= kw["num_sections"]
    if kind == "json_format":
        v = (value.strip().removeprefix("```json").removeprefix("```Json").removeprefix("```JSON")
             .removeprefix("```").removesuffix("```").strip())
        try:
            json.loads(v)
        except ValueError:
            return False
        return True
    if kind == "title":
        return any(t.lstrip("<").rstrip(">").strip() for t in re.findall(r"<<[^\n]+>>", value))
    if kind == "two_responses":
        valid = []
        parts = value.split("******")
        for i, p in enumerate(parts):
            if not p.strip():
                if i != 0 and i != len(parts) - 1:
                    return False
            else:
                valid.append(p)
        return len(valid) == 2 and valid[0].strip() != valid[1].strip()
    if kind == "repeat_prompt":
        return value.strip().lower().startswith(kw["prompt_to_repeat"].strip().lower())
    if kind == "end_checker":
        return value.strip().strip('"').lower().endswith(kw["end_phrase"].strip().lower())
    if kind == "existence":
        return all(re.search(k, value, flags=re.IGNORECASE) for k in kw["keywords"])
    if kind == "frequency":
        return _rel(kw["relation"], len(re.findall(kw["keyword"].strip(), value, flags=re.IGNORECASE)),
                    kw["frequency"])
    if kind == "forbidden_words":
        words = sorted(set(kw["forbidden_words"]))
        return not any(re.search(r"\b" + w + r"\b", value, flags=re.IGNORECASE) for w in words)
    if kind == "letter_frequency":
        letter = kw["letter"].strip().lower()  # any single character (IFEval draws a random one otherwise)
        return _rel(kw["let_relation"], collections.Counter(value.lower())[letter], kw["let_frequency"])
    if kind == "response_language":
        found = _lang(value)
        return found is None or found == kw["language"]
    if kind == "english_capital":
        found = _lang(value)
        return found is None or (value.isupper() and found == "en")
    if kind == "english_lowercase":
        found = _lang(value)
        return found is None or (value.islower() and found == "en")
    if kind == "capital_word_frequency":
        n = sum(1 for w in nltk.word_tokenize(value) if w.isupper())
        return _rel(kw["capital_relation"], n, kw["capital_frequency"])
    if kind == "no_comma":
        return not re.search(r"\,", value)
    if kind == "quotation":
        value = value.strip()
        return len(value) > 1 and value[0] == '"' and value[-1] == '"'
    raise ValueError(f"unknown IFEval id {iid}")


def loose_variants(response: str) -> list[str]:
    r = response.split("\n")
    first, last, both = "\n".join(r[1:]).strip(), "\n".join(r[:-1]).strip(), "\n".join(r[1:-1]).strip()
    return [response, response.replace("*", ""), first, last, both, first.replace("*", ""), last.replace("*", ""),
            both.replace("*", "")]


def verdicts(prompts_path: str, responses_path: str, out_path: str) -> None:
    with open(prompts_path, encoding="utf-8") as f:
        prompts = [json.loads(line) for line in f]
    with open(responses_path, encoding="utf-8") as f:
        responses = {r["prompt"]: r["response"] for r in map(json.loads, f)}
    with open(out_path, "w", encoding="utf-8") as out:
        for row in prompts:
            response = responses[row["prompt"]]
            strict, loose = [], []
            for iid, kw in zip(row["instruction_id_list"], row["kwargs"], strict=True):
                kw = {k: v for k, v in kw.items() if v is not None}
                strict.append(bool(response.strip() and check(iid, kw, response, row["prompt"])))
                loose.append(any(r.strip() and check(iid, kw, r, row["prompt"]) for r in loose_variants(response)))
            out.write(json.dumps({"key": row["key"], "strict": strict, "loose": loose,
                                  "sentences": count_sentences(response)}) + "\n")


def sentences(cases_path: str, out_path: str) -> None:
    with open(cases_path, encoding="utf-8") as f:
        texts = [t.strip("\n") for t in re.split(r"^====\n", f.read(), flags=re.M)]
    with open(out_path, "w", encoding="utf-8") as out:
        for t in filter(str.strip, texts):
            out.write(json.dumps({"text": t, "sentences": count_sentences(t)}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    {"verdicts": verdicts, "sentences": sentences}[sys.argv[1]](*sys.argv[2:])

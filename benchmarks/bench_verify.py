"""Benchmark: rule verification throughput, Rust (1 thread, all threads) vs the Python reference.

Synthetic responses of realistic length (200–1,000 words, paragraphs, bullets, highlights, a title
sometimes) are paired with requirements drawn uniformly over every verifiable type with IFEval-like
parameters; each pair gets its strict and loose verdict. The Python reference is the pure-Python
port in ``wrl.verify_reference`` (IFEval's own regexes); it is timed on all pairs unless
``--reference-pairs`` is smaller. All engines run on the same pairs in one process.

The per-type table then times the same pairs grouped by requirement type, one requirement per
row (so each Rust row pays its fixed cost for one pair, where the mixed run shares it between
``--per-response`` pairs), for the Python reference and Rust on one thread.

``--language-study`` measures how often capping the language detector's input changes its answer,
on real translated text: the system's gettext catalogs (``/usr/share/locale/*/LC_MESSAGES/*.mo``).

    python benchmarks/bench_verify.py --pairs 50000
    python benchmarks/bench_verify.py --language-study
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time

import pyarrow as pa

VOCAB = ("the of and to in a is that for it as was with be by on not he I this are or his from at which but have an "
         "they you were her she there been one all we their has would when if more no out so said what up its about "
         "into than them can only other new some could time these two may then do first any my now such like our "
         "over man me even most made after also did many before must through back years where much your way well "
         "down should because each just those people Mr how too little state good very make world still own see men "
         "work long get here between both life being under never day same another know while last might us great "
         "old year off come since against go came right used take three river moon garden letter city NASA AI").split()

REQUIREMENTS = [
    ("length", lambda r: {"unit": r.choice(["words", "words", "sentences", "paragraphs", "chars"]),
                          "relation": r.choice(["at_least", "less_than", "at_most", "about"]),
                          "value": r.randint(1, 900)}),
    ("bullet_points", lambda r: {"relation": "exactly", "value": r.randint(1, 6)}),
    ("highlighted_sections", lambda r: {"relation": "at_least", "value": r.randint(1, 4)}),
    ("sections", lambda r: {"splitter": r.choice(["SECTION", "Section"]), "value": r.randint(1, 5)}),
    ("paragraph_first_word", lambda r: {"num_paragraphs": 4, "nth": r.randint(1, 4), "first_word": r.choice(VOCAB)}),
    ("json_format", lambda r: {}),
    ("title", lambda r: {}),
    ("constrained_response", lambda r: {}),
    ("two_responses", lambda r: {}),
    ("keywords", lambda r: {"keywords": r.sample(VOCAB, 2)}),
    ("keyword_frequency", lambda r: {"keyword": r.choice(VOCAB), "relation": r.choice(["at_least", "less_than"]),
                                     "value": r.randint(1, 5)}),
    ("forbidden_words", lambda r: {"words": r.sample(VOCAB, 2)}),
    ("letter_frequency", lambda r: {"letter": r.choice("aeioust"), "relation": r.choice(["at_least", "less_than"]),
                                    "value": r.randint(5, 200)}),
    ("lowercase", lambda r: {}),
    ("uppercase", lambda r: {}),
    ("capital_word_frequency", lambda r: {"relation": r.choice(["at_least", "less_than"]), "value": r.randint(1, 20)}),
    ("no_commas", lambda r: {}),
    ("quotation", lambda r: {}),
    ("response_language", lambda r: {"language": r.choice(["en", "fr", "de"])}),
    ("start_phrase", lambda r: {"phrase": "The first"}),
    ("end_phrase", lambda r: {"phrase": "Any other questions?"}),
    ("postscript", lambda r: {"marker": r.choice(["P.S.", "P.P.S"])}),
    ("placeholders", lambda r: {"relation": "at_least", "value": r.randint(1, 4)}),
    ("repeat_prompt", lambda r: {"prompt": "Write a letter to the city about the river."}),
]


def make_response(r: random.Random) -> str:
    """A response of 200–1,000 words in 2–6 paragraphs, with markdown now and then."""
    n_words = r.randint(200, 1000)
    n_par = r.randint(2, 6)
    parts = []
    if r.random() < 0.3:
        parts.append(f"<<{' '.join(r.choices(VOCAB, k=3)).title()}>>")
    words_left = n_words
    for p in range(n_par):
        k = words_left if p == n_par - 1 else words_left // (n_par - p)
        words_left -= k
        words = r.choices(VOCAB, k=k)
        for i in range(0, len(words), r.randint(8, 20)):
            words[i] = words[i].capitalize()
            if i:
                words[i - 1] += r.choice([".", ".", ".", "!", "?", ","])
        if r.random() < 0.3:
            words[r.randrange(k)] = f"*{r.choice(VOCAB)}*"
        para = " ".join(words) + "."
        if r.random() < 0.25:
            para += "\n" + "\n".join(f"* {' '.join(r.choices(VOCAB, k=6))}" for _ in range(r.randint(2, 5)))
        parts.append(para)
    if r.random() < 0.2:
        parts.append("P.S. " + " ".join(r.choices(VOCAB, k=8)))
    return ("\n***\n" if r.random() < 0.2 else "\n\n").join(parts)


def make_pairs(pairs: int, per_response: int, seed: int) -> list[tuple[str, list[tuple[str, dict]]]]:
    r = random.Random(seed)
    rows = []
    for _ in range(pairs // per_response):
        chosen = r.sample(REQUIREMENTS, per_response)
        while {"lowercase", "uppercase"} <= {t for t, _ in chosen}:  # a conflict, rejected by design
            chosen = r.sample(REQUIREMENTS, per_response)
        reqs = [(t, f(r)) for t, f in chosen]
        rows.append((make_response(r), reqs))
    return rows


REPEAT = 3  # every timing is the best of this many runs (the machine may be shared)


def best(run) -> float:
    return min(run() for _ in range(REPEAT))


def bench_rust(rows, threads: int) -> float:
    return best(lambda: _bench_rust(rows, threads))


def _bench_rust(rows, threads: int) -> float:
    from wrl.verify import verify_table

    table = pa.table({
        "response": [resp for resp, _ in rows],
        "requirements": [json.dumps([{"type": t, "params": p} for t, p in reqs]) for _, reqs in rows],
    })
    start = time.perf_counter()
    results, rejects = verify_table(table, threads=threads)
    elapsed = time.perf_counter() - start
    assert rejects.num_rows == 0, rejects.to_pylist()[:3]
    return elapsed


def bench_reference(rows) -> float:
    return best(lambda: _bench_reference(rows))


def _bench_reference(rows) -> float:
    from wrl.verify_reference import verify_reference

    start = time.perf_counter()
    for resp, reqs in rows:
        verify_reference(resp, reqs)
    return time.perf_counter() - start


def by_type(rows) -> list[tuple[str, int, float, float]]:
    """(type, pairs, Python seconds, Rust 1-thread seconds), one requirement per row."""
    groups: dict[str, list] = {}
    for resp, reqs in rows:
        for t, p in reqs:
            groups.setdefault(t, []).append((resp, [(t, p)]))
    return [(t, len(g), bench_reference(g), bench_rust(g, 1)) for t, g in sorted(groups.items())]


def language_study(caps=(500, 1000, 2000, 3000, 4000), seed: int = 0) -> None:
    """How often does whatlang answer differently on the first N characters than on the whole text?

    The engine's detector itself reads at most ``LANGUAGE_SAMPLE_CHARS`` characters, so the
    "whole text" baseline (and the caps above it) need a build whose cap is above 6,000
    characters: the table in ``docs/verify.md`` was measured with the build before the cap (which
    read up to 100 kB). With the capped build the rows above the cap repeat the cap's answer.
    """
    import gettext
    import glob
    import re

    from wrl import _core
    from wrl.verify_reference import LANGUAGES

    docs = []
    for folder in sorted(glob.glob("/usr/share/locale/*")):
        code = os.path.basename(folder).split("_")[0].split("@")[0]
        code = {"nb": "no", "nn": "no"}.get(code, code)
        if code not in LANGUAGES or code == "en":
            continue
        for path in sorted(glob.glob(folder + "/LC_MESSAGES/*.mo")):
            try:
                with open(path, "rb") as f:
                    catalog = gettext.GNUTranslations(f)._catalog
            except Exception:
                continue
            msgs = [v for k, v in catalog.items() if k and isinstance(v, str) and len(v) > 20]
            text = "\n".join(re.sub(r"%\w|\{\w*\}|<[^>]+>|&\w+;|_", "", m) for m in msgs)
            if len(text) >= 6000:
                docs.append((code, text))
    if not docs:
        print("no gettext catalogs with enough text under /usr/share/locale")
        return
    r = random.Random(seed)
    windows = []
    for code, text in docs:  # a window of response length: 200-1,000 words is about 1,200-6,000 characters
        n = r.randint(1200, 6000)
        start = r.randrange(0, len(text) - n)
        windows.append((code, text[start:start + n]))
    print(f"language detection on {len(windows):,} windows of 1,200-6,000 characters of translated text "
          f"({len({c for c, _ in windows})} languages, gettext catalogs)")
    full = [_core.detect_language(t) for _, t in windows]  # the Rust function applies the cap: compare below it
    print(f"{'first N chars':>13} {'windows cut':>11} {'same answer':>11} {'right language':>14} {'us/call':>8}")
    for cap in (*caps, None):
        sample = [t if cap is None else t[:cap] for _, t in windows]
        start = time.perf_counter()
        found = [_core.detect_language(t) for t in sample]
        us = (time.perf_counter() - start) / len(sample) * 1e6
        cut = sum(cap is not None and len(t) > cap for _, t in windows)
        same = sum(a == b for a, b in zip(found, full, strict=True))
        right = sum(f == c for f, (c, _) in zip(found, windows, strict=True))
        print(f"{cap or 'all':>13} {cut:>11,} {100 * same / len(windows):>10.2f}% "
              f"{100 * right / len(windows):>13.2f}% {us:>8.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=50_000, help="(response, requirement) pairs")
    ap.add_argument("--per-response", type=int, default=2, help="requirements per response")
    ap.add_argument("--reference-pairs", type=int, default=None, help="pairs timed for the Python reference [all]")
    ap.add_argument("--no-by-type", action="store_true", help="skip the per-type table")
    ap.add_argument("--language-study", action="store_true", help="only the language-detection cap study")
    ap.add_argument("--repeat", type=int, default=REPEAT, help="timings are the best of this many runs")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    globals()["REPEAT"] = max(1, args.repeat)
    if args.language_study:
        language_study(seed=args.seed)
        return

    rows = make_pairs(args.pairs, args.per_response, args.seed)
    n_pairs = sum(len(reqs) for _, reqs in rows)
    words = sum(len(resp.split()) for resp, _ in rows) / len(rows)
    mbytes = sum(len(resp.encode()) for resp, _ in rows) / 1e6
    ref_rows = rows if args.reference_pairs is None else rows[: max(1, args.reference_pairs // args.per_response)]
    ref_pairs = sum(len(reqs) for _, reqs in ref_rows)

    warm = make_pairs(400, args.per_response, args.seed + 1)  # other pairs: nothing timed is cached
    _bench_rust(warm, 1)  # warm-up: lazily compiled regexes, thread pool
    _bench_rust(warm, 0)
    timings = [
        ("Python reference", 1, ref_pairs, bench_reference(ref_rows)),
        ("Rust", 1, n_pairs, bench_rust(rows, 1)),
        ("Rust", os.cpu_count() or 1, n_pairs, bench_rust(rows, 0)),
    ]
    ref_rate = timings[0][2] / timings[0][3]
    print(f"verify: {n_pairs:,} (response, requirement) pairs, {len(rows):,} responses of {words:,.0f} words on "
          f"average ({mbytes:,.1f} MB), {args.per_response} requirements each, strict + loose; "
          f"{os.cpu_count()} cores")
    print(f"{'engine':<18} {'threads':>7} {'pairs':>8} {'seconds':>8} {'pairs/s':>10} {'MB/s':>7} {'speedup':>8}")
    for engine, threads, n, secs in timings:
        rate = n / secs
        mb_rate = mbytes * n / n_pairs / secs
        print(f"{engine:<18} {threads:>7} {n:>8,} {secs:>8.2f} {rate:>10,.0f} {mb_rate:>7.1f} "
              f"{rate / ref_rate:>7.1f}x")
    if args.no_by_type:
        return
    types = by_type(ref_rows)
    total_py = sum(py for _, _, py, _ in types)
    total_rs = sum(rs for _, _, _, rs in types)
    print(f"\nby type: the same {ref_pairs:,} pairs, one requirement per row; share = share of all the engine's time")
    print(f"{'type':<24} {'pairs':>6} {'Python pairs/s':>14} {'share':>6} {'Rust 1t pairs/s':>15} {'share':>6} "
          f"{'ratio':>7}")
    for t, n, py, rs in types:
        print(f"{t:<24} {n:>6,} {n / py:>14,.0f} {100 * py / total_py:>5.1f}% {n / rs:>15,.0f} "
              f"{100 * rs / total_rs:>5.1f}% {py / rs:>6.1f}x")
    n = sum(k for _, k, _, _ in types)
    print(f"{'all':<24} {n:>6,} {n / total_py:>14,.0f} {100.0:>5.1f}% {n / total_rs:>15,.0f} {100.0:>5.1f}% "
          f"{total_py / total_rs:>6.1f}x")


if __name__ == "__main__":
    main()

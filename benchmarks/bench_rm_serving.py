"""Benchmark: reward-model scoring throughput, the model alone against ``wrl serve-rm``, in one run.

The default backbone (``models/reward_backbone``, MiniLM-L6) is wrapped as a 2-label classifier with a
random score head (right for throughput) and saved to a temporary directory with its settings, then
scored on synthetic (requirement, response) pairs of realistic length (responses of 60–190 words,
cut to ``--max-length`` tokens) four ways:

(a) ``RewardModel.score_pairs`` on all pairs at once (length-sorted batches of ``--batch-size``, and of
    32 for reference: the model's own batched forward at its usual size);
(b) ``score_pairs`` one pair per call (no batching at all);
(c) ``wrl serve-rm`` (a subprocess) under ``--clients`` concurrent clients, one pair per request on the
    native ``/score`` route, so all batching is the server's;
(d) ``/predict``, one pair per request from ONE client: how the paper's server is used.

The methods run interleaved in ``--rounds`` short rounds on the same pairs, so that on a shared
machine each sees the same mix of busy and quiet spells; the table sums the rounds. Ratios: (c) over
the better of (a) and (a'), the server's cost over the model's own batched forward (target on CPU:
the server adds under 10%, i.e. a ratio >= 0.91), and (c)/(b), batching across requests against one
at a time (never below 1).

    python benchmarks/bench_rm_serving.py                      # ~2 minutes on 2 CPU cores
    python benchmarks/bench_rm_serving.py --device cuda --pairs 1024 --single-pairs 64 --clients 64
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
# Two processes share the cores here (this one and the server, as a trainer and its reward server would):
# OpenMP's default spin-waiting in the idle one starves the busy one (a /predict took 1.4 s instead of
# 0.07 s). wrl serve-rm sets the same default for itself.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

VOCAB = ("the of and to in a is that for it as was with be by on not this are or from at which but have an they you "
         "were her she there been one all we their has would when if more no out so said what up its about into than "
         "them can only other new some could time these two may then do first any my now such like our over even most "
         "made after also did many before must through back years where much your way well down should because each "
         "just those people how too little state good very make world still own see work long here between both life "
         "being under never day same another know while last might great old year off come since against river moon "
         "garden letter city rain bridge market winter train lamp harbour").split()
REQUIREMENTS = [
    "Your entire response should be in English, and in all lowercase letters.",
    "Answer with at least 150 words.",
    "Include the keywords river and lamp in the response.",
    "Do not use any commas in your response.",
    "Your answer must contain a title, wrapped in double angular brackets, such as <<poem of joy>>.",
    "End your response with the exact phrase: Is there anything else I can help with?",
    "Write in a humorous tone suitable for children.",
    "Highlight at least 2 sections in your answer with markdown, i.e. *highlighted section*.",
    "There should be 3 paragraphs, separated by the markdown divider ***.",
    "Wrap your entire response with double quotation marks.",
]


def make_pairs(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    reqs, resps = [], []
    for _ in range(n):
        words = rng.randint(60, 190)
        text = " ".join(rng.choice(VOCAB) for _ in range(words))
        resps.append(". ".join(s.capitalize() for s in text.split(" the ")) + ".")
        reqs.append(rng.choice(REQUIREMENTS))
    return reqs, resps


def build_model(backbone: Path, out: Path, max_length: int) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from wrl.reward_model import RewardModelSettings

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(backbone, num_labels=2)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(backbone).save_pretrained(out)
    RewardModelSettings(objective="pointwise", max_length=max_length, backbone=str(backbone)).save(out)


def start_server(model: Path, args: argparse.Namespace) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "wrl.cli", "serve-rm", "--model", str(model), "--port", "0",
                             "--device", args.device, "--batch-size", str(args.batch_size), "--max-batch-pairs",
                             str(args.max_batch_pairs), "--max-wait-ms", str(args.max_wait_ms)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    while True:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"the server exited with {proc.wait()}")
        if m := re.search(r" at (http://\S+)$", line.strip()):
            return proc, m.group(1)


def post(conn: http.client.HTTPConnection, path: str, body: object) -> object:
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    answer = conn.getresponse()
    data = answer.read()
    if answer.status != 200:
        raise RuntimeError(f"HTTP {answer.status}: {data[:200]!r}")
    return json.loads(data)


def health(url: str) -> dict:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request("GET", "/health")
        return json.loads(conn.getresponse().read())["stats"]
    finally:
        conn.close()


def run_clients(url: str, reqs: list[str], resps: list[str], clients: int, route: str) -> float:
    """Seconds for ``clients`` threads to score all pairs, one pair per request."""
    host, port = url.removeprefix("http://").split(":")
    lock, next_pair, errors = threading.Lock(), [0], []

    def client() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=600)
        try:
            while True:
                with lock:
                    i = next_pair[0]
                    next_pair[0] += 1
                if i >= len(reqs):
                    return
                if route == "/score":
                    post(conn, route, {"items": [{"id": i, "response": resps[i], "requirements": [reqs[i]]}]})
                else:
                    post(conn, route, {"question": reqs[i], "answer": resps[i]})
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"client error: {errors[0]}")
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backbone", type=Path, default=Path("/work/main/models/reward_backbone")
                    if not (REPO / "models/reward_backbone").is_dir() else REPO / "models/reward_backbone")
    ap.add_argument("--max-length", type=int, default=192)
    ap.add_argument("--batch-size", type=int, default=None,
                    help="pairs per forward, for the model and the server [default: wrl's, 8 on CPU, 32 on a GPU]")
    ap.add_argument("--pairs", type=int, default=32, help="pairs per round for (a) and (c)")
    ap.add_argument("--single-pairs", type=int, default=8, help="pairs per round for (b) and (d)")
    ap.add_argument("--rounds", type=int, default=10, help="interleaved rounds (different pairs each round)")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--max-batch-pairs", type=int, default=64)
    ap.add_argument("--max-wait-ms", type=float, default=5.0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    args = ap.parse_args()

    import torch

    from wrl.cli import default_batch_size
    from wrl.reward_model import RewardModel

    args.batch_size = args.batch_size or default_batch_size(args.device)

    reqs, resps = make_pairs(args.pairs * args.rounds)
    n1 = min(args.single_pairs, args.pairs)
    times: dict[str, float] = {"a": 0.0, "a32": 0.0, "b": 0.0, "c": 0.0, "d": 0.0}
    drift, batches = 0.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "rm"
        build_model(args.backbone, model_dir, args.max_length)
        rm = RewardModel.load(model_dir, device=args.device, batch_size=args.batch_size)
        rm.score_pairs(reqs[:args.batch_size], resps[:args.batch_size])  # warm-up
        tokens = sum(len(ids) for ids in rm.tokenizer(reqs, resps, truncation="only_second",
                                                      max_length=args.max_length)["input_ids"]) / len(reqs)
        proc, url = start_server(model_dir, args)
        try:
            run_clients(url, reqs[:args.clients], resps[:args.clients], args.clients, "/score")  # warm-up
            # Many short interleaved rounds, each method timed on the same pairs: on a shared machine every
            # method then sees the same mix of busy and quiet spells.
            for k in range(args.rounds):
                rq, rs = reqs[k * args.pairs:(k + 1) * args.pairs], resps[k * args.pairs:(k + 1) * args.pairs]
                t0 = time.perf_counter()
                batched = rm.score_pairs(rq, rs)
                times["a"] += time.perf_counter() - t0
                rm.batch_size = 32
                t0 = time.perf_counter()
                rm.score_pairs(rq, rs)
                times["a32"] += time.perf_counter() - t0
                rm.batch_size = args.batch_size
                t0 = time.perf_counter()
                single = [float(rm.score_pairs([r], [s])[0]) for r, s in zip(rq[:n1], rs[:n1], strict=True)]
                times["b"] += time.perf_counter() - t0
                drift = max(drift, *(abs(a - b) for a, b in zip(single, batched[:n1].tolist(), strict=True)))
                before = health(url)["batches"]
                times["c"] += run_clients(url, rq, rs, args.clients, "/score")
                batches += health(url)["batches"] - before
                times["d"] += run_clients(url, rq[:n1], rs[:n1], 1, "/predict")
        finally:
            proc.terminate()
            proc.wait(30)
    total, n1 = args.pairs * args.rounds, n1 * args.rounds
    rows = [(f"(a) RewardModel.score_pairs, batched ({args.batch_size} per forward)", total, times["a"]),
            ("(a') the same, 32 per forward", total, times["a32"]),
            ("(b) score_pairs, one pair per call", n1, times["b"]),
            (f"(c) serve-rm /score, {args.clients} clients, 1 pair/request", total, times["c"]),
            ("(d) serve-rm /predict, 1 client, 1 pair/request", n1, times["d"])]
    rate = {name.split()[0]: n / t for name, n, t in rows}
    print(f"reward-model scoring: {args.backbone.name} as a 2-label classifier, max_length {args.max_length} "
          f"(mean {tokens:.0f} tokens/pair), batch size {args.batch_size}, device {args.device}, "
          f"torch threads {torch.get_num_threads()}, {os.cpu_count()} CPUs, OMP_WAIT_POLICY "
          f"{os.environ['OMP_WAIT_POLICY']}")
    print(f"{'':<56} {'pairs':>6} {'seconds':>8} {'pairs/s':>8}")
    for name, n, t in rows:
        print(f"{name:<56} {n:>6} {t:>8.2f} {n / t:>8.2f}")
    print(f"{args.rounds} interleaved rounds of {args.pairs} pairs ({args.single_pairs} one at a time); server: "
          f"{total} pairs in {batches} batches ({total / batches:.1f} pairs per batch); batched vs one-at-a-time "
          f"score drift {drift:.1e}")
    ratios = {"server_vs_batched": rate["(c)"] / max(rate["(a)"], rate["(a')"]),
              "server_vs_one_at_a_time": rate["(c)"] / rate["(b)"],
              "server_vs_paper_predict": rate["(c)"] / rate["(d)"],
              "batched_vs_one_at_a_time": rate["(a)"] / rate["(b)"]}
    print(f"ratios: server/best batched {ratios['server_vs_batched']:.2f} (server overhead "
          f"{(1 / ratios['server_vs_batched'] - 1) * 100:+.1f}%, target < 10%); server/one-at-a-time "
          f"{ratios['server_vs_one_at_a_time']:.2f} (target >= 1); server/paper-style /predict "
          f"{ratios['server_vs_paper_predict']:.2f}; batched/one-at-a-time {ratios['batched_vs_one_at_a_time']:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"pairs_per_s": rate, "ratios": ratios, "seconds": times}, indent=2) + "\n")


if __name__ == "__main__":
    main()

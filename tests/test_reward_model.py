"""wrl.reward_model: one input format for training and scoring, and batched scoring that equals one-at-a-time."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from wrl.errors import InvalidConfigError, ModelError
from wrl.reward_model import (
    ADDED_PAD_TOKEN,
    InputFormat,
    RewardModel,
    RewardModelSettings,
    aggregate,
    encode,
    ensure_pad_token,
)

REQUIREMENTS = ["include the word bird", "end with the word rain", "write in all lowercase letters",
                "use at least three sentences"]
RESPONSES = ["a poem about a bird .", "one two three " * 40 + "rain", "hello world",
             "the sun . the river . the tree ."]


def _save_untrained(backbone: Path, out: Path, num_labels: int = 2, objective: str = "pointwise",
                    max_length: int = 64) -> Path:
    """A reward-model directory with a random (but saved) score head, as train_rm would leave it."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(backbone)
    added = ensure_pad_token(tokenizer)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(backbone, num_labels=num_labels)
    if added:
        model.resize_token_embeddings(len(tokenizer))
    model.config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    RewardModelSettings(objective=objective, max_length=max_length, backbone=str(backbone)).save(out)
    return out


@pytest.fixture(scope="module")
def encoder_rm(tiny_encoder, tmp_path_factory) -> Path:
    return _save_untrained(tiny_encoder, tmp_path_factory.mktemp("rm") / "encoder")


@pytest.fixture(scope="module")
def decoder_rm(tiny_decoder, tmp_path_factory) -> Path:
    return _save_untrained(tiny_decoder, tmp_path_factory.mktemp("rm") / "decoder", num_labels=1,
                           objective="pairwise")


# --- input format ---------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["tiny_encoder", "tiny_decoder"])
def test_truncation_cuts_the_response_never_the_requirement(which, request):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(request.getfixturevalue(which))
    fmt = InputFormat(max_length=32)
    requirement = "include the word bird and end with the word rain"
    long_response = "one two three four five six seven eight nine ten " * 20
    enc = encode(tok, fmt, [requirement, requirement], [long_response, "hello world"])
    assert enc.truncated == [True, False]
    assert all(len(ids) <= 32 for ids in enc.input_ids)
    assert len(enc.input_ids[0]) == 32
    head = tok(fmt.texts(requirement, "")[0], add_special_tokens=False)["input_ids"]
    text = tok.decode(enc.input_ids[0])
    assert "include the word bird and end with the word rain" in text  # the requirement whole
    assert any(enc.input_ids[0][i:i + len(head)] == head for i in range(4))  # at the start (after CLS)
    assert tok.decode(enc.input_ids[1]).count("hello world") == 1


def test_template_rules_and_a_requirement_too_long_for_max_length(tiny_encoder):
    from transformers import AutoTokenizer

    with pytest.raises(InvalidConfigError, match=r"\{requirement\} before \{response\}"):
        InputFormat("Response: {response} Requirement: {requirement}")
    with pytest.raises(InvalidConfigError, match="exactly once"):
        InputFormat("{requirement} {response} {response}")
    tok = AutoTokenizer.from_pretrained(tiny_encoder)
    with pytest.raises(InvalidConfigError, match="raise max_length"):
        encode(tok, InputFormat(max_length=16), ["include the word bird " * 10], ["x"])


def test_pad_token_distinct_from_eos(tiny_decoder):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_decoder)
    assert not ensure_pad_token(tok)  # the tiny decoder has its own pad already
    tok.pad_token = tok.eos_token
    assert ensure_pad_token(tok)
    assert tok.pad_token == ADDED_PAD_TOKEN and tok.pad_token_id != tok.eos_token_id
    tok2 = AutoTokenizer.from_pretrained(tiny_decoder)
    tok2.pad_token = None
    assert ensure_pad_token(tok2) and tok2.pad_token_id is not None


def test_pad_equal_to_eos_is_refused_at_scoring(decoder_rm):
    rm = RewardModel.load(decoder_rm, device="cpu")
    rm.tokenizer.pad_token = rm.tokenizer.eos_token
    with pytest.raises(ModelError, match="pad token is its eos"):
        RewardModel(rm.model, rm.tokenizer, rm.settings)


# --- loading --------------------------------------------------------------------------------------


def test_missing_score_head_is_a_model_error(tiny_encoder, tmp_path):
    import shutil

    out = tmp_path / "no_head"
    shutil.copytree(tiny_encoder, out)  # a bare BertModel: no classifier weights
    RewardModelSettings().save(out)
    with pytest.raises(ModelError, match="no trained score head.*classifier"):
        RewardModel.load(out, device="cpu")


def test_not_a_reward_model_and_no_such_directory(tiny_encoder, tmp_path):
    with pytest.raises(ModelError, match="not a wrl reward model"):
        RewardModel.load(tiny_encoder, device="cpu")
    with pytest.raises(ModelError, match="no such model"):
        RewardModel.load(tmp_path / "nothing", device="cpu")


def test_describe_names_the_settings(encoder_rm):
    rm = RewardModel.load(encoder_rm, device="cpu", batch_size=3, name="models/reward_model")
    d = rm.describe()
    assert d["model"] == d["tokenizer"] == "models/reward_model"
    assert d["max_length"] == 64 and d["batch_size"] == 3 and d["objective"] == "pointwise"


# --- batched scoring ------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["encoder_rm", "decoder_rm"])
def test_length_sorted_batches_score_as_one_at_a_time(which, request):
    path = request.getfixturevalue(which)
    batched = RewardModel.load(path, device="cpu", batch_size=3)
    single = RewardModel.load(path, device="cpu", batch_size=1)
    reqs, resps = REQUIREMENTS * 3, RESPONSES[1:] + RESPONSES + RESPONSES[:1] + RESPONSES
    a = batched.score_pairs(reqs, resps)
    b = np.array([single.score_pairs([q], [r])[0] for q, r in zip(reqs, resps, strict=True)])
    assert a.shape == (12,) and np.all((a > 0) & (a < 1))
    np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
    assert batched.truncated == 3  # the long response, three times
    assert len(batched.score_pairs([], [])) == 0


def test_decoder_score_is_read_at_the_last_real_token(decoder_rm):
    """Right-padded beside a much longer row, a pair scores as it does alone: the score is read at its last
    token, not at the padding."""
    import torch

    rm = RewardModel.load(decoder_rm, device="cpu", batch_size=8)
    assert rm.tokenizer.padding_side == "right" and rm.tokenizer.pad_token_id != rm.tokenizer.eos_token_id
    short = rm.score_pairs(["include the word bird"], ["a bird ."])[0]
    together = rm.score_pairs(["include the word bird", "include the word bird"],
                              ["a bird .", "one two three four five " * 10])[0]
    assert abs(short - together) < 1e-5
    # The model's own pooling: the logit at the last non-pad position equals the unpadded forward's last logit.
    enc = encode(rm.tokenizer, rm.format, ["include the word bird"], ["a bird ."])
    ids = enc.input_ids[0]
    padded = torch.tensor([ids + [rm.tokenizer.pad_token_id] * 7])
    with torch.inference_mode():
        alone = rm.model(input_ids=torch.tensor([ids])).logits[0, 0]
        with_pad = rm.model(input_ids=padded, attention_mask=(padded != rm.tokenizer.pad_token_id).long()).logits[0, 0]
    assert abs(float(alone) - float(with_pad)) < 1e-5
    assert abs(float(torch.sigmoid(alone)) - short) < 1e-5


def test_score_groups_requirements_per_response_and_aggregates(encoder_rm):
    rm = RewardModel.load(encoder_rm, device="cpu", batch_size=2)
    out = rm.score(RESPONSES[:2], [REQUIREMENTS[:3], REQUIREMENTS[3:]])
    flat = rm.score_pairs(REQUIREMENTS, [RESPONSES[0]] * 3 + [RESPONSES[1]])
    np.testing.assert_allclose(out[0].requirements + out[1].requirements, flat, atol=1e-6)
    assert out[0].score == pytest.approx(float(np.mean(flat[:3])))
    for how, fn in (("min", min), ("product", math.prod)):
        rm.aggregate = how
        assert rm.score(RESPONSES[:1], [REQUIREMENTS[:3]])[0].score == pytest.approx(fn(flat[:3].tolist()), abs=1e-6)
    assert rm.score(["x"], [[]])[0].score != rm.score(["x"], [[]])[0].score  # NaN: no requirements
    with pytest.raises(ValueError, match="2 responses for 1"):
        rm.score(RESPONSES[:2], [REQUIREMENTS])


def test_aggregates():
    assert aggregate([0.2, 0.4, 0.9]) == pytest.approx(0.5)
    assert aggregate([0.2, 0.4, 0.9], "min") == 0.2
    assert aggregate([0.5, 0.5], "product") == 0.25
    assert math.isnan(aggregate([], "mean"))
    with pytest.raises(InvalidConfigError, match="unknown aggregate 'max'"):
        aggregate([0.1], "max")
    with pytest.raises(InvalidConfigError, match="unknown aggregate"):
        RewardModel(None, None, RewardModelSettings(), aggregate="median")

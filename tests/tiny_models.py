"""Tiny models built locally for the tests (no hub): a word-level tokenizer, a 2-layer BERT encoder and
a 2-layer Llama decoder with a chat template, random weights from a fixed seed.

They are far too small to write or judge well; they exercise every code path (padding, truncation,
chat templates, score heads, generation, checkpoints) in seconds.
"""

from __future__ import annotations

from pathlib import Path

WORDS = (
    "write a an the poem story essay letter about rain sun city river tree bird friend home school "
    "response requirement must should not use include words word keyword keywords end with start title "
    "answer yes no in all lowercase capital letters comma commas at least most exactly sentences paragraphs "
    "bullet points json format language english quote quotes tone humorous formal for children of and or "
    "is are be it this that to my your our one two three four five six seven eight nine ten hello world "
    "p.s. section highlight placeholder name date user assistant system"
).split()
PUNCT = list(".,!?;:\"'()[]{}<>*#-_/")
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tokenizer(out: Path, *, decoder: bool) -> None:
    """A word-level tokenizer over a fixed vocabulary (lowercased words, punctuation, digits)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<|im_start|>", "<|im_end|>"]
    vocab = {t: i for i, t in enumerate(special + WORDS + PUNCT + [str(d) for d in range(10)] + ["\n"])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(),
                                                 pre_tokenizers.Digits(individual_digits=True)])
    tok.decoder = decoders.WordPiece(prefix="##")
    if decoder:
        fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                       bos_token="<|im_start|>", eos_token="<|im_end|>")
        fast.chat_template = CHAT_TEMPLATE
    else:
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
        fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                       cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    fast.model_max_length = 512
    fast.save_pretrained(out)


def build_encoder(out: Path, seed: int = 0) -> Path:
    """A 2-layer BERT (hidden size 32) with the word-level tokenizer, saved as a Hugging Face directory."""
    import torch
    from transformers import BertConfig, BertModel

    build_tokenizer(out, decoder=False)
    from transformers import AutoTokenizer

    vocab_size = len(AutoTokenizer.from_pretrained(out))
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512, pad_token_id=0)
    BertModel(config).save_pretrained(out)
    return out


def build_decoder(out: Path, seed: int = 0) -> Path:
    """A 2-layer Llama (hidden size 32) with the tokenizer and a chat template; pad is not eos."""
    import torch
    from transformers import AutoTokenizer, GenerationConfig, LlamaConfig, LlamaForCausalLM

    build_tokenizer(out, decoder=True)
    tok = AutoTokenizer.from_pretrained(out)
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
                         pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                         tie_word_embeddings=True)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                                               eos_token_id=tok.eos_token_id)
    model.save_pretrained(out)
    return out

"""Training smoke run on a tiny random BERT, and the evaluation CLI."""

import json

import pytest

from nercore import Tagger
from nercore.cli.evaluate import main as evaluate_main
from nercore.cli.train import main as train_main
from tests.conftest import build_tiny_model, tokenizer_folder

SENTENCES = [
    [("Aspirin", "B-Chemical"), ("caused", "O"), ("gastric", "B-Disease"), ("bleeding", "I-Disease"), (".", "O")],
    [
        ("Patients", "O"),
        ("on", "O"),
        ("lithium", "B-Chemical"),
        ("developed", "O"),
        ("tremor", "B-Disease"),
        (".", "O"),
    ],
    [("No", "O"), ("nephrotoxicity", "B-Disease"), ("with", "O"), ("cisplatin", "B-Chemical"), (".", "O")],
    [
        ("Haloperidol", "B-Chemical"),
        ("induced", "O"),
        ("catalepsy", "B-Disease"),
        ("in", "O"),
        ("rats", "O"),
        (".", "O"),
    ],
]


@pytest.fixture
def conll(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("\n\n".join("\n".join(f"{w}\t{t}" for w, t in s) for s in SENTENCES) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def tiny_base(tmp_path):
    """A tiny random encoder folder that transformers can read (no network)."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = tmp_path / "base"
    config = BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    )
    BertModel(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(tokenizer_folder()).save_pretrained(folder)
    return folder


def test_training_learns_a_tiny_set_and_saves_a_loadable_model(conll, tiny_base, tmp_path, capsys):
    out = tmp_path / "model"
    code = train_main(
        [
            "--train",
            str(conll),
            "--dev",
            str(conll),
            "--base-model",
            str(tiny_base),
            "--output",
            str(out),
            "--epochs",
            "40",
            "--batch-size",
            "4",
            "--lr",
            "3e-3",
            "--head-lr",
            "3e-2",
            "--crf-lr",
            "5e-2",
            "--warmup",
            "0",
            "--seed",
            "3",
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["best_dev_mean_f1"] >= 0.8  # it memorises four sentences
    tagger = Tagger.load(out, device="cpu")
    found = {(e.entity_type, e.text) for e in tagger.tag(["Aspirin caused gastric bleeding ."])[0]}
    assert ("Chemical", "Aspirin") in found
    card = (out / "README.md").read_text()
    assert "Dev scores" in card and "Chemical" in card and "| epoch |" in card


def test_training_is_reproducible_with_a_seed(conll, tiny_base, tmp_path, capsys):
    args = [
        "--train",
        str(conll),
        "--dev",
        str(conll),
        "--base-model",
        str(tiny_base),
        "--epochs",
        "2",
        "--batch-size",
        "2",
        "--seed",
        "7",
        "--pack",
    ]
    assert train_main(args + ["--output", str(tmp_path / "a")]) == 0
    assert train_main(args + ["--output", str(tmp_path / "b")]) == 0
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (tmp_path / "b" / "model.safetensors").read_bytes()
    assert (tmp_path / "a" / "head.safetensors").read_bytes() == (tmp_path / "b" / "head.safetensors").read_bytes()


def test_training_refuses_a_bad_tag_with_one_line(conll, tiny_base, tmp_path, capsys):
    bad = tmp_path / "bad.tsv"
    bad.write_text("Aspirin\tB-Chemical\nis\tQ-Thing\n", encoding="utf-8")
    code = train_main(
        ["--train", str(bad), "--dev", str(conll), "--base-model", str(tiny_base), "--output", str(tmp_path / "m")]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == f"error: {bad}:2: unknown or malformed tag 'Q-Thing'"


def test_training_refuses_bad_settings(conll, tiny_base, tmp_path, capsys):
    code = train_main(
        [
            "--train",
            str(conll),
            "--dev",
            str(conll),
            "--base-model",
            str(tiny_base),
            "--output",
            str(tmp_path / "m"),
            "--lr",
            "-1",
        ]
    )
    assert code == 2 and "expected --lr > 0" in capsys.readouterr().err


def test_evaluate_cli_json_is_one_object_with_hand_checkable_scores(tmp_path, capsys):
    model = build_tiny_model(tmp_path / "m", entity_bias=1.5)
    tagger = Tagger.load(model, device="cpu")
    text = "Aspirin caused gastric bleeding ."
    predicted = {(e.entity_type, e.start_char, e.end_char) for e in tagger.tag([text])[0]}
    gold = tmp_path / "gold.tsv"
    gold.write_text("Aspirin\tB-Chemical\ncaused\tO\ngastric\tB-Disease\nbleeding\tI-Disease\n.\tO\n", encoding="utf-8")
    gold_spans = {("Chemical", 0, 7), ("Disease", 15, 31)}
    assert evaluate_main(["--data", str(gold), "--model", str(model), "--json"]) == 0
    out = capsys.readouterr().out
    scores = json.loads(out)
    assert out.count("\n") == 1 and set(scores) == {"overall", "per_type"}
    tp = len(predicted & gold_spans)
    assert scores["overall"]["precision"] == pytest.approx(tp / len(predicted) if predicted else 0.0)
    assert scores["overall"]["recall"] == pytest.approx(tp / 2)
    assert scores["overall"]["support"] == 2


def test_evaluate_cli_reports_a_missing_model_in_one_line(tmp_path, capsys, conll):
    assert evaluate_main(["--data", str(conll), "--model", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: model folder not found") and "Traceback" not in err


def test_select_last_keeps_the_final_epoch(conll, tiny_base, tmp_path, capsys):
    out = tmp_path / "m"
    args = [
        "--train",
        str(conll),
        "--dev",
        str(conll),
        "--base-model",
        str(tiny_base),
        "--output",
        str(out),
        "--epochs",
        "3",
        "--batch-size",
        "2",
        "--select",
        "last",
    ]
    assert train_main(args) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["best_epoch"] == 3
    assert json.loads((out / "nercore.json").read_text())["training"]["best_epoch"] == 3


def test_model_card_warns_when_dev_data_is_training_data(conll, tiny_base, tmp_path):
    out = tmp_path / "m"
    assert (
        train_main(
            [
                "--train",
                str(conll),
                "--dev",
                str(conll),
                "--base-model",
                str(tiny_base),
                "--output",
                str(out),
                "--epochs",
                "1",
            ]
        )
        == 0
    )
    assert "also training data" in (out / "README.md").read_text()


def test_packed_sentences_keep_order_and_tags_and_fit_the_window():
    import random

    from transformers import AutoTokenizer

    from nercore.corpora.documents import Sentence
    from nercore.labels import to_bio
    from nercore.training.examples import pack_sentences

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_folder())
    rng = random.Random(0)
    sentences = [Sentence(tuple(w for w, _ in s), tuple(t for _, t in s)) for s in SENTENCES * 30]
    # IOB1: an I- tag that opens a sentence starts an entity; it must not join the previous one.
    sentences.append(Sentence(("lithium", "toxicity"), ("I-Chemical", "I-Disease")))
    sentences.append(Sentence(("cisplatin", "."), ("I-Chemical", "O")))
    packed = pack_sentences(sentences, tokenizer, 20, rng)
    assert [t for s in packed for t in s.tokens] == [t for s in sentences for t in s.tokens]
    assert [t for s in packed for t in s.tags] == [t for s in sentences for t in to_bio(s.tags)]
    sizes = [len(tokenizer(" ".join(s.tokens), add_special_tokens=False)["input_ids"]) for s in packed]
    originals = {" ".join(s.tokens) for s in sentences}
    assert all(size <= 20 or " ".join(s.tokens) in originals for s, size in zip(packed, sizes))
    assert any(" ".join(s.tokens) in originals for s in packed)  # some stay single sentences
    assert max(len(s.tokens) for s in packed) > max(len(s.tokens) for s in sentences)  # some join several
    assert pack_sentences(sentences, tokenizer, 20, random.Random(0)) == packed  # seeded, reproducible

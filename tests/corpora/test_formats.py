"""Annotation tools' exports: readers, the span policy, conversion, and one path to training examples."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from nercore.cli.convert import main as convert_main
from nercore.cli.evaluate import main as evaluate_main
from nercore.corpora.annotations import SpanPolicy, utf16_to_codepoints
from nercore.corpora.documents import DataError, Document
from nercore.corpora.formats import FORMATS, ReadOptions, detect_format, load_documents, read_annotated, write_documents
from nercore.entity import Entity
from nercore.evaluation.tagger import evaluate_documents
from tests.conftest import tokenizer_folder

# CRLF, an emoji before every span (UTF-16 and code-point offsets differ), non-ASCII letters.
TEXT = "Pt 😀 has type 2 diabetes\r\nand café-induced gastritis; no CHF.\r\nRenal and hepatic failure."


def at(fragment: str, occurrence: int = 0) -> tuple[int, int]:
    starts = [m.start() for m in re.finditer(re.escape(fragment), TEXT)]
    return starts[occurrence], starts[occurrence] + len(fragment)


def utf16(offset: int) -> int:
    return len(TEXT[:offset].encode("utf-16-le")) // 2


# What every reader's export below annotates (label, fragment text): five good spans, then the
# problems: a boundary inside a word ("CH" of "CHF"), a span nested in another ("diabetes"), and
# a label outside the types ("Person").
SPANS = [
    ("Disease", "type 2 diabetes"),
    ("Chemical", "café"),
    ("Disease", "gastritis"),
    ("Disease", "hepatic failure"),
    ("Disease", "CH"),
    ("Disease", "diabetes"),
    ("Person", "Pt"),
]
EXPECTED = {
    ("Disease", "type 2 diabetes"),
    ("Chemical", "café"),
    ("Disease", "gastritis"),
    ("Disease", "hepatic failure"),
    ("Disease", "CHF"),
}
TRAINING = SpanPolicy(types=("Chemical", "Disease"), on_misaligned="snap", overlaps="longest")


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(tokenizer_folder())


def labelstudio_export(tmp_path: Path, utf16_offsets: bool = False) -> Path:
    def region(k, label, fragment):
        start, end = at(fragment)
        if utf16_offsets:
            start, end = utf16(start), utf16(end)
        return {
            "id": f"r{k}",
            "from_name": "label",
            "to_name": "text",
            "type": "labels",
            "value": {"start": start, "end": end, "text": fragment, "labels": [label]},
        }

    tasks = [
        {
            "id": 7,
            "data": {"note": TEXT},
            "annotations": [
                {
                    "id": 1,
                    "was_cancelled": False,
                    "updated_at": "2026-01-01T10:00:00Z",
                    "result": [region(0, "Disease", "gastritis")],
                },
                {
                    "id": 2,
                    "was_cancelled": False,
                    "updated_at": "2026-01-02T10:00:00Z",
                    "result": [region(k, lab, f) for k, (lab, f) in enumerate(SPANS)],
                },
                {"id": 3, "was_cancelled": True, "updated_at": "2026-01-03T10:00:00Z", "result": []},
            ],
            "predictions": [{"result": [region(99, "Disease", "Renal")]}],
        },
        {"id": 8, "data": {"note": "never labelled"}, "annotations": []},
    ]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    return path


def doccano_export(tmp_path: Path) -> Path:
    half = len(SPANS) // 2
    lines = [
        {"id": 1, "text": TEXT, "label": [[*at(f), lab] for lab, f in SPANS[:half]]},
        {
            "id": 2,
            "text": TEXT,
            "entities": [
                {"id": k, "start_offset": at(f)[0], "end_offset": at(f)[1], "label": lab}
                for k, (lab, f) in enumerate(SPANS[half:])
            ],
        },
    ]
    path = tmp_path / "doccano.jsonl"
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    return path


def prodigy_export(tmp_path: Path) -> Path:
    spans = [{"start": at(f)[0], "end": at(f)[1], "label": lab} for lab, f in SPANS]
    lines = [
        {"text": TEXT, "spans": spans, "answer": "accept", "meta": {"id": "note-1"}},
        {"text": "rejected example", "spans": [], "answer": "reject"},
        {"text": "skipped example", "spans": [], "answer": "ignore"},
    ]
    path = tmp_path / "prodigy.jsonl"
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    return path


def brat_export(tmp_path: Path) -> Path:
    folder = tmp_path / "brat"
    folder.mkdir()
    with open(folder / "note-1.txt", "w", encoding="utf-8", newline="") as f:
        f.write(TEXT)
    lines = [f"T{k + 1}\t{lab} {at(f)[0]} {at(f)[1]}\t{f}" for k, (lab, f) in enumerate(SPANS)]
    renal, failure = at("Renal"), at("failure")
    lines.append(f"T9\tDisease {renal[0]} {renal[1]};{failure[0]} {failure[1]}\tRenal failure")  # discontinuous
    lines.append("R1\tCauses Arg1:T2 Arg2:T3")
    (folder / "note-1.ann").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def texts_of(doc: Document) -> set[tuple[str, str]]:
    return {(t, doc.text[s:e]) for t, s, e in doc.spans}


def test_label_studio_latest_submitted_annotation_counts_and_problems_are_counted(tmp_path, tokenizer):
    path = labelstudio_export(tmp_path)
    docs, report = load_documents(path, "labelstudio", TRAINING, tokenizer, ReadOptions(text_field="note"))
    assert len(docs) == 1 and docs[0].doc_id == "7" and docs[0].text == TEXT  # CRLF kept
    assert texts_of(docs[0]) == EXPECTED
    assert report.counts["tasks_unlabelled"] == 1
    assert report.problems() == {"misaligned": 1, "overlapping": 1, "unknown_label": 1}
    assert report.kept == 5 and report.spans == len(SPANS)


def test_label_studio_utf16_offsets_are_converted_from_the_stored_text(tmp_path, tokenizer):
    path = labelstudio_export(tmp_path, utf16_offsets=True)
    assert utf16(at("gastritis")[0]) == at("gastritis")[0] + 1  # the emoji is two UTF-16 units
    docs, report = load_documents(path, "labelstudio", TRAINING, tokenizer, ReadOptions(text_field="note"))
    assert texts_of(docs[0]) == EXPECTED
    assert report.counts["utf16_converted"] == len(SPANS) - 1  # all but "Pt", before the emoji
    forced, _ = load_documents(
        path, "labelstudio", TRAINING, tokenizer, ReadOptions(text_field="note", offsets="utf16")
    )
    assert forced == docs


def test_label_studio_names_a_missing_text_field(tmp_path):
    path = labelstudio_export(tmp_path)
    with pytest.raises(DataError, match=r"task 1: expected a text in data.text, found keys \['note'\]"):
        read_annotated(path, "labelstudio")


def test_doccano_reads_both_label_forms(tmp_path, tokenizer):
    docs, report = load_documents(doccano_export(tmp_path), "doccano", TRAINING, tokenizer)
    assert [d.doc_id for d in docs] == ["1", "2"]
    assert texts_of(docs[0]) | texts_of(docs[1]) == EXPECTED | {("Disease", "diabetes")}  # nested only in one document
    assert report.problems() == {"misaligned": 1, "unknown_label": 1}


def test_prodigy_keeps_only_accepted_examples(tmp_path, tokenizer):
    docs, report = load_documents(prodigy_export(tmp_path), "spacy", TRAINING, tokenizer)
    assert [d.doc_id for d in docs] == ["note-1"] and texts_of(docs[0]) == EXPECTED
    assert report.counts["examples_rejected"] == 1 and report.counts["examples_ignored"] == 1


def test_brat_keeps_crlf_offsets_and_counts_discontinuous_spans(tmp_path, tokenizer):
    folder = brat_export(tmp_path)
    docs, report = load_documents(folder, "brat", TRAINING, tokenizer)
    assert docs[0].text == TEXT
    assert texts_of(docs[0]) == EXPECTED | {("Disease", "Renal")}  # first fragment kept
    assert report.problems() == {"discontinuous": 1, "misaligned": 1, "overlapping": 1, "unknown_label": 1}
    assert report.counts["brat_other_lines"] == 1
    skipped, _ = load_documents(folder, "brat", SpanPolicy(("Chemical", "Disease"), discontinuous="skip"), tokenizer)
    assert texts_of(skipped[0]) == EXPECTED


def test_misaligned_spans_can_be_skipped_kept_or_refused(tmp_path, tokenizer):
    path = prodigy_export(tmp_path)
    skipped, _ = load_documents(path, "spacy", SpanPolicy(("Chemical", "Disease"), on_misaligned="skip"), tokenizer)
    assert texts_of(skipped[0]) == EXPECTED - {("Disease", "CHF")}
    kept, report = load_documents(
        path, "spacy", SpanPolicy(("Chemical", "Disease"), on_misaligned="keep", overlaps="keep"), tokenizer
    )
    assert ("Disease", "CH") in texts_of(kept[0]) and ("Disease", "diabetes") in texts_of(kept[0])
    assert report.problems() == {"misaligned": 1, "overlapping": 1, "unknown_label": 1}
    with pytest.raises(
        DataError, match=r"document note-1: span line 1 #5 \(Disease, \d+-\d+\): a boundary falls inside a word"
    ):
        load_documents(path, "spacy", SpanPolicy(("Chemical", "Disease"), on_misaligned="error"), tokenizer)


def test_strict_names_file_document_and_span_but_never_the_text(tmp_path, tokenizer):
    folder = brat_export(tmp_path)
    with pytest.raises(DataError) as err:
        load_documents(folder, "brat", SpanPolicy(("Chemical", "Disease"), strict=True), tokenizer)
    message = str(err.value)
    assert message.startswith(f"{folder}: document note-1: span T5 (Disease, {at('CH')[0]}-{at('CH')[1]}): misaligned")
    assert "CHF" not in message and "diabetes" not in message


def test_a_corrupt_offset_is_an_error_with_the_text_length(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps({"text": "short", "spans": [{"start": 2, "end": 9, "label": "Disease"}]}) + "\n", encoding="utf-8"
    )
    with pytest.raises(DataError, match=r"has offsets 2-9, expected 0 <= start < end <= 5"):
        read_annotated(path, "spacy")


def test_utf16_map_matches_python_encoding():
    mapping = utf16_to_codepoints(TEXT)
    for offset in range(len(TEXT) + 1):
        assert mapping[utf16(offset)] == offset
    assert utf16_to_codepoints("no astral characters") is None


def test_formats_are_detected_from_content(tmp_path):
    assert detect_format(labelstudio_export(tmp_path)) == "labelstudio"
    assert detect_format(doccano_export(tmp_path)) == "doccano"
    assert detect_format(prodigy_export(tmp_path)) == "spacy"
    assert detect_format(brat_export(tmp_path)) == "brat"
    (tmp_path / "a.tsv").write_text("Aspirin\tB-Chemical\n", encoding="utf-8")
    assert detect_format(tmp_path / "a.tsv") == "conll"
    (tmp_path / "b.tsv").write_text("-DOCSTART- -X- O O\n\nAspirin\tB-Chemical\n", encoding="utf-8")
    assert detect_format(tmp_path / "b.tsv") == "conll"
    (tmp_path / "p.txt").write_text("1|t|Title\n1|a|Abstract\n", encoding="utf-8")
    assert detect_format(tmp_path / "p.txt") == "pubtator"
    (tmp_path / "x.txt").write_text("plain text\n", encoding="utf-8")
    with pytest.raises(DataError, match="pass --format"):
        detect_format(tmp_path / "x.txt")


# -- one path, identical scores ---------------------------------------------------------------

PUBTATOR = """\
101|t|Familial adenomatous polyposis and colorectal cancer.
101|a|Patients with FAP develop colorectal cancer; APC mutations cause FAP.
101\t0\t30\tFamilial adenomatous polyposis\tSpecificDisease\tD011125
101\t35\t52\tcolorectal cancer\tDiseaseClass\tD015179
101\t68\t71\tFAP\tSpecificDisease\tD011125
101\t80\t97\tcolorectal cancer\tDiseaseClass\tD015179
101\t119\t122\tFAP\tSpecificDisease\tD011125

102|t|Myotonic dystrophy in two sisters.
102|a|Both had cataracts and myotonic dystrophy type 1.
102\t0\t18\tMyotonic dystrophy\tSpecificDisease\tD009223
102\t44\t53\tcataracts\tDisease\tD002386
102\t58\t83\tmyotonic dystrophy type 1\tSpecificDisease\tD009223
"""


class KeywordTagger:
    """Finds a fixed list of words: some gold mentions, some not, some partly (non-trivial scores)."""

    WORDS = ("colorectal cancer", "FAP", "cataracts", "myotonic dystrophy", "sisters")

    def tag(self, texts):
        pattern = "|".join(self.WORDS)
        return [
            [
                Entity(entity_type="Disease", start_char=m.start(), end_char=m.end(), text=m.group(0), score=1.0)
                for m in re.finditer(pattern, t)
            ]
            for t in texts
        ]


def test_pubtator_through_every_format_gives_the_same_documents_and_scores(tmp_path):
    source = tmp_path / "gold.txt"
    source.write_text(PUBTATOR, encoding="utf-8")
    policy = SpanPolicy(on_misaligned="keep", overlaps="keep")
    reference, _ = load_documents(source, "pubtator", policy)
    for doc in reference:
        assert all(doc.text[s:e] for _, s, e in doc.spans)
    expected = evaluate_documents(KeywordTagger(), reference)
    assert 0 < expected.overall.f1 < 1
    for fmt in FORMATS:
        if fmt == "conll":
            continue  # CoNLL re-tokenises the text (tested below)
        out = tmp_path / f"as-{fmt}"
        write_documents(reference, out, fmt)
        docs, report = load_documents(out, fmt, policy)
        assert [(d.text, d.spans) for d in docs] == [(d.text, d.spans) for d in reference], fmt
        assert evaluate_documents(KeywordTagger(), docs) == expected, fmt
        assert report.problems() == {}


def test_convert_cli_round_trip_and_conll_output(tmp_path, capsys):
    source = tmp_path / "gold.txt"
    source.write_text(PUBTATOR, encoding="utf-8")
    assert convert_main([str(source), str(tmp_path / "ls.json"), "--to", "labelstudio"]) == 0
    assert (
        convert_main(
            [str(tmp_path / "ls.json"), str(tmp_path / "back.txt"), "--from", "labelstudio", "--to", "pubtator"]
        )
        == 0
    )
    assert (tmp_path / "back.txt").read_text(encoding="utf-8").split("\n\n")[0].splitlines()[2:] == [
        line.rsplit("\t", 1)[0].replace("SpecificDisease", "Disease").replace("DiseaseClass", "Disease") + "\t-"
        for line in PUBTATOR.split("\n\n")[0].splitlines()[2:]
    ]
    assert convert_main([str(tmp_path / "ls.json"), str(tmp_path / "out.tsv"), "--to", "conll"]) == 0
    conll = (tmp_path / "out.tsv").read_text(encoding="utf-8")
    assert "Familial\tB-Disease\nadenomatous\tI-Disease\npolyposis\tI-Disease\nand\tO\n" in conll
    assert "converted: " in capsys.readouterr().err
    assert convert_main([str(tmp_path / "missing.json"), str(tmp_path / "x"), "--to", "brat"]) == 2


def test_evaluate_cli_scores_every_format_alike(tmp_path, tiny_model_dir, capsys):
    source = tmp_path / "gold.txt"
    source.write_text(PUBTATOR, encoding="utf-8")
    results = {}
    for fmt in ("pubtator", "labelstudio", "brat"):
        path = source if fmt == "pubtator" else tmp_path / f"as-{fmt}"
        if fmt != "pubtator":
            assert convert_main([str(source), str(path), "--to", fmt]) == 0
        capsys.readouterr()
        assert evaluate_main(["--data", str(path), "--model", str(tiny_model_dir), "--json"]) == 0
        captured = capsys.readouterr()
        results[fmt] = json.loads(captured.out)
        assert "data: " in captured.err and "8 spans" in captured.err
    assert results["labelstudio"] == results["pubtator"] == results["brat"]
    assert results["pubtator"]["overall"]["support"] == 8


# -- training examples --------------------------------------------------------------------------


def test_word_labels_and_windows_follow_the_tagger(tokenizer):
    from nercore.labels import LabelSet
    from nercore.tagging.preprocess import encode_texts, window_bounds
    from nercore.training.examples import document_examples, word_labels

    label_set = LabelSet(["Chemical", "Disease"])
    text = "Aspirin caused gastric bleeding ."
    doc = Document("d", text, (("Chemical", 0, 7), ("Disease", 15, 31)))
    (encoded,) = encode_texts(tokenizer, [text])
    labels = [label_set.labels[i] for i in word_labels(encoded, doc.spans, label_set)]
    assert labels == ["B-Chemical", "O", "B-Disease", "I-Disease", "O"]
    long_doc = Document("long", " ".join([text] * 30), ())
    (long_encoded,) = encode_texts(tokenizer, [long_doc.text])
    examples = document_examples([long_doc], tokenizer, label_set, 30, 20)
    bounds = window_bounds(long_encoded, 30, 20)
    assert len(examples) == len(bounds) > 1  # several windows, as at inference
    assert all(len(e.input_ids) == hi - lo + 2 for e, (lo, hi) in zip(examples, bounds))


def test_training_from_a_label_studio_export_end_to_end(tmp_path, capsys):
    from nercore import Tagger
    from nercore.cli.train import main as train_main
    from tests.training.test_train_and_evaluate import SENTENCES

    docs = []
    for i, sentence in enumerate(SENTENCES):
        text, spans, pos = "", [], 0
        for word, tag in sentence:
            if tag.startswith("B-"):
                spans.append([tag[2:], pos, pos + len(word)])
            elif tag.startswith("I-"):
                spans[-1][2] = pos + len(word)
            text += word + " "
            pos += len(word) + 1
        docs.append(Document(str(i), text.rstrip() + "\r\n", tuple(tuple(s) for s in spans)))
    export = tmp_path / "export.json"
    write_documents(docs, export, "labelstudio")
    base = tmp_path / "base"
    from transformers import BertConfig, BertModel

    BertModel(
        BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    ).save_pretrained(base)
    AutoTokenizer.from_pretrained(tokenizer_folder()).save_pretrained(base)
    out = tmp_path / "model"
    code = train_main(
        [
            "--train",
            str(export),
            "--dev",
            str(export),
            "--base-model",
            str(base),
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
    captured = capsys.readouterr()
    assert code == 0
    assert f"data: {export}: 4 documents, 8 spans, 8 kept" in captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["best_dev_mean_f1"] >= 0.8
    found = {
        (e.entity_type, e.text) for e in Tagger.load(out, device="cpu").tag(["Aspirin caused gastric bleeding ."])[0]
    }
    assert ("Chemical", "Aspirin") in found
    assert "## Data as read" in (out / "README.md").read_text()


def test_training_strict_stops_at_an_unrepresentable_span(tmp_path, capsys):
    from nercore.cli.train import main as train_main

    path = prodigy_export(tmp_path)
    code = train_main(
        [
            "--train",
            str(path),
            "--dev",
            str(path),
            "--base-model",
            str(tokenizer_folder()),
            "--output",
            str(tmp_path / "m"),
            "--strict",
            "--types",
            "Disease,Chemical",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and err.startswith(f"error: {path}: document note-1: span line 1 #5 (Disease,")

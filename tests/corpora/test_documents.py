import pytest

from nercore.corpora.documents import DataError, Sentence, join_sentences, read_conll, read_pubtator


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_conll_reader_converts_bioes_and_joins_tokens(tmp_path):
    path = write(
        tmp_path, "a.tsv", "Aspirin\tS-Chemical\ncauses\tO\nliver\tB-Disease\ninjury\tE-Disease\n\n\nNext\tO\n"
    )
    sentences = read_conll(path)
    assert sentences[0] == Sentence(
        ("Aspirin", "causes", "liver", "injury"), ("B-Chemical", "O", "B-Disease", "I-Disease")
    )
    text, spans = sentences[0].text_and_spans()
    assert text == "Aspirin causes liver injury"
    assert [text[s:e] for _, s, e in spans] == ["Aspirin", "liver injury"]
    assert len(sentences) == 2


@pytest.mark.parametrize(
    "content,message",
    [
        ("", "empty file"),
        ("\n\n", "empty file"),
        ("word\tB-\n", ":1: unknown or malformed tag"),
        ("ok\tO\nword B-X\n", ":2: expected 'token<TAB>tag'"),
        ("a\tO\nb\tZ-Disease\n", ":2:"),
    ],
)
def test_conll_errors_name_file_and_line(tmp_path, content, message):
    path = write(tmp_path, "bad.tsv", content)
    with pytest.raises(DataError, match=message) as err:
        read_conll(path)
    assert "bad.tsv" in str(err.value)


def test_joined_sentences_keep_gold_spans_on_the_joined_text():
    sentences = [
        Sentence(("Aspirin", "causes", "liver", "injury"), ("B-Chemical", "O", "B-Disease", "I-Disease")),
        Sentence(("No", "fever", "."), ("O", "B-Disease", "O")),
        Sentence(("Lithium",), ("B-Chemical",)),
    ]
    docs = join_sentences(sentences, 2)
    assert [d.text for d in docs] == ["Aspirin causes liver injury No fever .", "Lithium"]
    assert [[d.text[s:e] for _, s, e in d.spans] for d in docs] == [["Aspirin", "liver injury", "fever"], ["Lithium"]]
    assert [t for d in docs for t, _, _ in d.spans] == ["Chemical", "Disease", "Disease", "Chemical"]
    with pytest.raises(ValueError, match="per_document >= 1"):
        join_sentences(sentences, 0)


def test_pubtator_reader(tmp_path):
    path = write(
        tmp_path,
        "p.txt",
        "1|t|Fever and ataxia.\n1|a|Ataxia-telangiectasia is "
        "rare.\n1\t10\t16\tataxia\tSpecificDisease\tD1\n1\t18\t39\tAtaxia-telangiectasia\tDiseaseClass\tD2\n\n",
    )
    (doc,) = read_pubtator(path)
    assert doc.text == "Fever and ataxia. Ataxia-telangiectasia is rare."
    assert [doc.text[s:e] for _, s, e in doc.spans] == ["ataxia", "Ataxia-telangiectasia"]
    assert {t for t, _, _ in doc.spans} == {"Disease"}
    with pytest.raises(DataError, match="unknown entity type"):
        read_pubtator(write(tmp_path, "q.txt", "1|t|x\n1|a|y\n1\t0\t1\tx\tGene\tG\n"))

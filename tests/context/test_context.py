"""Clinical context: trigger scope and termination, pseudo-triggers, cues inside entities,
sections, rule files, the evaluation CLI, and the figures on the ConText dev set."""

import json
from pathlib import Path

import pytest

from nercore import Entity
from nercore.cli.context_eval import main as eval_main
from nercore.context.engine import Context, ContextFinder, compute_context
from nercore.context.rules import DEFAULT_SECTIONS, DEFAULT_TRIGGERS, ContextRules
from nercore.context.sections import SectionFinder
from nercore.evaluation.context import locate

DEV = Path(__file__).resolve().parents[3] / "shared" / "data" / "context" / "context_dev.tsv"


def ctx(text: str, mention: str, occurrence: int = 0) -> Context:
    """The context of the ``occurrence``-th ``mention`` in ``text``."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(mention, start + 1)
    return compute_context(text, [(start, start + len(mention))])[0]


# -- the four examples of the issue --------------------------------------------------------
def test_the_same_disease_in_four_contexts():
    text = (
        "No evidence of pneumonia. History of pneumonia in 2019. Return if you develop pneumonia. "
        "Her mother had pneumonia."
    )
    got = [ctx(text, "pneumonia", i) for i in range(4)]
    assert [c.negation for c in got] == ["negated", "affirmed", "affirmed", "affirmed"]
    assert [c.temporality for c in got] == ["recent", "historical", "hypothetical", "recent"]
    assert [c.experiencer for c in got] == ["patient", "patient", "patient", "other"]


# -- scope ---------------------------------------------------------------------------------
def test_forward_trigger_covers_a_list_up_to_the_sentence_end():
    text = "No wheezes, rales, or rhonchi. Crackles at the bases."
    assert ctx(text, "wheezes").negation == "negated"
    assert ctx(text, "rhonchi").negation == "negated"
    assert ctx(text, "Crackles").negation == "affirmed"  # a new sentence ends the scope


def test_backward_trigger():
    assert ctx("Pulmonary embolism was ruled out.", "Pulmonary embolism").negation == "negated"
    assert ctx("Pneumonia is unlikely.", "Pneumonia").negation == "negated"
    assert ctx("Pneumonia is present.", "Pneumonia").negation == "affirmed"


@pytest.mark.parametrize("terminator", ["but", "however", ";", "although", "which"])
def test_terminators_end_a_scope(terminator):
    text = f"She denies chest pain {terminator} reports dyspnea on exertion."
    assert ctx(text, "chest pain").negation == "negated"
    assert ctx(text, "dyspnea").negation == "affirmed"


def test_category_specific_terminator_ends_only_its_category():
    text = "History of asthma, now presents with no wheezing and currently has cough."
    assert ctx(text, "asthma").temporality == "historical"
    assert ctx(text, "cough").temporality == "recent"  # "now"/"currently" end historical scopes
    assert ctx(text, "wheezing").negation == "negated"


def test_max_scope_limits_a_trigger():
    # "mother" reaches at most 5 words away (max_scope 6 in the shipped rules)
    near = "Her mother has breast cancer."
    far = "Her mother drove her to the clinic this morning for her scheduled evaluation of worsening migraine."
    assert ctx(near, "breast cancer").experiencer == "other"
    assert ctx(far, "migraine").experiencer == "patient"


def test_nearest_trigger_wins():
    assert ctx("No possible pneumonia.", "pneumonia").negation == "possible"
    assert ctx("Possible, no pneumonia.", "pneumonia").negation == "negated"


def test_uncertainty_cues():
    for text in (
        "Possible pneumonia.",
        "Cannot rule out pneumonia.",
        "Findings concerning for pneumonia.",
        "Pneumonia cannot be excluded.",
    ):
        assert ctx(text, "neumonia").negation == "possible", text


# -- pseudo-triggers and cues inside entities ---------------------------------------------
@pytest.mark.parametrize(
    "text, mention",
    [
        ("No increase in the pleural effusion.", "pleural effusion"),
        ("Not only pain but also swelling.", "pain"),
        ("Gram negative rods in the culture.", "rods"),
        ("The wound closed without difficulty, with erythema.", "erythema"),
        ("Three-day history of cough.", "cough"),
    ],
)
def test_pseudo_triggers_do_not_fire(text, mention):
    c = ctx(text, mention)
    assert (c.negation, c.temporality) == ("affirmed", "recent")


def test_a_cue_inside_the_entity_does_not_apply_to_it():
    text = "Colonoscopy showed diverticulosis without diverticulitis."
    assert ctx(text, "diverticulosis without diverticulitis").negation == "affirmed"
    # as two entities, the second is negated by the cue between them
    start = text.index("diverticulosis")
    second = text.index("diverticulitis")
    got = compute_context(text, [(start, start + len("diverticulosis")), (second, second + len("diverticulitis"))])
    assert [c.negation for c in got] == ["affirmed", "negated"]


def test_whitespace_runs_and_case_do_not_break_multi_word_cues():
    assert ctx("There was NO   EVIDENCE\n OF gastric varices.", "gastric varices").negation == "negated"
    assert ctx("STATUS   POST appendectomy.", "appendectomy").temporality == "historical"


def test_years_and_ago():
    assert ctx("Myocardial infarction in 2019.", "Myocardial infarction").temporality == "historical"
    assert ctx("Fracture of the wrist 3 years ago.", "Fracture").temporality == "historical"
    assert ctx("Laceration of the hand 3 days ago.", "Laceration").temporality == "recent"


# -- sections ------------------------------------------------------------------------------
NOTE = (
    "CHIEF COMPLAINT: Cough.\n"
    "PAST MEDICAL HISTORY: Hypertension, no diabetes.\n"
    "Family History\n"
    "Colon cancer in her father; breast cancer.\n"
    "Social history: Smokes.\n"
    "PHYSICAL EXAM:, Lungs clear. Extremities: No edema.\n"
    "ASSESSMENT AND PLAN: Bronchitis."
)


@pytest.mark.parametrize(
    "mention, section, temporality, experiencer",
    [
        ("Cough", "chief_complaint", "recent", "patient"),
        ("Hypertension", "past_medical_history", "historical", "patient"),
        ("Colon cancer", "family_history", "historical", "other"),
        ("breast cancer", "family_history", "historical", "other"),  # the section, no cue of its own
        ("Smokes", "social_history", "historical", "patient"),
        ("edema", "physical_exam", "recent", "patient"),
        ("Bronchitis", "assessment_and_plan", "recent", "patient"),
    ],
)
def test_sections_name_and_imply(mention, section, temporality, experiencer):
    c = ctx(NOTE, mention)
    assert (c.section, c.temporality, c.experiencer) == (section, temporality, experiencer)


def test_a_colon_header_does_not_cancel_the_negation_after_it():
    assert ctx(NOTE, "edema").negation == "negated"
    assert ctx(NOTE, "diabetes").negation == "negated"


def test_headers_in_title_case_alone_on_a_line_and_mid_line_upper_case():
    finder = SectionFinder(ContextRules.load().sections)
    text = "Past Surgical History\nAppendectomy.\nreport header   CLINICAL HISTORY:  Status post liver transplant."
    assert [s.name for s in finder.find(text)] == ["past_surgical_history", "indications"]
    # a listed phrase inside prose is not a header
    assert finder.find("The patient's family history is unremarkable.") == []
    assert ctx("Her past medical history is long. She has gout.", "gout").section is None


def test_an_unlisted_upper_case_header_ends_the_section_before_it():
    text = "PAST MEDICAL HISTORY: Asthma. ANESTHESIA: General. Fever noted."
    c = ctx(text, "Fever")
    assert (c.section, c.temporality) == ("anesthesia", "recent")


def test_a_header_also_ends_a_sentence():
    text = "COMPLICATIONS: None POSTOPERATIVE DIAGNOSIS(ES): 1) Polyp in the colon 2) Hemorrhoids"
    assert ctx(text, "Polyp").negation == "affirmed"
    assert ctx(text, "Polyp").section == "diagnoses"
    assert ctx(text, "Hemorrhoids").negation == "affirmed"


def test_no_header_gives_no_section():
    assert ctx("No fever today.", "fever").section is None


# -- the Entity API ------------------------------------------------------------------------
def test_apply_sets_fields_and_leaves_offsets_alone():
    text = "PMH: asthma.\r\nNo fever. Ünïcode pneumonia."
    spans = [("asthma", "Disease"), ("fever", "Disease"), ("pneumonia", "Disease")]
    entities = [
        Entity(entity_type=kind, start_char=text.index(m), end_char=text.index(m) + len(m), text=m, score=0.9)
        for m, kind in spans
    ]
    out = ContextFinder().apply(text, entities)
    assert [(e.start_char, e.end_char, e.text, e.score) for e in out] == [
        (e.start_char, e.end_char, e.text, e.score) for e in entities
    ]
    assert all(text[e.start_char : e.end_char] == e.text for e in out)
    assert [(e.negation, e.temporality, e.section) for e in out] == [
        ("affirmed", "historical", "past_medical_history"),
        ("negated", "historical", "past_medical_history"),
        ("affirmed", "historical", "past_medical_history"),
    ]  # the section lasts until the next header
    assert (
        Entity(entity_type="Disease", start_char=0, end_char=1, text="x", score=1.0).negation is None
    )  # not computed unless asked


def test_empty_inputs():
    assert compute_context("", []) == []
    assert compute_context("No fever", []) == []
    assert compute_context("   ", [(0, 0)]) == [Context()]


# -- rule files ----------------------------------------------------------------------------
def test_shipped_rules_load_and_state_their_sources():
    rules = ContextRules.load()
    assert len(rules.triggers) > 150 and len(rules.sections) > 80
    assert all(t.source for t in rules.triggers) and all(s.source for s in rules.sections)


def test_users_extend_the_rules_with_their_own_file(tmp_path):
    triggers = tmp_path / "context.tsv"
    triggers.write_text(DEFAULT_TRIGGERS.read_text() + "ausgeschlossen\tNEGATED\tbackward\t-\tours\n")
    assert ctx("Pneumonie ausgeschlossen.", "Pneumonie").negation == "affirmed"
    custom = compute_context("Pneumonie ausgeschlossen.", [(0, 9)], ContextRules.load(triggers, DEFAULT_SECTIONS))
    assert custom[0].negation == "negated"


@pytest.mark.parametrize(
    "line, message",
    [
        ("no\tNEGATIVE\tforward\t-\tx", "expected a category"),
        ("no\tNEGATED\tsideways\t-\tx", "expected a direction"),
        ("no\tNEGATED\tforward\tfar\tx", "expected max_scope"),
        ("no\tNEGATED\tforward", "expected 5 tab-separated columns, got 3"),
        ("but\tTERMINATE:NEGATIVE\t-\t-\tx", "expected TERMINATE:<one of"),
    ],
)
def test_bad_rule_lines_are_named_with_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.tsv"
    path.write_text("# comment\n" + line + "\n")
    with pytest.raises(ValueError, match=message) as err:
        ContextRules.load(path)
    assert "bad.tsv:2" in str(err.value)


# -- the evaluation CLI --------------------------------------------------------------------
FIXTURE = [
    ("1", "pneumonia", "No PNEUMONIA seen.", "Negated", "Recent", "Patient"),
    ("2", "cough", "She denies COUGH.", "Negated", "Recent", "Patient"),
    ("3", "asthma", "History of ASTHMA.", "Affirmed", "Historical", "Patient"),
    ("4", "fever", "Call if FEVER develops.", "Affirmed", "Not particular", "Patient"),
    ("5", "diabetes", "Her mother had DIABETES.", "Affirmed", "Historical", "Family member"),
    (
        "6",
        "rash",
        "Rash is present, no RASH elsewhere.",
        "Affirmed",
        "Recent",
        "Patient",
    ),  # we say negated: a false positive
    ("7", "gout", "Known to have arthritis.", "Affirmed", "Recent", "Patient"),  # not in its sentence: unlocated
    ("8", "edema", "Ankle EDEMA.", "Negated", "Recent", "Patient"),  # we say affirmed: a false negative
]


def test_eval_cli_on_a_hand_computed_fixture(tmp_path, capsys):
    data = tmp_path / "fixture.tsv"
    data.write_text("".join(f"{i}\t \t{c}\t{s}\t{n}\t{t}\t{e}\n" for i, c, s, n, t, e in FIXTURE))
    assert eval_main(["--data", str(data), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # negated: predicted rows 1, 2, 6; gold 1, 2, 8 → tp 2, fp 1, fn 1
    assert report["negated"] == {"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3}
    # historical: predicted 3 only (row 5 is "recent" for us); gold 3, 5 → tp 1, fn 1
    assert report["historical"] == {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2}
    assert report["hypothetical"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert report["other_experiencer"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert report["accuracy"] == {"negation": 6 / 8, "temporality": 7 / 8, "experiencer": 1.0}
    assert (report["rows"], report["located"]) == (8, 7)


def test_eval_cli_bad_file_is_one_clear_error(tmp_path, capsys):
    data = tmp_path / "bad.tsv"
    data.write_text("1\tonly three\tcolumns\n")
    assert eval_main(["--data", str(data)]) == 2
    assert "bad.tsv:1: expected 7 tab-separated columns, got 3" in capsys.readouterr().err


def test_locate_prefers_the_upper_case_occurrence_and_flexible_whitespace():
    sentence = "copd and COPD   EXACERBATION"
    assert locate("copd exacerbation", sentence) == (9, len(sentence))
    assert locate("absent", sentence) is None


@pytest.mark.skipif(not DEV.exists(), reason="../shared/data/context/context_dev.tsv is not present")
def test_dev_set_meets_the_targets(capsys):
    assert eval_main(["--data", str(DEV), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows"] == 794
    assert report["negated"]["f1"] >= 0.96
    assert report["historical"]["f1"] >= 0.75
    assert report["accuracy"]["temporality"] >= 0.94

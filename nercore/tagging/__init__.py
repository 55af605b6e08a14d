"""The tagger: preprocess (tokens and windows) → forward (BERT encoder + linear) → postprocess (CRF, spans)."""

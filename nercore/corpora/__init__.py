"""Labelled documents: CoNLL/PubTator readers, annotation-tool formats and the span policy."""

"""Fine-tuning a BERT-CRF tagger: config, examples, the epoch loop, checkpoints and the model card."""

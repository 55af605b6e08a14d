"""``bench.overlap``'s job variants are options the job accepts, with the settings they name."""

from bench.overlap import LARGE_BATCH, variants
from job_core.config import parse_args


def test_each_variant_parses_to_the_settings_it_names():
    seen = set()
    for name, extra in variants().items():
        config, rest = parse_args(["--input", "n.parquet", "--output", "out", *extra])
        assert "--runner" in rest and not any(a.startswith("--overlap") or a == "--max-batch-chars" for a in rest)
        assert config.max_batch_chars == (LARGE_BATCH if "4 MiB" in name else 400_000)
        assert config.overlap == ("on" if name.endswith("overlap on") else "off" if "overlap off" in name else "auto")
        assert ("multi_processing" in name) == ("--direct_running_mode=multi_processing" in rest)
        seen.add((config.max_batch_chars, config.overlap, "multi_processing" in name))
    assert len(seen) == len(variants()) == 5

"""Build the ICD-10-CM code index the linker searches.

``python -m nercore.cli.build_code_index --output DIR [--prefixes C18,E11] [--device cuda]``

Without ``--output`` the index goes into the per-user cache the linker uses by default. A cluster
job reads it from any path the model could come from (``--code-index gs://.../index``), so build it
once and copy it there. The manifest records the ICD-10-CM package, the Disease Ontology release,
the encoder and the scope.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from nercore.codes.index import CodeIndex, cached_index


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--output", help="index folder (default: the per-user cache)")
    p.add_argument(
        "--prefixes", default="", help="only codes starting with these, comma-separated (small indexes for tests)"
    )
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--doid", help="a Disease Ontology terms file in the shipped derived format (default: the shipped one)"
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    prefixes = [x.strip() for x in args.prefixes.split(",") if x.strip()]
    if args.output:
        index = CodeIndex.build(prefixes, args.device, args.doid)
        folder = index.save(args.output)
    else:
        if args.doid:
            p.error("--doid needs --output: the cache holds only indexes of the shipped terms")
        folder = cached_index(prefixes, args.device)
        index = CodeIndex.load(folder)
    m = index.manifest
    print(
        f"code index: {m['terms']:,} terms, {m['codes']:,} codes in {folder} ({m['build_seconds']} s to build)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

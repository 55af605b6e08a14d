"""``python -m job_core.warehouse expire --warehouse PATH_OR_NAME --older-than 30d [--dry-run]``

Expires the job's tables' snapshots older than the cutoff (a table's current snapshot is always
kept) and deletes the data files that no remaining snapshot references, landing folders of failed
runs included; ``--dry-run`` lists what it would delete and changes nothing.
"""

from __future__ import annotations

import argparse
import datetime
import re
import sys
from collections.abc import Sequence

from job_core.warehouse.catalog import DEFAULT_NAMESPACE, open_catalog
from job_core.warehouse.expire import expire

UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def age(text: str) -> datetime.timedelta:
    match = re.fullmatch(r"(\d+)([dhm])", text)
    if match is None:
        raise argparse.ArgumentTypeError(f"expected an age such as 30d, 12h or 90m, got {text!r}")
    return datetime.timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m job_core.warehouse", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("expire", help="expire old snapshots and delete the files nothing references")
    e.add_argument("--warehouse", required=True, metavar="PATH_OR_NAME")
    e.add_argument("--namespace", default=DEFAULT_NAMESPACE)
    e.add_argument("--older-than", type=age, required=True, metavar="AGE", help="e.g. 30d, 12h, 90m")
    e.add_argument("--dry-run", action="store_true", help="list what would be deleted; change nothing")
    args = p.parse_args(argv)
    cutoff = datetime.datetime.now(datetime.timezone.utc) - args.older_than
    result = expire(open_catalog(args.warehouse), args.warehouse, args.namespace, cutoff, args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    for path in result.files:
        print(f"{verb} {path}")
    snapshots = ", ".join(f"{t} {n}" for t, n in result.snapshots.items())
    print(f"snapshots {'to expire' if args.dry_run else 'expired'}: {snapshots}; files {verb}: {len(result.files)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

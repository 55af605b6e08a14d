"""Clinical context of entity mentions: negation, temporality, experiencer and section (ConText).

The rules are data files beside the engine (``data/triggers.tsv``, ``data/sections.tsv``).
"""

from nercore.context.engine import Context, ContextFinder, compute_context
from nercore.context.rules import ContextRules

__all__ = ["Context", "ContextFinder", "ContextRules", "compute_context"]

"""Synthetic multi-agency populations with known truth, for demos, tests and benchmarks.

``generate_population`` writes four agency extracts (health, education, children's social care,
police — the last in its own layout with a ``police.yaml`` mapping), their relationship files and
``truth/``. ``draw_queries`` draws look-up records from a generated population with fresh errors.
Everything is invented: names, addresses and identifiers (NHS numbers from the never-issued
9-prefixed range) belong to nobody.
"""

from linkage.synth.errors import ErrorRates
from linkage.synth.population import SynthSummary, generate_population
from linkage.synth.queries import draw_queries

__all__ = ["ErrorRates", "SynthSummary", "draw_queries", "generate_population"]

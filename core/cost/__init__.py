"""Per-op cost rules (MACs, FLOPs, BitOPs, storage) computed from node metadata.

The pass is core.passes.analysis.cost.cost_analysis_pass; the rule table is core.cost.rules.RULES.
"""

from core.cost.compare import compare_costs
from core.cost.rules import RULES, rule_table

__all__ = ["RULES", "compare_costs", "rule_table"]

"""The funnel's models, one module per job; every name is importable from `funnel.models` (the app label,
tables and migrations are the funnel app's, whichever module a model is written in)."""

# Models register in this order, the order of the single models.py they came from.
# isort: off
from .pipelines import REQUIRABLE_FIELDS, Campaign, LostReason, Pipeline, Source, Stage, StageKind
from .customers import Account, AccountQuerySet, Contact, ContactQuerySet
from .opportunities import Opportunity, OpportunityQuerySet, StageChange, StageChangeQuerySet
from .transfer import ExportChunk, ExportJob, ImportBatch
from .health import OPEN, WEEKDAYS, Alert, AlertKind, AlertQuerySet, AlertSeverity, HealthSettings, default_working_days
from .insights import MarketingCost, Target
from .rollup import ALL_OWNERS, DealDay, FlowDay, OpenDeals, RollupDirt, RollupState, StayLength

# isort: on

__all__ = [
    "ALL_OWNERS",
    "OPEN",
    "REQUIRABLE_FIELDS",
    "WEEKDAYS",
    "Account",
    "AccountQuerySet",
    "Alert",
    "AlertKind",
    "AlertQuerySet",
    "AlertSeverity",
    "Campaign",
    "Contact",
    "ContactQuerySet",
    "DealDay",
    "ExportChunk",
    "ExportJob",
    "FlowDay",
    "HealthSettings",
    "ImportBatch",
    "LostReason",
    "MarketingCost",
    "OpenDeals",
    "Opportunity",
    "OpportunityQuerySet",
    "Pipeline",
    "RollupDirt",
    "RollupState",
    "Source",
    "Stage",
    "StageChange",
    "StageChangeQuerySet",
    "StageKind",
    "StayLength",
    "Target",
    "default_working_days",
]

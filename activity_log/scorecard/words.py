"""How the data-quality score's dimensions and parts are named on the pages (activity_log.quality defines them)."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

DIMENSION_LABELS = {
    "complete": pgettext_lazy("data quality", "Complete"),
    "true": pgettext_lazy("data quality", "True"),
    "continuous": pgettext_lazy("data quality", "Continuous"),
}

PART_LABELS = {
    "deal_amount": _("Open deals with an amount"),
    "deal_close_date": _("Open deals with an expected close date"),
    "deal_contact": _("Open deals with a contact"),
    "deal_next_step": _("Open deals with a next step and its date"),
    "customer_contact": _("Customers with a contact"),
    "activity_outcome": _("Activities with an outcome of substance"),
    "activity_on_day": _("Activities recorded on their day"),
    "activity_unamended": _("Activities not corrected after submission"),
    "close_date_steady": _("Deals whose close date was pushed out at most once"),
    "moves_in_order": _("Stage moves that skip no stage"),
    "moves_forward": _("Stage moves that go forward"),
    "probability_stage": _("Open deals at their stage's probability"),
    "logs_submitted": _("Working days with a submitted log"),
    "streak": _("Days in a row with a submitted log, to date"),
    "deal_gaps": _("Activities within the stage's stall days of the one before"),
    "deals_touched": _("Open deals worked within their stage's stall days"),
}

# What the list of records under a part shows: the records that count against it.
RECORDS_LABELS = {
    "customer_contact": _("Customers without a contact"),
    "activity_outcome": _("Activities whose outcome says too little"),
    "activity_on_day": _("Activities recorded later than their day"),
    "activity_unamended": _("Activities corrected after submission"),
    "close_date_steady": _("Deals whose close date was pushed out more than once"),
    "moves_in_order": _("Moves that skipped a stage"),
    "moves_forward": _("Moves back to an earlier stage"),
    "logs_submitted": _("Working days without a submitted log"),
    "deal_gaps": _("Activities that came after the stage's stall days"),
    "deals_touched": _("Open deals not worked within their stage's stall days"),
}

"""Django admin for the funnel: read-only. Pipelines, stages, sources, customers and contacts change on
the app's own pages, whose services run every check (archiving a stage moves its deals, a won stage's
probability is 100) and write the audit row; each row here links to its page."""

from django.contrib import admin
from django.core.paginator import Paginator
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .insights.metrics import count_up_to
from .models import Account, Contact, Opportunity, Pipeline, Source, Stage, StageChange

COUNTED_UP_TO = 10_000


class CappedCountPaginator(Paginator):
    """Counts no further than COUNTED_UP_TO rows (then says one more): Django admin counts the whole table
    for its page links, 0.4 s to minutes over millions of deals or stage changes. Search and filters narrow."""

    @cached_property
    def count(self) -> int:
        return count_up_to(self.object_list, COUNTED_UP_TO)


class ReadOnlyHere:
    """No add, change or delete in Django admin (a forged POST answers 403); `app_route` names the row's
    page in the app, linked as "Change it in Loudou"."""

    app_route = ""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("Change it in Loudou"))
    def in_the_app(self, obj) -> str:
        if obj is None or obj.pk is None:
            return ""
        return format_html('<a href="{}">{}</a>', reverse(self.app_route, args=[obj.pk]), _("Open its page"))


class StageInline(ReadOnlyHere, admin.TabularInline):
    model = Stage
    app_route = "configuration:stage_edit"
    extra = 0
    fields = ["order", "name", "probability", "stall_days", "kind", "is_archived", "in_the_app"]
    readonly_fields = fields


@admin.register(Pipeline)
class PipelineAdmin(ReadOnlyHere, admin.ModelAdmin):
    app_route = "configuration:pipeline_detail"
    list_display = ["name", "is_default", "is_active", "in_the_app"]
    fields = ["in_the_app", "name", "is_default", "is_active"]
    readonly_fields = ["in_the_app"]
    inlines = [StageInline]


@admin.register(Source)
class SourceAdmin(ReadOnlyHere, admin.ModelAdmin):
    app_route = "configuration:source_edit"
    list_display = ["name", "is_active", "in_the_app"]
    fields = ["in_the_app", "name", "is_active"]
    readonly_fields = ["in_the_app"]


class ContactInline(ReadOnlyHere, admin.TabularInline):
    model = Contact
    app_route = "customers:contact_edit"
    extra = 0
    fields = ["name", "title", "phone", "email", "in_the_app"]
    readonly_fields = fields


@admin.register(Account)
class AccountAdmin(ReadOnlyHere, admin.ModelAdmin):
    app_route = "customers:edit"
    list_display = ["name", "industry", "city", "owner", "in_the_app"]
    search_fields = ["name"]
    list_select_related = ["owner"]
    fields = ["in_the_app", "name", "industry", "city", "address", "phone", "website", "notes", "owner"]
    readonly_fields = ["in_the_app"]
    inlines = [ContactInline]


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    """Read-only here: opportunities change only through the funnel's services (history, versions)."""

    paginator = CappedCountPaginator
    show_full_result_count = False

    list_display = ["name", "account", "owner", "stage", "amount", "expected_close_date"]
    list_filter = ["pipeline", "status", "stage"]
    search_fields = ["name", "account__name"]
    list_select_related = ["account", "owner", "stage"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StageChange)
class StageChangeAdmin(admin.ModelAdmin):
    """Read-only: stage history is append-only."""

    paginator = CappedCountPaginator
    show_full_result_count = False

    list_display = ["opportunity", "from_stage", "to_stage", "by", "at"]
    list_select_related = ["opportunity", "from_stage", "to_stage", "by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

from django.contrib import admin

from .models import Account, Contact, Opportunity, Pipeline, Source, Stage, StageChange


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    fields = ["order", "name", "probability", "stall_days", "kind", "is_archived"]


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ["name", "is_default", "is_active"]
    inlines = [StageInline]


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active"]


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "industry", "city", "owner"]
    search_fields = ["name"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    inlines = [ContactInline]


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    """Read-only here: opportunities change only through the funnel's services (history, versions)."""

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

    list_display = ["opportunity", "from_stage", "to_stage", "by", "at"]
    list_select_related = ["opportunity", "from_stage", "to_stage", "by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

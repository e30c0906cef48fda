"""Django admin for people, teams and territories. Every change goes through reps.services (the same as
the app's) or the audited mixin: a role, an active flag, a password or a team set here is audited."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from config.wording import join_list

from . import services
from .hooks import open_book
from .models import AuditAction, AuditEvent, Team, Territory, User


def _audited_field(obj: models.Model | None, name: str):
    """A field's value as the audit row keeps it: related rows by id, everything else as JSON takes it."""
    if obj is None:
        return None
    field = obj._meta.get_field(name)
    value = getattr(obj, field.attname)
    return value if value is None or isinstance(value, bool | int | str) else str(value)


class AuditedAdminMixin:
    """Adds, changes and deletes in Django admin, each audited as CONFIG_CHANGED with old → new."""

    def save_model(self, request, obj, form, change):
        old = type(obj).objects.select_for_update().get(pk=obj.pk) if change else None  # before the form's save
        super().save_model(request, obj, form, change)
        names = form.changed_data if change else list(form.fields)
        changes = {name: [_audited_field(old, name), _audited_field(obj, name)] for name in names}
        changes = {name: values for name, values in changes.items() if not change or values[0] != values[1]}
        if changes:
            services.audit_record(action=AuditAction.CONFIG_CHANGED, actor=request.user, obj=obj, detail=changes)

    def delete_model(self, request, obj):
        services.audit_record(
            action=AuditAction.CONFIG_CHANGED, actor=request.user, obj=obj, detail={"deleted": str(obj)}
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


class PersonChangeForm(UserChangeForm):
    """Deactivating someone who still owns customers or open deals asks for a handover first (reps.hooks)."""

    class Meta(UserChangeForm.Meta):
        exclude = ["last_login", "date_joined"]  # shown read-only by the admin, never posted

    def clean(self):
        data = super().clean()
        if self.instance.pk and "is_active" in self.changed_data and not data.get("is_active"):
            book = open_book(user=self.instance)  # the instance still holds the stored values here
            if book:
                url = f"{reverse('log:handover_new')}?from={self.instance.pk}"
                what = join_list(f"{label} {count}" for label, count in book.items())
                raise ValidationError(
                    gettext("%(person)s still owns %(what)s. Hand the book over first (%(url)s), then deactivate."),
                    params={"person": self.instance, "what": what, "url": url},
                    code="book_not_handed_over",
                )
        return data


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """People are changed through reps.services: the old values are read from the database, a role change,
    deactivation or reactivation is audited, and deactivation ends the person's sessions."""

    form = PersonChangeForm
    list_display = ["username", "get_full_name", "role", "team", "is_active", "last_login"]
    list_select_related = ["team"]  # one query for the page, not one per person's team
    list_filter = ["role", "team", "is_active"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("Personal info"), {"fields": ["first_name", "last_name", "email", "language", "time_zone"]}),
        (_("Role and team"), {"fields": ["role", "team", "territory", "is_active"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    readonly_fields = ["last_login", "date_joined"]

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            services.user_added(user=obj, by=request.user)
            return
        # `obj` already holds the form's values; the service compares them with the row as stored.
        services.user_update(
            user=obj, by=request.user, data={name: form.cleaned_data[name] for name in form.changed_data}
        )

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: deals, logs and the audit trail keep pointing at the person

    def user_change_password(self, request, id, form_url=""):
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:
                services.user_password_set(user=self.get_object(request, unquote(id)), by=request.user)
        return response


@admin.register(Team)
class TeamAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "manager"]
    search_fields = ["name"]
    autocomplete_fields = ["manager"]  # searched as typed: people may number in the thousands


@admin.register(Territory)
class TerritoryAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "team"]
    search_fields = ["name"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit trail is append-only."""

    list_display = ["at", "action", "username", "ip", "object_type", "object_id"]
    list_filter = ["action"]
    search_fields = ["username", "object_id"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Second-factor devices hold their owners' keys: they change only through the owner's own pages and the
# audited `reset_second_factor` command (reps.second_factor), never by another admin here.
for _device in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device):
        admin.site.unregister(_device)

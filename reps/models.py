import functools
import re
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    REP = "rep", _("Rep")
    MANAGER = "manager", _("Manager")
    ADMIN = "admin", _("Admin")


@functools.cache
def known_time_zones() -> frozenset[str]:
    """The tz database's zone names, read once per process (it walks the database's files)."""
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in known_time_zones():
        raise ValidationError(_("“%(value)s” is not a known time zone."), params={"value": value})


def default_language() -> str:
    return settings.LANGUAGE_CODE


def default_time_zone() -> str:
    return settings.TIME_ZONE


def owner_scope_q(user, path: str = "", *, listed: bool = False) -> Q | None:
    """The one visibility rule, as a filter on the user found at `path` ("" = the row itself).

    Rep: only themself. Manager: themself and the members of the teams they manage.
    Admin: everyone (None: no filter). Anyone else, or a deactivated user: nobody.
    Every `visible_to` in the project is built from this function.

    `listed`: a manager's people are read first (one query, kept on the user object for the request) and
    named by id, instead of a subquery. The global search needs it: given a subquery, PostgreSQL joins and
    repeats a text index's whole scan once per team member (1.7 s for text a million deals share).
    """
    if not (user and user.is_authenticated and user.is_active):
        return Q(pk__in=[])
    if user.role == Role.ADMIN:
        return None
    if user.role == Role.MANAGER:
        team_q = Q(pk=user.pk) | Q(team__manager=user.pk)
        if not path:
            return team_q
        # "owner IN (a handful of user ids)" lets the database walk the owner indexes; an OR over a
        # join to teams would scan every row.
        people = User.objects.filter(team_q).values("pk")
        if listed:
            if getattr(user, "_people_in_view", None) is None:
                user._people_in_view = [row["pk"] for row in people]
            people = user._people_in_view
        return Q(**{f"{path}__in": people})
    return Q(**{path or "pk": user.pk})


class ScopedQuerySet(models.QuerySet):
    """A queryset whose rows each belong to a user found at `owner_path`."""

    owner_path = "owner"

    def visible_to(self, user, *, listed: bool = False):
        q = owner_scope_q(user, self.owner_path, listed=listed)
        return self if q is None else self.filter(q)


class UserQuerySet(ScopedQuerySet):
    owner_path = ""

    def active(self):
        return self.filter(is_active=True)


class LoudouUserManager(UserManager.from_queryset(UserQuerySet)):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        """`createsuperuser` makes an admin: Django admin is open to the admin role only."""
        extra_fields.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class TeamQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The teams the user may name (the filters' and the review's choices): an admin every team, a manager
        the teams they manage and their own, a rep their own. Whose deals and logs are seen stays
        owner_scope_q's; a team here never widens it."""
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        if user.role == Role.ADMIN:
            return self
        own = Q(pk=user.team_id) if user.team_id else Q(pk__in=[])
        return self.filter(own | Q(manager=user.pk)) if user.role == Role.MANAGER else self.filter(own)


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        on_delete=models.PROTECT,
        related_name="managed_teams",
        null=True,
        blank=True,
    )

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class Territory(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.SET_NULL, null=True, blank=True, related_name="territories"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("territory")
        verbose_name_plural = _("territories")

    def __str__(self) -> str:
        return self.name


# Han characters (CJK Unified Ideographs and extension A, compatibility ideographs) and the middle dot of
# transliterated names (莎拉·格林).
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff·]+")


def is_written_in_han(text: str) -> bool:
    return bool(text) and _HAN.fullmatch(text) is not None


def person_name(first_name: str, last_name: str, username: str) -> str:
    """How a person is named everywhere (pages, CSV files, e-mails, the admin): the full name, else the username.

    A name written in Chinese characters is written as Chinese users write it, family name first and no
    space: last_name 张 and first_name 伟 give 张伟. Any other name keeps the given name first: Sarah Green. A
    name in one field is shown as typed (张伟 as the first name alone; 莎拉·格林, a transliterated Western name).
    The two fields stay as they are (no migration): the order is how a name is shown, not how it is stored.
    """
    first, last = first_name.strip(), last_name.strip()
    if is_written_in_han(first + last):
        return last + first
    return f"{first} {last}".strip() or username


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.REP)
    team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.SET_NULL, null=True, blank=True, related_name="members"
    )
    territory = models.ForeignKey(
        Territory, verbose_name=_("territory"), on_delete=models.SET_NULL, null=True, blank=True
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default=default_language)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default=default_time_zone, validators=[validate_time_zone]
    )
    # Part of every session's auth hash: raising it ends all of the person's sessions at their next request,
    # and they stay ended when the person is reactivated (reps.services.user_deactivate).
    session_epoch = models.PositiveIntegerField(_("session generation"), default=0, editable=False)

    objects = LoudouUserManager()

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return person_name(self.first_name, self.last_name, self.username)

    def get_full_name(self) -> str:
        return person_name(self.first_name, self.last_name, self.username)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    def get_session_auth_hash(self) -> str:
        return self._bound_to_epoch(super().get_session_auth_hash(), settings.SECRET_KEY)

    def get_session_auth_fallback_hash(self):
        for secret, password_hash in zip(
            settings.SECRET_KEY_FALLBACKS, super().get_session_auth_fallback_hash(), strict=True
        ):
            yield self._bound_to_epoch(password_hash, secret)

    def _bound_to_epoch(self, password_hash: str, secret: str) -> str:
        """Django's session hash (of the password), bound to the session generation. Generation 0 keeps
        Django's own hash, so sessions from before the field existed stay valid."""
        if not self.session_epoch:
            return password_hash
        message = f"{password_hash}:{self.session_epoch}"
        return salted_hmac("reps.User.session_epoch", message, secret=secret, algorithm="sha256").hexdigest()

    def local_now(self):
        return timezone.now().astimezone(zoneinfo.ZoneInfo(self.time_zone))


class AuditAction(models.TextChoices):
    LOGIN = "login", _("Signed in")
    LOGIN_FAILED = "login_failed", _("Sign-in failed")
    LOGIN_THROTTLED = "login_throttled", _("Sign-in throttled")
    LOGOUT = "logout", _("Signed out")
    PASSWORD_CHANGED = "password_changed", _("Password changed")
    ACCESS_DENIED = "access_denied", _("Access denied")
    ROLE_CHANGED = "role_changed", _("Role changed")
    DEACTIVATED = "deactivated", _("Deactivated")
    REACTIVATED = "reactivated", _("Reactivated")
    USER_ADDED = "user_added", _("Person added")
    FIELD_CHANGED = "field_changed", _("Field changed")
    OWNER_CHANGED = "owner_changed", _("Owner changed")
    CONFIG_CHANGED = "config_changed", _("Configuration changed")
    EXPORTED = "exported", _("Exported")
    IMPORTED = "imported", _("Imported")
    SECOND_FACTOR_ENROLLED = "2fa_enrolled", _("Two-step sign-in set up")
    SECOND_FACTOR_DISABLED = "2fa_disabled", _("Two-step sign-in switched off")
    SECOND_FACTOR_FAILED = "2fa_failed", _("Two-step sign-in code refused")
    RECOVERY_CODE_USED = "2fa_recovery_used", _("Recovery code used")
    QUOTA_CHANGED = "quota_changed", _("Quota changed")
    HANDED_OVER = "handed_over", _("Handed over")


class AuditEvent(models.Model):
    """Append-only record of security-relevant events; also the source of login throttling."""

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("actor"), on_delete=models.PROTECT, null=True, blank=True
    )
    action = models.CharField(_("action"), max_length=32, choices=AuditAction.choices)
    username = models.CharField(_("username"), max_length=150, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["action", "username", "at"], name="audit_action_user_at"),
            models.Index(fields=["action", "ip", "at"], name="audit_action_ip_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.username}"


class QuotaQuerySet(ScopedQuerySet):
    owner_path = "user"


class Quota(models.Model):
    """A person's sales quota (业绩指标) for one calendar month or quarter (both days included): what they are
    to win in it. A team's own number stays funnel.Target; the planning page shows how the quotas split it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.PROTECT, related_name="quotas"
    )
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("set by"), on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = QuotaQuerySet.as_manager()

    class Meta:
        ordering = ["period_start", "user_id"]
        verbose_name = _("quota")
        verbose_name_plural = _("quotas")
        constraints = [
            models.UniqueConstraint(fields=["user", "period_start", "period_end"], name="one_quota_per_person_period"),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="quota_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="quota_amount_not_negative"),
        ]
        indexes = [models.Index(fields=["period_start", "period_end"], name="quota_period")]

    def __str__(self) -> str:
        return f"{self.user} {self.period_start} – {self.period_end}"


class Handover(models.Model):
    """A departing or moving person's book handed to others (交接): who started it, whose book, when it was
    confirmed. What moved, and to whom, is one HandoverItem per object; each receiver acknowledges it."""

    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("from"), on_delete=models.PROTECT, related_name="handovers_given"
    )
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("note"), max_length=300, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-confirmed_at", "-id"]
        verbose_name = _("handover")
        verbose_name_plural = _("handovers")

    def __str__(self) -> str:
        return f"{self.from_user} {self.confirmed_at:%Y-%m-%d}"


class HandoverItem(models.Model):
    """One object a handover moved: its kind and id (funnel's and the daily log's rows: reps names no model of
    theirs), its name as it was, the receiver and the owner it had."""

    handover = models.ForeignKey(Handover, verbose_name=_("handover"), on_delete=models.CASCADE, related_name="items")
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("to"), on_delete=models.PROTECT, related_name="handover_items"
    )
    object_type = models.CharField(_("object type"), max_length=64)
    object_id = models.PositiveBigIntegerField(_("object id"))
    label = models.CharField(_("name"), max_length=300, blank=True)

    class Meta:
        ordering = ["handover", "object_type", "id"]
        verbose_name = _("handed-over item")
        verbose_name_plural = _("handed-over items")
        indexes = [models.Index(fields=["to_user", "handover"], name="handover_item_receiver")]

    def __str__(self) -> str:
        return f"{self.object_type}:{self.object_id}"


class HandoverReceiptQuerySet(models.QuerySet):
    def unacknowledged(self):
        return self.filter(acknowledged_at__isnull=True)


class HandoverReceipt(models.Model):
    """A receiver's copy of a handover: shown on their home page until they acknowledge it."""

    handover = models.ForeignKey(
        Handover, verbose_name=_("handover"), on_delete=models.CASCADE, related_name="receipts"
    )
    receiver = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("receiver"), on_delete=models.PROTECT, related_name="handover_receipts"
    )
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)

    objects = HandoverReceiptQuerySet.as_manager()

    class Meta:
        ordering = ["-handover__confirmed_at", "id"]
        verbose_name = _("handover receipt")
        verbose_name_plural = _("handover receipts")
        constraints = [models.UniqueConstraint(fields=["handover", "receiver"], name="one_receipt_per_receiver")]
        indexes = [models.Index(fields=["receiver", "acknowledged_at"], name="handover_receipt_open")]

    def __str__(self) -> str:
        return f"{self.handover} → {self.receiver}"

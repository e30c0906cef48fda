"""Customers (accounts) and their contacts, each visible to whoever may see its owner."""

from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reps.models import ScopedQuerySet


class AccountQuerySet(ScopedQuerySet):
    pass


class Account(models.Model):
    """A customer (客户)."""

    name = models.CharField(_("name"), max_length=200)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    website = models.URLField(_("website"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="accounts"
    )
    # Optional (划分销售区域): lists, the board, the dashboard and exports filter by it; a new customer takes its
    # creating rep's territory.
    territory = models.ForeignKey(
        "reps.Territory",
        verbose_name=_("territory"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="accounts",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["owner", "name"], name="account_owner_name"),
            # The customer picker's first names for everyone (funnel.search.pickers); its search has trigram indexes.
            models.Index(fields=["name", "id"], name="account_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def safe_website_url(self) -> str:
        """The website as a link target when it is a web address (http or https, with a host); "" otherwise, so a
        `javascript:` or `data:` address (imported, or stored before the field was checked) is shown as text,
        never linked. Tabs and newlines inside the scheme are dropped first, as browsers drop them."""
        website = self.website.strip()
        parts = urlsplit(website)
        return website if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


class ContactQuerySet(ScopedQuerySet):
    owner_path = "account__owner"


class Contact(models.Model):
    account = models.ForeignKey(Account, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("title"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        # The contact picker (funnel.search.pickers).
        indexes = [models.Index(fields=["name", "id"], name="contact_name")]

    def __str__(self) -> str:
        return self.name

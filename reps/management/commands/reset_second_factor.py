"""Removes someone's authenticator app and recovery codes, for a person who lost both (audited)."""

from django.core.management.base import BaseCommand, CommandError

from reps.models import User
from reps.second_factor import reset


class Command(BaseCommand):
    help = "Switch two-step sign-in off for USERNAME (they lost their phone and their recovery codes)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        removed = reset(user=user)
        self.stdout.write(f"{username}: two-step sign-in is off ({removed} records removed); they set it up again.")

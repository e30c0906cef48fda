"""The funnel settings lead to the CSV import (issue 19): an admin setting up the funnel finds it there."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_funnel_settings_link_to_the_import(admin_user, client_for, pipeline):
    page = client_for(admin_user).get(reverse("configuration:index")).content.decode()
    assert f'href="{reverse("transfer:import_start")}" data-testid="settings-import"' in page

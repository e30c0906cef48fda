"""Time zones as people read them (reps.time_zones): "(UTC+08:00) 中国标准时间 – 上海", common ones first, in the
reader's language; never `localtime`, `Etc/…` or an old alias."""

import re

import pytest
from django.urls import reverse

from reps.models import User
from reps.time_zones import COMMON_TIME_ZONES, time_zone_choices, zone_label

pytestmark = pytest.mark.django_db


def test_a_zone_reads_as_offset_name_and_city_in_each_language():
    assert zone_label("Asia/Shanghai", "zh-hans") == "(UTC+08:00) 中国标准时间 – 上海"
    assert zone_label("Asia/Shanghai", "en") == "(UTC+08:00) China Standard Time – Shanghai"
    assert zone_label("America/New_York", "zh-hans") == "(UTC-05:00) 北美东部标准时间 – 纽约"  # the standard offset
    assert zone_label("Asia/Kolkata", "zh-hans") == "(UTC+05:30) 印度时间 – 加尔各答"  # Asia/Calcutta in CLDR
    assert zone_label("UTC", "zh-hans") == "(UTC+00:00) 协调世界时"


def test_the_list_has_common_zones_first_then_places_by_offset_and_no_system_names():
    zones = [zone for zone, _label in time_zone_choices("zh-hans")]
    assert zones[: len(COMMON_TIME_ZONES)] == COMMON_TIME_ZONES
    assert 300 < len(zones) < 450
    assert not [z for z in zones if z.startswith(("Etc/", "US/", "posix/", "right/")) or z in ("localtime", "PRC")]
    assert "Asia/Calcutta" not in zones and "Asia/Kolkata" in zones  # the current name only
    labels = [label for _zone, label in time_zone_choices("zh-hans")[len(COMMON_TIME_ZONES) :]]
    offsets = [label[4:10] for label in labels]
    as_minutes = [(-1 if o[0] == "-" else 1) * (int(o[1:3]) * 60 + int(o[4:6])) for o in offsets]
    assert as_minutes == sorted(as_minutes)
    latin = [label for label in labels if re.search(r"[A-Za-z]{2,}", label.replace("UTC", ""))]
    assert len(latin) <= 2  # a zone newer than the CLDR's names (America/Coyhaique) keeps its id's city


def test_preferences_offer_readable_zones_and_refuse_system_names(client_for, rep):
    rep.language = "zh-hans"
    rep.save()
    client = client_for(rep)
    page = client.get(reverse("reps:preferences")).content.decode()
    assert '<option value="Asia/Shanghai" selected>(UTC+08:00) 中国标准时间 – 上海</option>' in page
    assert "Etc/GMT" not in page and "localtime" not in page and ">Asia/Shanghai<" not in page
    response = client.post(reverse("reps:preferences"), {"language": "zh-hans", "time_zone": "Etc/GMT-8"})
    assert response.status_code == 200 and response.context["form"].errors["time_zone"]
    assert User.objects.get(pk=rep.pk).time_zone == "Asia/Shanghai"


def test_a_zone_stored_before_the_list_is_kept_and_shown_as_stored(client_for, rep):
    rep.time_zone = "Etc/GMT-8"
    rep.save()
    client = client_for(rep)
    assert (
        '<option value="Etc/GMT-8" selected>Etc/GMT-8</option>'
        in client.get(reverse("reps:preferences")).content.decode()
    )
    client.post(reverse("reps:preferences"), {"language": "en", "time_zone": "Etc/GMT-8"})
    assert User.objects.get(pk=rep.pk).time_zone == "Etc/GMT-8"


def test_the_team_page_names_zones_readably(client_for, manager, rep):
    manager.language = "zh-hans"
    manager.save()
    page = client_for(manager).get(reverse("reps:team")).content.decode()
    assert "(UTC+08:00) 中国标准时间 – 上海" in page

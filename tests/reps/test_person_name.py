"""People's names as their own language writes them (reps.models.person_name): 张伟, family name first and no
space, when the name is in Chinese characters; Sarah Green, given name first, otherwise. One rule for pages,
the person picker, the dashboard, e-mails and Django admin."""

import pytest
from django.urls import reverse
from django.utils import translation

from funnel.health.digest import digest_message
from reps.models import person_name

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("first", "last", "written"),
    [
        ("伟", "张", "张伟"),
        ("建国", "欧阳", "欧阳建国"),
        ("张伟", "", "张伟"),  # the whole name in one field
        ("", "张伟", "张伟"),
        ("莎拉·格林", "", "莎拉·格林"),  # a transliterated Western name, written whole in one field
        ("Sarah", "Green", "Sarah Green"),  # Western names unchanged
        ("Wei", "Zhang", "Wei Zhang"),  # pinyin is written as its owner typed it
        ("Sarah", "格林", "Sarah 格林"),  # mixed: not reordered
        (" 伟 ", " 张 ", "张伟"),
        ("", "", "zhangwei"),
    ],
)
def test_the_naming_rule(first, last, written):
    assert person_name(first, last, "zhangwei") == written


def test_a_chinese_name_reads_family_name_first_on_pages_and_in_the_admin(client_for, admin_user, manager, rep):
    rep.first_name, rep.last_name = "伟", "张"
    rep.save()
    assert str(rep) == rep.get_full_name() == "张伟"
    admin_user.language = "zh-hans"
    admin_user.save()
    team_page = client_for(admin_user).get(reverse("reps:team")).content.decode()
    assert "张伟" in team_page and "伟 张" not in team_page
    admin_list = client_for(admin_user).get(reverse("admin:reps_user_changelist")).content.decode()
    assert "张伟" in admin_list


def test_the_person_picker_finds_a_chinese_name_as_it_is_written(client_for, manager, rep, teammate):
    rep.first_name, rep.last_name = "伟", "张"
    rep.save()
    teammate.first_name, teammate.last_name = "芳", "李"
    teammate.save()
    client = client_for(manager)
    found = client.get(reverse("search:pick", args=["person"]), {"q": "张伟"}).content.decode()
    assert "张伟" in found and "李芳" not in found
    assert "李芳" in client.get(reverse("search:pick", args=["person"]), {"q": "芳"}).content.decode()


def test_the_alert_digest_greets_a_chinese_manager_by_the_written_name(manager):
    manager.first_name, manager.last_name, manager.language = "强", "王", "zh-hans"
    manager.save()
    with translation.override("zh-hans"):
        message = digest_message(manager, [])
    assert message.body.startswith("王强，您好：")

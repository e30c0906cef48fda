"""PersonChoiceField: a user select that names people without loading each one, and still validates by queryset."""

from django import forms

from config.widgets import FastSelect
from reps.forms import PersonChoiceField
from reps.models import User

from ..factories import UserFactory


class OwnerForm(forms.Form):
    owner = PersonChoiceField(queryset=User.objects.none(), required=False, widget=FastSelect)

    def __init__(self, data, *, people):
        super().__init__(data)
        self.fields["owner"].queryset = people


def test_options_name_people_as_str_does(team1, django_assert_num_queries):
    named = UserFactory(username="li", first_name="Li", last_name="Na", team=team1)
    nameless = UserFactory(username="wang", first_name="", last_name="", team=team1)
    form = OwnerForm(None, people=User.objects.filter(pk__in=[named.pk, nameless.pk]).order_by("username"))
    with django_assert_num_queries(1):
        choices = list(iter(form.fields["owner"].choices))
    assert choices == [("", "Choose…"), (named.pk, "Li Na"), (nameless.pk, "wang")]
    assert [str(named), str(nameless)] == ["Li Na", "wang"]


def test_a_chosen_person_is_selected_and_cleaned_to_the_user(rep, teammate):
    form = OwnerForm({"owner": str(teammate.pk)}, people=User.objects.filter(team=rep.team).order_by("username"))
    assert form.is_valid()
    assert form.cleaned_data["owner"] == teammate
    assert f'<option value="{teammate.pk}" selected>{teammate}</option>' in str(form["owner"])


def test_someone_outside_the_queryset_is_refused(rep, other_rep):
    form = OwnerForm({"owner": str(other_rep.pk)}, people=User.objects.filter(team=rep.team))
    assert not form.is_valid()
    assert "owner" in form.errors
    assert f'value="{other_rep.pk}"' not in str(form["owner"])

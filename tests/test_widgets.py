"""FastSelect renders what forms.Select renders."""

from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.fields import ReadOnceChoiceField
from config.widgets import FastSelect

CHOICES = [("", "---------"), ("a", "Alpha"), ("b", '<b>"Bold" & co</b>')]


def test_fast_select_matches_django_select_html():
    for value in ("", "a", "b", None, "missing"):
        fast = FastSelect(attrs={"class": "form-select"}, choices=CHOICES).render("pick", value, {"id": "id_pick"})
        slow = forms.Select(attrs={"class": "form-select"}, choices=CHOICES).render("pick", value, {"id": "id_pick"})
        assert fast.replace("\n", "").replace("  ", "") == slow.replace("\n", "").replace("  ", "").replace(
            " selected>", " selected>"
        )


def test_fast_select_escapes_labels_and_values():
    html = FastSelect(choices=[('"><script>', "<script>alert(1)</script>")]).render("x", None, {"title": '"><b>'})
    assert 'title="&quot;&gt;&lt;b&gt;"' in html
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_fast_select_matches_django_select_for_grouped_choices():
    grouped = [("", "---------"), ("Fruit", [("a", "Apple"), ("b", "Banana")])]
    fast = FastSelect(choices=grouped).render("pick", "b", {"id": "id_pick"})
    assert fast == forms.Select(choices=grouped).render("pick", "b", {"id": "id_pick"})
    assert '<optgroup label="Fruit">' in fast


def test_fast_select_marks_only_the_first_matching_option():
    html = FastSelect(choices=[("a", "One"), ("a", "Two")]).render("pick", "a")
    assert html.count(" selected") == 1
    assert '<option value="a" selected>One</option>' in html


def _bound_html(widget, data, pipeline):
    class Pick(forms.Form):
        stage = forms.ModelChoiceField(queryset=pipeline.stages.order_by("order"), widget=widget)

    return str(Pick(data)["stage"])


def normalised(html: str) -> str:
    return html.replace("\n", "").replace("  ", "")


def test_fast_select_matches_django_select_for_a_required_model_choice(pipeline):
    chosen = pipeline.stages.order_by("order")[1]
    for data in ({"stage": str(chosen.pk)}, {}, None):
        with CaptureQueriesContext(connection) as fast_queries:
            fast = _bound_html(FastSelect, data, pipeline)
        with CaptureQueriesContext(connection) as slow_queries:
            slow = _bound_html(forms.Select, data, pipeline)
        assert normalised(fast) == normalised(slow)
        assert len(fast_queries) == len(slow_queries)  # the choices read once, never counted
    assert f'<option value="{chosen.pk}" selected>' in _bound_html(FastSelect, {"stage": chosen.pk}, pipeline)
    assert " required" in fast


def test_read_once_choices_render_from_what_the_form_already_read(pipeline, django_assert_num_queries):
    class Pick(forms.Form):
        stage = ReadOnceChoiceField(queryset=pipeline.stages.order_by("order"), required=False, widget=FastSelect)

    form = Pick(None)
    with django_assert_num_queries(1):
        first = next(iter(form.fields["stage"].queryset))  # a view picking a default reads the choices...
        html = str(form["stage"])  # ...and the select lists them from that read
    assert f'<option value="{first.pk}">{first.name}</option>' in html
    assert html.count("<option") == pipeline.stages.count() + 1

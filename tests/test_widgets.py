"""FastSelect renders what forms.Select renders."""

from django import forms

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
    html = FastSelect(choices=[('"><script>', "<script>alert(1)</script>")]).render("x", None)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html

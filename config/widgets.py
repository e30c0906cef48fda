"""Form widgets shared by the apps."""

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe


class FastSelect(forms.Select):
    """A <select> whose options are joined in Python rather than rendered one template each.

    Same HTML and escaping as forms.Select for flat choices, without building Django's per-option
    context dicts: a filter bar with a few hundred owners renders in a fraction of the time. Grouped
    choices (<optgroup>) are left to forms.Select.
    """

    def render(self, name, value, attrs=None, renderer=None):
        # Read once (a ModelChoiceIterator queries on every pass); through iter(), as list()'s len() is a COUNT.
        choices = list(iter(self.choices))
        if any(isinstance(label, (list, tuple)) for _value, label in choices):
            self.choices = choices
            return super().render(name, value, attrs, renderer)
        wanted, chosen = set(self.format_value(value)), None
        options = []
        for option_value, label in choices:
            option_value = "" if option_value is None else str(option_value)
            if chosen is None and option_value in wanted:  # a single select marks only its first match
                chosen = option_value
                options.append((option_value, mark_safe(" selected"), label))
            else:
                options.append((option_value, "", label))
        html = format_html_join("", '<option value="{}"{}>{}</option>', options)
        return format_html(
            '<select name="{}"{}>{}</select>', name, _attributes(self.build_attrs(self.attrs, attrs)), html
        )


def _attributes(attrs: dict) -> str:
    """Attributes in their order, as django/forms/widgets/attrs.html writes them (True: the name alone)."""
    return format_html_join(
        "",
        " {}{}",
        (
            (name, "" if value is True else format_html('="{}"', value))
            for name, value in attrs.items()
            if value is not False
        ),
    )

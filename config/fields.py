"""Form fields shared by the apps."""

from django import forms
from django.forms.models import ModelChoiceIterator


class _FromResultCache(ModelChoiceIterator):
    """Iterates the field's queryset itself (Django's iterator() reads it afresh on every pass)."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class ReadOnceChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField over a short list (pipelines) whose choices are read once per form: a view that
    already read them, to pick a default, renders the select without a second query. Validation is
    ModelChoiceField's."""

    iterator = _FromResultCache

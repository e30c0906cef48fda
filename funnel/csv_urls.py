"""Routes of this part of the funnel app, included by funnel/urls.py under the "funnel" namespace.

CSV import under /transfer/import/: upload, template, preview, confirm, cancel, error report.
"""

from django.urls import path

from . import import_views as views

urlpatterns = [
    path("import/", views.import_start, name="import_start"),
    path("import/template/<slug:kind>/", views.import_template, name="import_template"),
    path("import/<int:pk>/", views.import_preview, name="import_preview"),
    path("import/<int:pk>/confirm/", views.import_confirm, name="import_confirm"),
    path("import/<int:pk>/cancel/", views.import_cancel, name="import_cancel"),
    path("import/<int:pk>/errors/", views.import_errors, name="import_errors"),
]

"""Routes of this part of the funnel app, included by funnel/urls.py under the "funnel" namespace.

CSV import under /transfer/import/: upload, template, preview, confirm, progress, resume, cancel, error report;
the opportunity export's file under /transfer/export/ (the export starts from /opportunities/export/).
"""

from django.urls import path

from . import export
from . import import_views as views

urlpatterns = [
    path("import/", views.import_start, name="import_start"),
    path("import/template/<slug:kind>/", views.import_template, name="import_template"),
    path("import/<int:pk>/", views.import_preview, name="import_preview"),
    path("import/<int:pk>/confirm/", views.import_confirm, name="import_confirm"),
    path("import/<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("import/<int:pk>/resume/", views.import_resume, name="import_resume"),
    path("import/<int:pk>/cancel/", views.import_cancel, name="import_cancel"),
    path("import/<int:pk>/errors/", views.import_errors, name="import_errors"),
    path("export/<int:pk>/", export.export_job, name="export_job"),
    path("export/<int:pk>/progress/", export.export_job_progress, name="export_job_progress"),
    path("export/<int:pk>/download/", export.export_download, name="export_download"),
]

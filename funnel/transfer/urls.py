"""CSV import and export, under the "transfer" namespace.

Import under /transfer/import/: upload, template, preview, confirm, progress, resume, cancel, error report.
Export: it starts from the opportunity list's /opportunities/export/; its file is under /transfer/export/.
"""

from django.urls import path

from . import views

app_name = "transfer"

urlpatterns = [
    path("opportunities/export/", views.opportunity_export, name="export_start"),
    path("transfer/import/", views.import_start, name="import_start"),
    path("transfer/import/template/<slug:kind>/", views.import_template, name="import_template"),
    path("transfer/import/<int:pk>/", views.import_preview, name="import_preview"),
    path("transfer/import/<int:pk>/confirm/", views.import_confirm, name="import_confirm"),
    path("transfer/import/<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("transfer/import/<int:pk>/resume/", views.import_resume, name="import_resume"),
    path("transfer/import/<int:pk>/cancel/", views.import_cancel, name="import_cancel"),
    path("transfer/import/<int:pk>/errors/", views.import_errors, name="import_errors"),
    path("transfer/export/<int:pk>/", views.export_job, name="export_job"),
    path("transfer/export/<int:pk>/progress/", views.export_job_progress, name="export_job_progress"),
    path("transfer/export/<int:pk>/download/", views.export_download, name="export_download"),
]

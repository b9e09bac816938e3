"""Top-level URL configuration."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from config import views as composite
from scoring.views import dashboard
from villages import views as village_views

admin.site.site_header = _("Red flag / star campaign manager")
admin.site.site_title = _("Campaign manager admin")
admin.site.index_title = _("Set-up")

urlpatterns = [
    path("", composite.home, name="home"),
    # Units: the list is villages' own page; a unit's page reads every app, so it lives here.
    path(
        "units/",
        include(
            (
                [
                    path("", village_views.unit_list, name="unit_list"),
                    path("<int:pk>/", composite.unit_detail, name="unit_detail"),
                ],
                "villages",
            )
        ),
    ),
    path("scoring/", include("scoring.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("showcase/<slug:slug>/", dashboard.showcase, name="showcase"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

# Uploaded and generated files are never served from MEDIA_URL: each has a download view that
# checks who is asking (evidence, rectification attachments, reports, exports).

"""Top-level URL configuration."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from campaigns import views as campaign_views
from scoring import views_decisions

admin.site.site_header = _("Red flag / star campaign manager")
admin.site.site_title = _("Campaign manager admin")
admin.site.index_title = _("Set-up")

urlpatterns = [
    path("", campaign_views.home, name="home"),
    path("units/", include("villages.urls")),
    path("scoring/", include("scoring.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("showcase/<slug:slug>/", views_decisions.showcase, name="showcase"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

# Uploaded and generated files are never served from MEDIA_URL: each has a download view that
# checks who is asking (evidence, rectification attachments, reports, exports).

from __future__ import annotations

from django.urls import path

from villages import views

app_name = "villages"

urlpatterns = [
    path("", views.unit_list, name="unit_list"),
    path("<int:pk>/", views.unit_detail, name="unit_detail"),
]

"""Celery application; broker and backend come from Django settings (and so from the env)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("hongqi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

"""The Celery app. ``celery -A phoneprovider worker`` serves every queue the product uses."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phoneprovider.settings")

app = Celery("phoneprovider")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["phoneprovider"])

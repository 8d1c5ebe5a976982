"""Writes. One function per change, reached alike from the dashboard, the API, admin and tasks."""

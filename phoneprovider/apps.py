from django.apps import AppConfig


class PhoneProviderConfig(AppConfig):
    name = "phoneprovider"
    verbose_name = "Phone provider"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The Celery app is loaded here, not in the package's __init__, so that the ground floor
        # (``phoneprovider.runtime``, ``phoneprovider.net``) imports without Django or Celery;
        # every Django process (web, commands, tests) still sends through the configured app.
        from django.conf import settings

        from phoneprovider import celery, config_cache, runtime  # noqa: F401

        config_cache.connect_signals()
        # Every Django process installs and loads npm packages in the one DENO_DIR the settings
        # name (deploys in the web process, executions in workers), not in a default of its own.
        runtime.configure(deno_dir=str(settings.DENO_DIR))

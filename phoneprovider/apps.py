from django.apps import AppConfig


class PhoneProviderConfig(AppConfig):
    name = "phoneprovider"
    verbose_name = "Phone provider"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from phoneprovider import config_cache

        config_cache.connect_signals()

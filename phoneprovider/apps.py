from django.apps import AppConfig


class PhoneProviderConfig(AppConfig):
    name = "phoneprovider"
    verbose_name = "Phone provider"
    default_auto_field = "django.db.models.BigAutoField"

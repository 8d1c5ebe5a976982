"""Create the first admin login for `make run` and print it once; later runs reuse it."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create an admin login if none exists and print its credentials once."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options):
        user_model = get_user_model()
        credentials_file = settings.VAR_DIR / "admin-login.txt"
        if user_model.objects.filter(is_superuser=True).exists():
            where = f" (first printed to {credentials_file})" if credentials_file.exists() else ""
            self.stdout.write(f"Admin login exists{where}.")
            return
        password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser(username=username, email="", password=password)
        credentials_file.write_text(f"username: {username}\npassword: {password}\n")
        credentials_file.chmod(0o600)
        self.stdout.write(
            self.style.SUCCESS(
                f"Created the admin login — username: {username}  password: {password}\n"
                f"(also saved to {credentials_file})"
            )
        )

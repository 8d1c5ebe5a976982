"""Re-encrypt every encrypted field with the newest key of FIELD_ENCRYPTION_KEY.

Rotation: put the new key first in FIELD_ENCRYPTION_KEY (``new,old``), restart, run this, then
drop the old key. One transaction: when any value opens with none of the keys, nothing changes
and the command names the row and field.
"""

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from phoneprovider.crypto import REMEDY, configured_keys, crypter, encrypted_fields


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field with the first (newest) key of FIELD_ENCRYPTION_KEY."

    def handle(self, *args, **options):
        multi = crypter()
        total = 0
        with transaction.atomic():
            for model, field in encrypted_fields():
                table = connection.ops.quote_name(model._meta.db_table)
                column = connection.ops.quote_name(field.column)
                pk = connection.ops.quote_name(model._meta.pk.column)
                with connection.cursor() as cursor:
                    # The raw stored tokens, rows locked until the transaction ends.
                    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
                    cursor.execute(
                        f"SELECT {pk}, {column} FROM {table} WHERE {column} IS NOT NULL{lock}"  # noqa: S608
                    )
                    rows = cursor.fetchall()
                    for row_pk, token in rows:
                        if isinstance(token, bytes | memoryview):
                            token = bytes(token).decode()
                        try:
                            rotated = multi.rotate(token.encode()).decode()
                        except InvalidToken:
                            raise CommandError(
                                f"{model.__name__}.{field.name} of row {row_pk} opens with none "
                                f"of the {len(configured_keys())} keys in FIELD_ENCRYPTION_KEY; "
                                f"nothing was changed. {REMEDY}"
                            ) from None
                        cursor.execute(
                            f"UPDATE {table} SET {column} = %s WHERE {pk} = %s",  # noqa: S608
                            [rotated, row_pk],
                        )
                        total += 1
        self.stdout.write(f"Re-encrypted {total} values with the newest key.")

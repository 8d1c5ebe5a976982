import secrets

import factory
from django.contrib.auth import get_user_model

from phoneprovider.models import Connection, PhoneMessage, PhoneProvider

TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_MSSID = "MG" + "fedcba9876543210" * 2
VERIFY_SERVICE_SID = "VA" + "00112233445566778899aabbccddeeff"


class StaffUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"admin{n}")
    is_staff = True
    is_superuser = True
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")


class TwilioProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhoneProvider

    name = PhoneProvider.Name.TWILIO
    delivery_methods = ["text", "voice"]
    twilio_sid = TWILIO_SID
    twilio_default_from = "+14155550199"
    twilio_auth_token = "twilio-secret-token-value"


class ConnectionFactory(factory.django.DjangoModelFactory):
    """A routing connection to Twilio Programmable Messaging."""

    class Meta:
        model = Connection

    name = factory.Sequence(lambda n: f"twilio-{n}")
    kind = Connection.Kind.TWILIO
    twilio_sid = TWILIO_SID
    twilio_default_from = "+14155550199"
    twilio_auth_token = "twilio-secret-token-value"


class VerifyConnectionFactory(ConnectionFactory):
    name = factory.Sequence(lambda n: f"verify-{n}")
    kind = Connection.Kind.TWILIO_VERIFY
    twilio_default_from = ""
    verify_service_sid = VERIFY_SERVICE_SID


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhoneMessage

    recipient = "+14155550100"
    message_type = "otp_verify"
    delivery_method = "text"
    code = "123456"
    as_text = "123456 is your code"
    as_voice = "Your code is 1, 2, 3, 4, 5, 6"


def bulk_messages(
    count: int,
    *,
    age=None,
    status: str = "delivered",
    recipient: str = "+1415555{n:04d}",
    attempts: bool = False,
    executions: bool = False,
) -> list[int]:
    """``count`` messages written fast (bulk inserts), ``age`` old (a timedelta), optionally each
    with one attempt and that attempt's execution. Returns the message pks."""
    from django.utils import timezone

    from phoneprovider.models import DeliveryAttempt, Execution

    tag = secrets.token_hex(3)  # unique public ids across calls
    messages = PhoneMessage.objects.bulk_create(
        [
            PhoneMessage(
                public_id=f"msg_{tag}{n:016d}",
                recipient=recipient.format(n=n % 10000),
                message_type="otp_verify",
                delivery_method="text",
                as_text=f"Your code is {n % 1000000:06d}",
                status=status,
                provider_name="custom",
            )
            for n in range(count)
        ],
        batch_size=5000,
    )
    pks = [m.pk for m in messages]
    if age is not None:
        # auto_now_add stamps every insert with now: age the rows afterwards.
        PhoneMessage.objects.filter(pk__in=pks).update(
            created_at=timezone.now() - age, updated_at=timezone.now() - age
        )
    if executions:
        runs = Execution.objects.bulk_create(
            [
                Execution(
                    public_id=f"exe_{tag}{n:016d}",
                    kind="delivery",
                    status="delivered",
                    logs=[{"level": "log", "message": "gateway answered 200"}],
                )
                for n in range(count)
            ],
            batch_size=5000,
        )
    if attempts or executions:
        DeliveryAttempt.objects.bulk_create(
            [
                DeliveryAttempt(
                    message_id=pk,
                    number=1,
                    provider_name="custom",
                    outcome="sent",
                    execution_id=runs[i].pk if executions else None,
                )
                for i, pk in enumerate(pks)
            ],
            batch_size=5000,
        )
    return pks

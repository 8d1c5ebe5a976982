import factory
from django.contrib.auth import get_user_model

from phoneprovider.models import PhoneMessage, PhoneProvider

TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_MSSID = "MG" + "fedcba9876543210" * 2


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


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhoneMessage

    recipient = "+14155550100"
    message_type = "otp_verify"
    delivery_method = "text"
    code = "123456"
    as_text = "123456 is your code"
    as_voice = "Your code is 1, 2, 3, 4, 5, 6"

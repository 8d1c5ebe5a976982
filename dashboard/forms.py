"""Parsing of the dashboard's forms. Business rules live in the services; these only turn POST
data into the arguments of one service call."""

import json
import re

from django import forms

from phoneprovider.errors import ApplicationError, ValidationError
from phoneprovider.models import DeliveryMethod, PhoneProvider
from phoneprovider.phone import normalize_e164

SMS_SOURCE_FROM = "from"
SMS_SOURCE_MSSID = "mssid"


class ProviderForm(forms.Form):
    """The provider page's Save. Lenient on purpose: the services say what is wrong."""

    name = forms.ChoiceField(choices=PhoneProvider.Name.choices, label="Provider")
    delivery_methods = forms.MultipleChoiceField(
        choices=DeliveryMethod.choices, required=False, label="Delivery methods"
    )
    sms_source = forms.ChoiceField(
        choices=[(SMS_SOURCE_FROM, "Use From"), (SMS_SOURCE_MSSID, "Use Messaging Service")],
        required=False,
        label="SMS source",
    )
    default_from = forms.CharField(required=False, label="From")
    mssid = forms.CharField(required=False, label="Messaging Service SID")
    sid = forms.CharField(required=False, label="Twilio SID")
    auth_token = forms.CharField(required=False, strip=True, label="Twilio Auth Token")
    code = forms.CharField(required=False, strip=False, label="Provider configuration")

    def twilio_arguments(self) -> dict:
        """Arguments of ``provider_save`` for Twilio (an empty token keeps the stored one)."""
        data = self.cleaned_data
        use_mssid = data.get("sms_source") == SMS_SOURCE_MSSID
        return {
            "name": PhoneProvider.Name.TWILIO,
            "delivery_methods": data["delivery_methods"],
            "twilio_sid": data["sid"],
            "twilio_default_from": "" if use_mssid else data["default_from"],
            "twilio_mssid": data["mssid"] if use_mssid else "",
            "twilio_auth_token": data["auth_token"] or None,
        }


DEPENDENCY_ROW = re.compile(r"^dependency-(\d+)-name$")


def dependency_rows(post) -> list[dict] | None:
    """Read the Dependencies panel: rows ``dependency-<n>-name`` / ``-version`` / ``-remove``.

    Returns the declared dependencies in the panel's order (rows with no name and those marked
    Remove left out), or None when the form had no Dependencies panel (keep what is stored).
    """
    if not post.get("dependencies_posted"):
        return None
    rows = sorted(
        int(match.group(1)) for key in post for match in [DEPENDENCY_ROW.match(key)] if match
    )
    declared = []
    for index in rows:
        name = post.get(f"dependency-{index}-name", "").strip()
        version = post.get(f"dependency-{index}-version", "").strip()
        if name and not post.get(f"dependency-{index}-remove"):
            # An empty version means the latest, as npm install <name> does.
            declared.append({"name": name, "version": version or "latest"})
    return declared


def secret_changes(post, existing_names) -> tuple[dict[str, str], list[str]]:
    """Read the Secrets panel: new rows, replaced values and deletions.

    New rows come as parallel lists ``new_secret_name`` / ``new_secret_value``; a replaced value
    as ``secret_value__<NAME>``; a deletion as a ``delete_secret`` checkbox with the name.
    Rows left entirely blank are ignored.
    """
    upserts: dict[str, str] = {}
    names = post.getlist("new_secret_name")
    values = post.getlist("new_secret_value")
    for index, name in enumerate(names):
        name = name.strip()
        value = values[index] if index < len(values) else ""
        if not name and not value:
            continue
        if not name:
            raise ValidationError("Give the new secret a name.", field="secrets")
        if value == "":
            raise ValidationError(f"Give the secret {name} a value.", field="secrets")
        if name in upserts or name in existing_names:
            raise ValidationError(f"Secret {name} is listed twice.", field="secrets")
        upserts[name] = value
    for name in existing_names:
        value = post.get(f"secret_value__{name}", "")
        if value:
            upserts[name] = value
    deletes = [name for name in post.getlist("delete_secret") if name in existing_names]
    for name in deletes:
        upserts.pop(name, None)
    return upserts, deletes


class SendTestForm(forms.Form):
    to = forms.CharField(
        label="Phone number",
        help_text="In E.164 format, for example +14155550100.",
        widget=forms.TextInput(
            attrs={"type": "tel", "autocomplete": "tel", "placeholder": "+14155550100"}
        ),
    )
    delivery_method = forms.ChoiceField(choices=DeliveryMethod.choices, label="Send as")

    def __init__(self, *args, methods: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(value, label) for value, label in DeliveryMethod.choices if value in methods]
        self.fields["delivery_method"].choices = choices
        if choices:
            self.fields["delivery_method"].initial = choices[0][0]

    def clean_to(self) -> str:
        try:
            return normalize_e164(self.cleaned_data["to"], field="to")
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from None


class EditorForm(forms.Form):
    """Save Draft / Deploy of the expanded editor."""

    code = forms.CharField(required=False, strip=False, label="Handler code")


class TestRunForm(forms.Form):
    """The Test panel: the (unsaved) code, an event as JSON text, and the dry-run switch."""

    code = forms.CharField(required=False, strip=False, label="Handler code")
    event = forms.CharField(label="Event", strip=False)
    dry_run = forms.BooleanField(required=False, label="Dry run")

    def clean_event(self) -> dict:
        try:
            event = json.loads(self.cleaned_data["event"])
        except ValueError as exc:
            raise forms.ValidationError(f"The event is not valid JSON: {exc}") from None
        if not isinstance(event, dict):
            raise forms.ValidationError("The event must be a JSON object ({…}).")
        return event


class TemplateForm(forms.Form):
    """A phone template's Save; the service validates the sender and the Liquid."""

    enabled = forms.BooleanField(required=False, label="Enabled")
    from_number = forms.CharField(required=False, label="From")
    text_body = forms.CharField(required=False, strip=False, label="Text message")
    voice_body = forms.CharField(required=False, strip=False, label="Voice message")

"""Rows that govern and keep the installation: the abuse-limit policy and its counters when no
Redis holds them, and the record of retention purges."""

from django.db import models


class DeliveryPolicy(models.Model):
    """Abuse limits checked before any provider code runs, and the failover switch (one row)."""

    class Mode(models.TextChoices):
        ENFORCE = "enforce", "Enforce"
        RECORD_ONLY = "record_only", "Record only"

    installation = models.PositiveSmallIntegerField(default=1, unique=True, editable=False)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.ENFORCE)
    recipient_per_hour = models.PositiveIntegerField(
        default=10, help_text="Messages to one number per hour (0: no limit)."
    )
    prefix_digits = models.PositiveSmallIntegerField(
        default=8, help_text="How many leading characters of the E.164 number form a prefix."
    )
    prefix_per_minute = models.PositiveIntegerField(
        default=30, help_text="Messages to one prefix per minute (0: no limit)."
    )
    global_per_minute = models.PositiveIntegerField(
        default=0, help_text="Messages per minute in all (0: no limit)."
    )
    # ISO 3166 alpha-2 codes; an empty allowlist allows every country not denied.
    text_countries_allowed = models.JSONField(default=list, blank=True)
    text_countries_denied = models.JSONField(default=list, blank=True)
    voice_countries_allowed = models.JSONField(default=list, blank=True)
    voice_countries_denied = models.JSONField(default=list, blank=True)
    failover_to_twilio = models.BooleanField(
        default=False,
        help_text="When the custom handler fails for good, send through the Twilio settings.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "delivery policy"

    def __str__(self) -> str:
        return "Delivery policy"


class PurgeRun(models.Model):
    """One run of the retention purge: what it removed and how long it took.

    Written when the run starts and updated after every batch, so a run that dies half-way
    still shows what it did (``finished_at`` stays empty) and the next run carries on.
    """

    trigger = models.CharField(max_length=16, default="beat")  # beat | command
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    message_cutoff = models.DateTimeField(null=True, blank=True)
    audit_cutoff = models.DateTimeField(null=True, blank=True)
    batches = models.PositiveIntegerField(default=0)
    messages_removed = models.PositiveIntegerField(default=0)
    attempts_removed = models.PositiveIntegerField(default=0)
    executions_removed = models.PositiveIntegerField(default=0)
    audit_entries_removed = models.PositiveIntegerField(default=0)
    duration_seconds = models.FloatField(default=0)
    # False when the run stopped at its time budget with old rows left for the next run.
    complete = models.BooleanField(default=False)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"purge {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def rows_removed(self) -> int:
        return (
            self.messages_removed
            + self.attempts_removed
            + self.executions_removed
            + self.audit_entries_removed
        )


class LimitWindow(models.Model):
    """One window of an abuse-limit counter, used when no Redis is configured (or it is down).

    ``key`` names the limit, the (keyed-hash) subject and the window number, so a counter is one
    row updated in place: a send costs the same at any table size. Rows outlive their window by
    one window (the sliding counter weighs the previous one) and the sweeper deletes them after.
    """

    key = models.CharField(max_length=200, unique=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"

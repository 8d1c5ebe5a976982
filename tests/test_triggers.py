"""The runtime spells the trigger ids again (it imports nothing of Django, so not the model's
choices): the two lists must stay the same."""

from phoneprovider.models import Action
from phoneprovider.runtime._execute import TRIGGERS


def test_the_runtime_runs_exactly_the_triggers_an_action_can_have():
    assert sorted(TRIGGERS) == sorted(Action.Trigger.values)

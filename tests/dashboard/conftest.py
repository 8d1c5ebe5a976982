import pytest


@pytest.fixture
def staff(client, django_user_model):
    """Django's test client signed in as a staff member."""
    user = django_user_model.objects.create_user("ops", password="pw-staff-123", is_staff=True)
    client.force_login(user)
    return client

import pytest
from cryptography.fernet import Fernet

from .factories import UserFactory

# The key app/settings/test.py configures (K1 in the rotation tests).
K1 = "0B4K2J0ZoHq6pJ8V7oCk1f5y3bq2m6vF6w9rN1xT0aY="
K2 = Fernet.generate_key().decode()
UNRELATED_KEY = Fernet.generate_key().decode()


@pytest.fixture
def driver():
    return UserFactory(email="driver@example.com")


@pytest.fixture
def other_driver():
    return UserFactory(email="other@example.com")


@pytest.fixture(autouse=True)
def _test_keys(settings):
    """Every test starts from the test settings' keys, whatever an earlier test did."""
    settings.PLATE_ENCRYPTION_KEYS = [K1]
    settings.PLATE_INDEX_KEY = "test-plate-index-key"

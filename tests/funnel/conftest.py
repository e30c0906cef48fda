import pytest

from tests.factories import AccountFactory


@pytest.fixture
def books(cast):
    """One customer for each member of the cast, named after them."""
    return {name: AccountFactory(owner=user, name=f"{name}-customer") for name, user in cast.items()}

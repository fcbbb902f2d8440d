"""Authentication comes before the microversion check (as Placement's
middleware order has it); authorization after it."""
import pytest

from tests.conftest import ApiClient


@pytest.mark.parametrize("version", ["9.99", "nonsense", "0.9"])
def test_no_token_is_401_whatever_the_microversion(app, version):
    anonymous = ApiClient(app.test_client(), token=None, version=version)
    response = anonymous.get("/resource_providers")
    assert response.status_code == 401
    assert response.get_json()["errors"][0]["status"] == 401


def test_with_a_token_the_microversion_is_checked(app):
    admin = ApiClient(app.test_client(), version="9.99")
    assert admin.get("/resource_providers").status_code == 406

"""Device pairing over real HTTP: a code pairs once, within its lifetime, in its own tenant
only; wrong guesses void the tenant's open codes; the token received works and a second pairing
of the same device revokes the first token."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from publisher_api.bootstrap.seed import seed_dev
from publisher_api.changes import NullSink
from publisher_api.errors import ApiError
from publisher_api.services import pairing
from publisher_api.services.changes import Writer
from publisher_api.site_schemas import PairIn, PairingCodeIn
from publisher_api.store.database import Database
from publisher_api.store.migrate import upgrade_to_head
from tests.api.conftest import TENANT, Api, api_settings

BASE = f"/api/v1/tenants/{TENANT}"


def new_code(api: Api, device_id: str, role: str = "display", tenant: str = TENANT) -> str:
    r = api.http.post(
        f"/api/v1/tenants/{tenant}/pairing-codes",
        json={"id": device_id, "role": role},
        headers=api.auth("admin" if tenant == TENANT else "root"),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"] == device_id
    assert len(body["code"]) == 6
    assert body["code"].isdigit()
    return str(body["code"])


def pair(api: Api, code: str, tenant: str = TENANT) -> tuple[int, dict[str, object]]:
    r = api.http.post("/api/v1/pair", json={"tenant": tenant, "code": code})
    return r.status_code, r.json()


def test_a_code_pairs_once_and_the_token_works(api: Api) -> None:
    code = new_code(api, "lobby-tv")
    status, body = pair(api, code)
    assert status == 200, body
    assert (body["tenant"], body["id"], body["role"]) == (TENANT, "lobby-tv", "display")
    token = str(body["token"])
    r = api.http.get(f"{BASE}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200  # devices may read their tenant
    listed = api.http.get(f"{BASE}/devices", headers=api.auth("admin")).json()
    assert {"id": "lobby-tv", "role": "display"} in listed

    status, body = pair(api, code)  # single use
    assert (status, body["error"]) == (400, "pairing_code_invalid")


def test_pairing_again_revokes_the_previous_token(api: Api) -> None:
    _, first = pair(api, new_code(api, "kiosk-2", "totem"))
    _, second = pair(api, new_code(api, "kiosk-2", "totem"))
    old = {"Authorization": f"Bearer {first['token']}"}
    new = {"Authorization": f"Bearer {second['token']}"}
    assert api.http.get(f"{BASE}", headers=old).status_code == 401
    assert api.http.get(f"{BASE}", headers=new).status_code == 200


def test_a_code_of_another_tenant_is_refused(api: Api) -> None:
    root = api.auth("root")
    r = api.http.post("/api/v1/tenants", json={"id": "other", "name": "Other"}, headers=root)
    assert r.status_code == 201
    theirs = new_code(api, "their-tv", tenant="other")
    status, body = pair(api, theirs, tenant=TENANT)
    assert (status, body["error"]) == (400, "pairing_code_invalid")
    devices = api.http.get(f"{BASE}/devices", headers=api.auth("admin")).json()
    assert "their-tv" not in {d["id"] for d in devices}
    # Still good where it belongs, and its token is the other tenant's.
    status, body = pair(api, theirs, tenant="other")
    assert (status, body["tenant"]) == (200, "other")
    token = {"Authorization": f"Bearer {body['token']}"}
    assert api.http.get(f"{BASE}", headers=token).status_code == 403


def test_wrong_guesses_void_the_open_codes(api: Api) -> None:
    code = new_code(api, "guessed-tv")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(pairing.MAX_WRONG_ATTEMPTS):
        assert pair(api, wrong)[0] == 400
    status, body = pair(api, code)  # the right code, too late
    assert (status, body["error"]) == (400, "pairing_code_invalid")
    assert pair(api, new_code(api, "guessed-tv"))[0] == 200  # a new code works again


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"tenant": TENANT, "code": "12345"}, 422),
        ({"tenant": TENANT, "code": "abcdef"}, 422),
        ({"tenant": "Not A Tenant", "code": "123456"}, 422),
        ({"tenant": "nobody", "code": "123456"}, 400),
        ({"code": "123456"}, 422),
    ],
)
def test_malformed_pairing_requests(api: Api, body: dict[str, str], status: int) -> None:
    r = api.http.post("/api/v1/pair", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"] in {"validation_error", "pairing_code_invalid"}


def test_only_admins_make_codes_and_roles_must_match(api: Api) -> None:
    body = {"id": "x-tv", "role": "display"}
    url = f"{BASE}/pairing-codes"
    assert api.http.post(url, json=body).status_code == 401
    assert api.http.post(url, json=body, headers=api.auth("operator")).status_code == 403
    # totem-1 is seeded as a totem: it cannot be paired as a display.
    r = api.http.post(url, json={"id": "totem-1", "role": "display"}, headers=api.auth("admin"))
    assert (r.status_code, r.json()["error"]) == (409, "conflict")
    r = api.http.post(url, json={"id": "Bad Id", "role": "display"}, headers=api.auth("admin"))
    assert r.status_code == 422


def test_a_code_expires(tmp_path: Path) -> None:
    """On the service with a chosen clock (real SQLite): valid until its lifetime ends."""
    settings = api_settings(tmp_path)
    database = Database(settings.effective_database_url)
    try:
        upgrade_to_head(database)
        writer = Writer(database, NullSink())
        seed_dev(writer, settings)
        now = pairing.utc_now()
        made = pairing.create_code(
            writer, TENANT, PairingCodeIn(id="late-tv", role="display"), created_by="admin", now=now
        )
        late = now + pairing.CODE_TTL + timedelta(seconds=1)
        with pytest.raises(ApiError) as refused:
            pairing.pair(writer, settings, PairIn(tenant=TENANT, code=made.code), now=late)
        assert refused.value.code == "pairing_code_invalid"
        in_time = now + pairing.CODE_TTL - timedelta(seconds=1)
        paired = pairing.pair(writer, settings, PairIn(tenant=TENANT, code=made.code), now=in_time)
        assert paired.id == "late-tv"
    finally:
        database.dispose()

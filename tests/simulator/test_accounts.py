"""Several PISTE applications and technical accounts in one simulator, as on the real platform.

Two cooperatives each hold their own application and technical account: Cooproduction's account
is attached to Rhizome and Passerelle, Loire Océan's to Estuaire. The default application and
account keep Antigone and Artenréel, so the rest of the suite is unaffected.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from chorus_pro.simulator import SimulatorHandle, codes
from chorus_pro.simulator.auth import ACCOUNT_CHALLENGE, INVALID_BEARER_CHALLENGE
from chorus_pro.simulator.config import SimulatorConfig, TechnicalAccount
from chorus_pro.simulator.flux import UNKNOWN_SUPPLIER
from chorus_pro.simulator.quota import ClientStats, RateLimiter, quota_window
from chorus_pro.simulator.seed import (
    ANTIGONE,
    ESTUAIRE,
    MASCARET,
    PASSERELLE,
    RHIZOME,
    Supplier,
)
from chorus_pro.simulator.server import SimulatorControlError
from chorus_pro.simulator.store import Store
from tests.simulator.facturx_samples import SampleInvoice, cii_xml
from tests.simulator.helpers import (
    CONSULTER,
    CONSULTER_CR_DETAILLE,
    DEPOSER_FLUX,
    RECHERCHER,
    SOUMETTRE,
    TOKEN_PATH,
    Api,
    b64,
    invoice_body,
)

STRUCTURES_RECHERCHER = "/cpro/structures/v1/rechercher"
STRUCTURES_CONSULTER = "/cpro/structures/v1/consulter"
ACTIVES = "/cpro/transverses/v1/recuperer/structures/actives/fournisseur"
COORDBANC = "/cpro/transverses/v1/recuperer/coordbanc/valides"
CII_16B = "IN_DP_E1_CII_16B"
PENDING = "IN_DEPOT_PORTAIL_EN_ATTENTE_TRAITEMENT_SE_CPP"

COOP_APP: dict[str, Any] = {"client_id": "cooproduction-app", "client_secret": "coop-secret"}
LOIRE_APP: dict[str, Any] = {
    "client_id": "loire-ocean-app",
    "client_secret": "loire-secret",
    "unsubscribed_apis": ["structures"],
}
COOP_ACCOUNT: dict[str, Any] = {
    "login": "TECH_2_cooproduction@cpro.fr",
    "password": "coop-password",
    "attached_supplier_sirets": [RHIZOME.siret, PASSERELLE.siret],
}
LOIRE_ACCOUNT: dict[str, Any] = {
    "login": "TECH_1_loire-ocean@cpro.fr",
    "password": "loire-password",
    "attached_supplier_sirets": [ESTUAIRE.siret],
}


def configure(
    simulator: SimulatorHandle,
    *,
    coop_app: dict[str, Any] | None = None,
    coop_account: dict[str, Any] | None = None,
    loire_account: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return simulator.control.set_config(
        piste_apps=[coop_app or COOP_APP, LOIRE_APP],
        technical_accounts=[coop_account or COOP_ACCOUNT, loire_account or LOIRE_ACCOUNT],
    )


def tenant(simulator: SimulatorHandle, app: dict[str, Any], account: dict[str, Any]) -> Api:
    return Api(
        simulator,
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        login=account["login"],
        password=account["password"],
    )


@pytest.fixture
def coop(simulator: SimulatorHandle) -> Iterator[Api]:
    configure(simulator)
    client = tenant(simulator, COOP_APP, COOP_ACCOUNT)
    yield client
    client.close()


@pytest.fixture
def loire(simulator: SimulatorHandle, coop: Api) -> Iterator[Api]:
    client = tenant(simulator, LOIRE_APP, LOIRE_ACCOUNT)
    yield client
    client.close()


def numbers(api: Api) -> set[str]:
    return {item["numeroFacture"] for item in api.search_all()}


def cii_flux(api: Api, numero: str, seller: Supplier) -> str:
    content = cii_xml(
        SampleInvoice(number=numero, seller_siret=seller.siret, seller_name=seller.name)
    )
    payload = api.ok(
        DEPOSER_FLUX,
        {"fichierFlux": b64(content), "nomFichier": f"{numero}.xml", "syntaxeFlux": CII_16B},
    )
    flux_number: str = payload["numeroFluxDepot"]
    return flux_number


def report(api: Api, flux_number: str) -> dict[str, Any]:
    return api.ok(CONSULTER_CR_DETAILLE, {"numeroFluxDepot": flux_number})


# --- configuration ---------------------------------------------------------------------------


def test_default_application_and_account_come_first_from_the_top_level_fields() -> None:
    config = SimulatorConfig.model_validate(
        {
            "unsubscribed_apis": ["utilisateurs"],
            "rate_limit_per_second": 4,
            "tech_password_expires_on": "2027-01-31",
            "piste_apps": [COOP_APP],
            "technical_accounts": [COOP_ACCOUNT],
        }
    )

    default_app, coop_app = config.applications()
    default_account, coop_account = config.accounts()
    assert (default_app.client_id, default_app.client_secret) == (
        config.client_id,
        config.client_secret,
    )
    assert default_app.unsubscribed_apis == ["utilisateurs"]
    assert default_app.rate_limit_per_second == 4
    assert coop_app.rate_limit_per_second is None
    assert default_account.attached_supplier_sirets == config.attached_supplier_sirets
    assert default_account.password_expires_on == date(2027, 1, 31)
    assert coop_account.attached_supplier_sirets == [RHIZOME.siret, PASSERELLE.siret]
    assert config.account(COOP_ACCOUNT["login"]) == coop_account
    assert config.application("nobody") is None


@pytest.mark.parametrize(
    "extra",
    [
        {"piste_apps": [COOP_APP, COOP_APP]},
        {"piste_apps": [{"client_id": "simulator-client", "client_secret": "x"}]},
        {"technical_accounts": [COOP_ACCOUNT, {**COOP_ACCOUNT, "password": "other"}]},
        {"technical_accounts": [{"login": "TECH_1_cooproduction@cpro.fr", "password": "x"}]},
        {"technical_accounts": [{**COOP_ACCOUNT, "attached": []}]},
        {"piste_apps": [{**COOP_APP, "rate_limit_per_second": 0}]},
    ],
    ids=[
        "duplicate-client",
        "client-of-the-default-app",
        "duplicate-login",
        "login-of-the-default-account",
        "unknown-key",
        "zero-rate",
    ],
)
def test_ambiguous_or_unknown_credentials_are_refused(
    simulator: SimulatorHandle, extra: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        SimulatorConfig.model_validate(extra)
    with pytest.raises(SimulatorControlError):
        simulator.control.set_config(**extra)


# --- visibility per technical account --------------------------------------------------------


def test_each_account_sees_only_the_invoices_of_its_structures(
    api: Api, coop: Api, loire: Api
) -> None:
    api.submit("DEF-1")
    rhizome = coop.submit("RHZ-1", supplier=RHIZOME)
    coop.submit("PAS-1", supplier=PASSERELLE)
    loire.submit("EST-1", supplier=ESTUAIRE)

    assert numbers(api) == {"DEF-1"}
    assert numbers(coop) == {"RHZ-1", "PAS-1"}
    assert numbers(loire) == {"EST-1"}
    assert loire.search(numeroFacture="RHZ-1")["listeFactures"] == []
    loire.refused(
        CONSULTER,
        {"identifiantFactureCPP": rhizome["identifiantFactureCPP"]},
        codes.INVOICE_NOT_FOUND.code,
    )
    coop.ok(CONSULTER, {"identifiantFactureCPP": rhizome["identifiantFactureCPP"]})


@pytest.mark.parametrize(
    ("who", "supplier"),
    [("loire", RHIZOME), ("coop", ESTUAIRE), ("loire", MASCARET), ("default", RHIZOME)],
)
def test_soumettre_refuses_a_structure_attached_to_another_account(
    api: Api, coop: Api, loire: Api, simulator: SimulatorHandle, who: str, supplier: Supplier
) -> None:
    client = {"default": api, "coop": coop, "loire": loire}[who]

    client.refused(
        SOUMETTRE, invoice_body("X-1", supplier=supplier), codes.SUPPLIER_NOT_ATTACHED.code
    )

    assert simulator.control.store()["invoices"] == []


def test_a_flux_integrates_only_the_depositing_accounts_structures(coop: Api, loire: Api) -> None:
    own = cii_flux(coop, "FX-RHZ", RHIZOME)
    foreign = cii_flux(loire, "FX-RHZ-2", RHIZOME)

    for client, flux_number in ((coop, own), (loire, foreign)):
        assert report(client, flux_number)["etatCourantDepotFlux"] == PENDING
    integrated, refused = report(coop, own), report(loire, foreign)

    assert integrated["etatCourantDepotFlux"] == "IN_INTEGRE", integrated
    assert refused["etatCourantDepotFlux"] == "IN_REJETE", refused
    (error,) = refused["listeErreurDP"]
    assert error["libelleErreurDP"] == UNKNOWN_SUPPLIER
    assert error["identifiantFournisseur"] == RHIZOME.siret
    assert numbers(coop) == {"FX-RHZ"}
    assert numbers(loire) == set()


def test_flux_reports_belong_to_the_depositing_account(coop: Api, loire: Api) -> None:
    flux_number = cii_flux(coop, "FX-PAS", PASSERELLE)

    loire.refused(
        CONSULTER_CR_DETAILLE, {"numeroFluxDepot": flux_number}, codes.FLUX_NOT_FOUND.code
    )
    assert report(coop, flux_number)["etatCourantDepotFlux"] == PENDING


def test_a_flux_settled_by_the_clock_uses_its_depositors_attachments(
    simulator: SimulatorHandle, coop: Api, loire: Api
) -> None:
    cii_flux(coop, "FX-CLK-1", RHIZOME)
    cii_flux(loire, "FX-CLK-2", ESTUAIRE)
    cii_flux(loire, "FX-CLK-3", PASSERELLE)

    assert simulator.control.advance(minutes=5)["flux_settled"] == 3

    assert numbers(coop) == {"FX-CLK-1"}
    assert numbers(loire) == {"FX-CLK-2"}
    states = sorted(f["etat"] for f in simulator.control.store()["flux"])
    assert states == ["IN_INTEGRE", "IN_INTEGRE", "IN_REJETE"]


def test_structure_lookups_answer_for_the_requesting_account(coop: Api, loire: Api) -> None:
    def actives(client: Api) -> list[int]:
        return [s["idStructureCPP"] for s in client.ok(ACTIVES, {})["listeStructures"]]

    assert actives(coop) == [RHIZOME.id, PASSERELLE.id]
    assert actives(loire) == [ESTUAIRE.id]
    own = loire.ok(COORDBANC, {"idStructure": ESTUAIRE.id})["listeCoordonneeBancaire"]
    assert [a["idCoordonneeBancaire"] for a in own] == [ESTUAIRE.bank_accounts[0].id]
    for structure in (RHIZOME, ANTIGONE, MASCARET):
        loire.refused(COORDBANC, {"idStructure": structure.id}, codes.STRUCTURE_NOT_ATTACHED.code)


def test_password_expiry_shows_on_the_accounts_own_structures_only(
    simulator: SimulatorHandle, api: Api
) -> None:
    expires = date.fromisoformat(simulator.control.clock()["today"]) + timedelta(days=30)
    configure(simulator, coop_account={**COOP_ACCOUNT, "password_expires_on": expires.isoformat()})
    coop = tenant(simulator, COOP_APP, COOP_ACCOUNT)

    def expiry(client: Api, supplier: Supplier) -> str | None:
        answer = client.ok(STRUCTURES_CONSULTER, {"idStructureCPP": supplier.id})
        value: str | None = answer["informationGenerales"]["dateExpirationMotPasseCompteTech"]
        return value

    try:
        assert expiry(coop, RHIZOME) == expires.isoformat()
        assert expiry(coop, ANTIGONE) is None
        assert expiry(api, ANTIGONE) == simulator.control.clock()["password_expires_on"]
        assert expiry(api, RHIZOME) is None
    finally:
        coop.close()


def test_the_directory_lists_every_supplier_structure(api: Api) -> None:
    found = api.ok(
        STRUCTURES_RECHERCHER,
        {"structure": {"typeStructure": "PRIVEE"}, "parametres": {"nbResultatsParPage": 100}},
    )["listeStructures"]

    assert {s["identifiantStructure"] for s in found} == {
        ANTIGONE.siret,
        "47840796800054",
        RHIZOME.siret,
        PASSERELLE.siret,
        ESTUAIRE.siret,
        MASCARET.siret,
    }


def test_concurrent_requests_of_two_accounts_keep_their_own_view(
    simulator: SimulatorHandle, coop: Api, loire: Api
) -> None:
    coop.submit("RHZ-C", supplier=RHIZOME)
    loire.submit("EST-C", supplier=ESTUAIRE)
    # A little latency makes the two clients' requests overlap inside the server.
    simulator.control.set_config(latency_ms=5)

    def views(client: Api) -> set[frozenset[str]]:
        return {frozenset(numbers(client)) for _ in range(15)}

    with ThreadPoolExecutor(max_workers=2) as pool:
        coop_views, loire_views = pool.map(views, (coop, loire))

    assert coop_views == {frozenset({"RHZ-C"})}
    assert loire_views == {frozenset({"EST-C"})}


# --- applications: tokens, subscriptions ----------------------------------------------------


def test_a_token_carries_its_applications_subscriptions(coop: Api, loire: Api) -> None:
    body = {"parametres": {"nbResultatsParPage": 1}}

    assert coop.post(STRUCTURES_RECHERCHER, body).status_code == 200
    refused = loire.post(STRUCTURES_RECHERCHER, body)
    assert refused.status_code == 403
    assert refused.content == b""
    assert loire.post(RECHERCHER, {}).status_code == 200
    # The account does not matter: Loire Océan's token with Cooproduction's account is refused too.
    crossed = coop.post(STRUCTURES_RECHERCHER, body, headers=coop.headers(token=loire.token()))
    assert crossed.status_code == 403


def test_each_application_authenticates_with_its_own_secret(
    simulator: SimulatorHandle, coop: Api
) -> None:
    wrong = coop.request_token(client_secret=LOIRE_APP["client_secret"])

    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_client"
    assert coop.request_token().status_code == 200


def test_removing_an_application_revokes_its_tokens(
    simulator: SimulatorHandle, coop: Api, loire: Api
) -> None:
    coop.token()
    loire.token()
    simulator.control.set_config(piste_apps=[LOIRE_APP])

    response = coop.post(RECHERCHER, {})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == INVALID_BEARER_CHALLENGE
    assert loire.post(RECHERCHER, {}).status_code == 200


# --- technical accounts: revocation, expiry --------------------------------------------------


def test_a_revoked_account_is_refused_until_restored(
    simulator: SimulatorHandle, coop: Api, loire: Api
) -> None:
    assert coop.post(RECHERCHER, {}).status_code == 200
    configure(simulator, coop_account={**COOP_ACCOUNT, "password": "changed-by-the-manager"})

    revoked = coop.post(RECHERCHER, {})
    assert revoked.status_code == 401
    assert revoked.content == b""
    assert revoked.headers["www-authenticate"] == ACCOUNT_CHALLENGE
    assert loire.post(RECHERCHER, {}).status_code == 200

    configure(simulator)
    assert coop.post(RECHERCHER, {}).status_code == 200


def test_each_accounts_password_expires_on_its_own_date(
    simulator: SimulatorHandle, coop: Api, loire: Api
) -> None:
    today = date.fromisoformat(simulator.control.clock()["today"])
    configure(
        simulator,
        coop_account={
            **COOP_ACCOUNT,
            "password_expires_on": (today + timedelta(days=2)).isoformat(),
        },
        loire_account={**LOIRE_ACCOUNT, "password_expires_on": today.isoformat()},
    )
    assert coop.post(ACTIVES, {}).status_code == 200
    assert loire.post(ACTIVES, {}).status_code == 200

    simulator.control.advance(days=1)

    assert coop.post(ACTIVES, {}).status_code == 200
    assert loire.post(ACTIVES, {}).status_code == 401


def test_a_login_that_is_not_configured_is_refused(coop: Api) -> None:
    stranger = coop.headers()
    stranger["cpro-account"] = b64(b"TECH_9_nobody@cpro.fr:coop-password")

    assert coop.post(RECHERCHER, {}, headers=stranger).status_code == 401


# --- per-client stats and quota --------------------------------------------------------------


def test_stats_count_requests_per_client(
    simulator: SimulatorHandle, api: Api, coop: Api, loire: Api
) -> None:
    coop.token()
    loire.token()
    simulator.control.reset_stats()
    coop.token(fresh=True)
    started = time.monotonic()
    for _ in range(4):
        coop.post(RECHERCHER, {})
    elapsed = time.monotonic() - started
    loire.post(RECHERCHER, {})
    loire.post(STRUCTURES_RECHERCHER, {})  # refused (403), still a request of that client
    coop.post(RECHERCHER, {}, headers=coop.headers(token="not-a-token"))  # nobody's
    simulator.control.store()  # control calls count for nobody

    by_client = simulator.control.stats()["by_client"]

    coop_stats = by_client[COOP_APP["client_id"]]
    assert {k: v for k, v in coop_stats.items() if k != "max_per_second"} == {
        "requests": 4,
        "token_requests": 1,
        "throttled": 0,
    }
    # Four requests spread over `elapsed` seconds: some one-second window holds at least
    # 4 / (floor(elapsed) + 1) of them, and no window more than the four.
    assert math.ceil(4 / (math.floor(elapsed) + 1)) <= coop_stats["max_per_second"] <= 4
    assert by_client[LOIRE_APP["client_id"]]["requests"] == 2
    assert by_client[LOIRE_APP["client_id"]]["token_requests"] == 0
    assert by_client[api.credentials["client_id"]] == {
        "requests": 0,
        "token_requests": 0,
        "max_per_second": 0,
        "throttled": 0,
    }
    simulator.control.reset_stats()
    assert simulator.control.stats()["by_client"][COOP_APP["client_id"]]["requests"] == 0


def test_token_requests_count_for_known_clients_only(simulator: SimulatorHandle, coop: Api) -> None:
    simulator.control.reset_stats()
    coop.request_token()
    coop.request_token(client_secret="wrong")
    coop.request_token(client_id="unknown-app")

    stats = simulator.control.stats()

    assert stats["requests"][TOKEN_PATH] == 3
    assert stats["by_client"][COOP_APP["client_id"]]["token_requests"] == 2
    assert "unknown-app" not in stats["by_client"]


def test_a_rate_limited_application_gets_429_beyond_its_quota(
    simulator: SimulatorHandle, coop: Api, loire: Api
) -> None:
    configure(simulator, coop_app={**COOP_APP, "rate_limit_per_second": 1})
    coop.token()
    simulator.control.reset_stats()
    sent = 6

    started = time.monotonic()
    answers = [coop.post(SOUMETTRE, invoice_body(f"Q-{n}", supplier=RHIZOME)) for n in range(sent)]
    elapsed = time.monotonic() - started

    statuses = [a.status_code for a in answers]
    throttled = [a for a in answers if a.status_code == 429]
    accepted = statuses.count(200)
    assert set(statuses) <= {200, 429}, statuses
    assert statuses[0] == 200, "the first request of an idle application is always admitted"
    # At most one admitted request in any one-second window: however slow this machine is,
    # `sent` requests spanning `elapsed` seconds cannot have more than floor(elapsed) + 1.
    assert accepted <= math.floor(elapsed) + 1, (statuses, elapsed)
    for answer in throttled:
        assert int(answer.headers["Retry-After"]) >= 1
        assert answer.json() == {
            "message": "Rate limit exceeded ! Retry later.",
            "http_status_code": 429,
        }
    stats = simulator.control.stats()
    assert stats["by_client"][COOP_APP["client_id"]]["requests"] == sent
    assert stats["by_client"][COOP_APP["client_id"]]["throttled"] == len(throttled)
    assert stats["responses"][SOUMETTRE].get("429", 0) == len(throttled)
    submitted = {s["numeroFacture"] for s in simulator.control.store()["submissions"]}
    assert submitted == {f"Q-{n}" for n, status in enumerate(statuses) if status == 200}
    # Another application's quota is its own.
    assert loire.post(RECHERCHER, {}).status_code == 200


def test_quota_window_of_a_rate() -> None:
    assert quota_window(3) == (3, 1.0)
    assert quota_window(2.5) == (2, 1.0)
    assert quota_window(0.5) == (1, 2.0)
    assert quota_window(0.25) == (1, 4.0)


def test_rate_limiter_slides_its_window() -> None:
    limiter = RateLimiter()

    assert limiter.admit("a", 2, 10.0) is None
    assert limiter.admit("a", 2, 10.4) is None
    assert limiter.admit("a", 2, 10.5) == 1, "third within the second"
    assert limiter.admit("b", 2, 10.5) is None, "quotas are per client"
    assert limiter.admit("a", 2, 10.9) == 1
    assert limiter.admit("a", 2, 11.0) is None, "10.0 has left the window"
    assert limiter.admit("a", 2, 11.3) == 1, "10.4 and 11.0 are still in it"
    assert limiter.admit("a", None, 11.3) is None, "no quota"
    slow = RateLimiter()
    assert slow.admit("a", 0.5, 0.0) is None
    assert slow.admit("a", 0.5, 0.2) == 2, "one request per two seconds"
    assert slow.admit("a", 0.5, 2.0) is None


def test_max_per_second_is_measured_over_a_sliding_window() -> None:
    straddling = ClientStats()
    for moment in (0.9, 0.95, 1.05, 1.1):  # four requests in 0.2 s across a second boundary
        straddling.record(moment, throttled=False)
    spread = ClientStats()
    for moment in (0.0, 1.0, 2.0, 3.0):
        spread.record(moment, throttled=moment > 1)

    assert straddling.max_per_second == 4
    assert spread.as_json() == {
        "requests": 4,
        "token_requests": 0,
        "max_per_second": 1,
        "throttled": 2,
    }


def test_a_request_counted_before_a_stats_reset_is_not_counted_after_it() -> None:
    store = Store(SimulatorConfig(rate_limit_per_second=1))
    epoch = store.count_request(RECHERCHER)
    store.reset_stats()

    assert store.admit_request(store.config.client_id, 1, epoch) is None
    assert store.clients == {}
    assert store.admit_request(store.config.client_id, 1, store.count_request(RECHERCHER)) == 1, (
        "the quota still saw the first request"
    )
    assert store.clients[store.config.client_id].throttled == 1


def test_the_request_account_is_private_to_each_concurrent_request() -> None:
    # Each request is its own asyncio task: an account set in one never shows in another, even
    # when their handlers interleave at an await.
    store = Store(
        SimulatorConfig.model_validate({"technical_accounts": [COOP_ACCOUNT, LOIRE_ACCOUNT]})
    )
    coop_account = store.config.account(COOP_ACCOUNT["login"])
    loire_account = store.config.account(LOIRE_ACCOUNT["login"])
    assert coop_account is not None and loire_account is not None
    both_inside = asyncio.Event()
    inside: list[str] = []

    async def request(account: TechnicalAccount) -> list[str]:
        with store.acting_as(account):
            inside.append(account.login)
            if len(inside) == 2:
                both_inside.set()
            await both_inside.wait()
            return store.attached_sirets()

    async def main() -> list[list[str]]:
        return list(await asyncio.gather(request(coop_account), request(loire_account)))

    assert asyncio.run(main()) == [[RHIZOME.siret, PASSERELLE.siret], [ESTUAIRE.siret]]
    assert store.current_account().login == store.config.login, "the default outside requests"

"""A batch of 200 calls from 8 threads while 30 % of requests fail transiently.

Reads and uploads only: they are the calls the client may retry whatever happened, so the batch
must come out complete and right, and every injected fault must show up as a structured retry
event. (Writes under faults are the deposit layer's business: see test_errors.py.)
"""

from __future__ import annotations

import hashlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from structlog.testing import capture_logs

from chorus_pro.client import ChorusProClient
from chorus_pro.simulator import SimulatorHandle
from chorus_pro.simulator.seed import ANTIGONE, ARTENREEL, BUYER_HOSPITAL, SCHILTIGHEIM
from tests.contract.conftest import MakeClient, pdf_bytes

CALLS = 200
THREADS = 8
FAULT_RATE = 0.30


def upload_content(n: int) -> bytes:
    return pdf_bytes(f"chaos document {n}") + n.to_bytes(4, "big")


def call(client: ChorusProClient, n: int) -> tuple[str, Any]:
    """Call number `n`: half uploads, half a rotation of the supplier-side reads."""
    if n % 2 == 0:
        return "upload", client.upload_file(f"chaos-{n}.pdf", upload_content(n))
    kind = (n // 2) % 5
    if kind == 0:
        return "suppliers", [s.idStructureCPP for s in client.supplier_structures()]
    if kind == 1:
        return "bank", [a.idCoordonneeBancaire for a in client.bank_accounts(ARTENREEL.id)]
    if kind == 2:
        return "services", [
            s.codeService for s in client.list_services(SCHILTIGHEIM.id, page_size=2)
        ]
    if kind == 3:
        return "structure", client.get_structure(BUYER_HOSPITAL.id).informationGenerales[
            "identifiantStructure"
        ]
    return "search", [s.idStructureCPP for s in client.search_structures(BUYER_HOSPITAL.siret)]


EXPECTED: dict[str, Any] = {
    "suppliers": [ANTIGONE.id, ARTENREEL.id],
    "bank": [ARTENREEL.bank_accounts[0].id],
    "services": [s.code for s in SCHILTIGHEIM.services],
    "structure": BUYER_HOSPITAL.siret,
    "search": [BUYER_HOSPITAL.id],
}


@pytest.mark.slow
def test_batch_completes_under_transient_faults(
    make_client: MakeClient, simulator: SimulatorHandle
) -> None:
    # Generous retries: a call fails only after 13 faults in a row (0.3**13 ≈ 1.6e-7). The
    # timeout is one a loaded machine's normal answer never reaches; a slow fault outlasts it.
    client = make_client(max_retries=12, timeout=3.0, backoff_base=0.01, backoff_max=0.05)
    share = FAULT_RATE / 5
    simulator.control.set_faults(
        rate_429=share,
        rate_500=share,
        rate_502=share,
        rate_503=share,
        rate_slow=share,
        slow_seconds=8.0,
        retry_after_seconds=0,
    )

    with capture_logs() as logs, ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda n: call(client, n), range(CALLS)))

    # Every call came back with the right answer.
    assert len(results) == CALLS
    uploads = {
        item["pieceJointeId"]: item for item in simulator.control.store()["uploads"]["items"]
    }
    for n, (kind, value) in enumerate(results):
        if kind == "upload":
            assert uploads[value]["sha256"] == hashlib.sha256(upload_content(n)).hexdigest()
            assert uploads[value]["pieceJointeNom"] == f"chaos-{n}.pdf"
        else:
            assert value == EXPECTED[kind], (n, kind)
    returned_ids = [value for kind, value in results if kind == "upload"]
    assert len(set(returned_ids)) == CALLS // 2

    # Faults were really injected, at about the configured share of all requests.
    injected: Counter[str] = Counter(simulator.control.stats()["faults"])
    stats = simulator.control.stats()
    assert sum(injected.values()) >= 0.15 * stats["total"]
    assert all(injected[kind] > 0 for kind in ("429", "500", "502", "503", "slow"))

    # ... and every one of them is a structured retry event with its reason.
    retries = [e for e in logs if e["event"] == "chorus_pro.retry"]
    for event in retries:
        assert event["log_level"] == "warning"
        assert isinstance(event["attempt"], int) and 1 <= event["attempt"] <= 12
        assert isinstance(event["wait_seconds"], float) and event["wait_seconds"] >= 0
        assert event["operation"]
    reasons = Counter(e["reason"] for e in retries)
    for status in ("429", "500", "502", "503"):
        assert reasons[f"HTTP {status}"] == injected[status]
    assert reasons["ReadTimeout"] >= injected["slow"]
    assert set(reasons) <= {"HTTP 429", "HTTP 500", "HTTP 502", "HTTP 503", "ReadTimeout"}

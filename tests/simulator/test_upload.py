"""`ajouter/fichier`: size, name and type limits, and what the store keeps."""

from __future__ import annotations

import hashlib

import pytest

from chorus_pro.simulator import SimulatorHandle
from tests.simulator.helpers import AJOUTER_FICHIER, Api, b64

TEN_MB = 10 * 1024 * 1024


def _body(
    name: str = "piece.pdf", content: bytes = b"%PDF-1.7", extension: str = "PDF"
) -> dict[str, str]:
    return {
        "pieceJointeFichier": b64(content),
        "pieceJointeNom": name,
        "pieceJointeTypeMime": "application/pdf",
        "pieceJointeExtension": extension,
    }


def test_upload_returns_increasing_ids_and_is_recorded(
    api: Api, simulator: SimulatorHandle
) -> None:
    first = api.ok(AJOUTER_FICHIER, _body("a.pdf", b"one"))["pieceJointeId"]
    second = api.ok(AJOUTER_FICHIER, _body("b.png", b"two", "png"))["pieceJointeId"]

    assert second > first
    uploads = simulator.control.store()["uploads"]
    assert uploads["count"] == 2
    assert uploads["items"][0]["sha256"] == hashlib.sha256(b"one").hexdigest()
    assert uploads["items"][1]["size"] == 3


def test_ten_megabytes_is_the_limit(api: Api) -> None:
    api.ok(AJOUTER_FICHIER, _body(content=b"x" * TEN_MB))
    api.refused(AJOUTER_FICHIER, _body(content=b"x" * (TEN_MB + 1)), 20003)


def test_the_limit_is_configurable(api: Api, simulator: SimulatorHandle) -> None:
    simulator.control.set_config(max_upload_bytes=10)

    api.refused(AJOUTER_FICHIER, _body(content=b"x" * 11), 20003)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        pytest.param("n" * 47 + ".pdf", 20004, id="51-characters"),
        pytest.param("sans-extension", 20004, id="no-extension"),
        pytest.param(".pdf", 20004, id="only-an-extension"),
        pytest.param("programme.exe", 20005, id="forbidden-extension"),
    ],
)
def test_file_name_rules(api: Api, name: str, code: int) -> None:
    api.refused(AJOUTER_FICHIER, _body(name=name), code)


def test_fifty_characters_with_extension_is_accepted(api: Api) -> None:
    api.ok(AJOUTER_FICHIER, _body(name="n" * 46 + ".pdf"))


def test_declared_extension_must_be_allowed(api: Api) -> None:
    api.refused(AJOUTER_FICHIER, _body(extension="EXE"), 20005)


def test_extensions_are_case_insensitive(api: Api) -> None:
    api.ok(AJOUTER_FICHIER, _body(name="scan.JPEG", extension="jpeg"))


@pytest.mark.parametrize(
    "content", [pytest.param("", id="empty"), pytest.param("***", id="not-base64")]
)
def test_content_must_be_base64(api: Api, content: str) -> None:
    body = _body()
    body["pieceJointeFichier"] = content

    api.refused(AJOUTER_FICHIER, body, 20006)


def test_url_safe_base64_is_refused(api: Api) -> None:
    body = _body()
    body["pieceJointeFichier"] = "-_-_"

    api.refused(AJOUTER_FICHIER, body, 20006)

"""Where each cooperative's entrepreneurs come from at ingest: its own file, the shared one, or
the warehouse's last copy of its own directory, and never another cooperative's people."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from chorus_etl.config import get_settings
from schemas.warehouse import Entrepreneur
from tasks.ingest.stages import load_entrepreneurs
from tests.fixtures.isolation import ANTIGONE, ARTENREEL, use_two_cooperatives

HEADER = "code_entrepreneur;nom;email;siret_fournisseur\n"


def _file(path: Path, *rows: str) -> Path:
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def _remember(engine: Engine, cooperative: str, siret: str, code: str, email: str) -> None:
    with Session(engine) as session:
        session.add(
            Entrepreneur(
                cooperative=cooperative, supplier_siret=siret, code=code, name=code, email=email
            )
        )
        session.commit()


def test_a_cooperative_without_its_file_falls_back_on_its_own_warehouse_copy(
    warehouse: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = _file(tmp_path / "antigone.csv", f"E001;Alice;alice@antigone.example;{ANTIGONE.siret}")
    use_two_cooperatives(
        monkeypatch,
        tmp_path,
        {ANTIGONE.id: mine, ARTENREEL.id: tmp_path / "absent.csv"},
    )
    _remember(warehouse, ARTENREEL.id, ARTENREEL.siret, "E001", "bruno@artenreel.example")
    _remember(warehouse, ANTIGONE.id, ANTIGONE.siret, "E777", "old@antigone.example")

    directory = load_entrepreneurs(tmp_path / "export", get_settings(), warehouse)

    assert directory.entries is not None
    assert {key: e.email for key, e in directory.entries.items()} == {
        (ANTIGONE.siret, "E001"): "alice@antigone.example",
        (ARTENREEL.siret, "E001"): "bruno@artenreel.example",
    }, "Antigone's file is its directory; Artenréel's is its last copy"
    assert directory.unchecked == {}


def test_a_cooperative_with_no_directory_at_all_is_left_unchecked_alone(
    warehouse: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = _file(tmp_path / "antigone.csv", f"E001;Alice;alice@antigone.example;{ANTIGONE.siret}")
    use_two_cooperatives(
        monkeypatch, tmp_path, {ANTIGONE.id: mine, ARTENREEL.id: tmp_path / "absent.csv"}
    )

    directory = load_entrepreneurs(tmp_path / "export", get_settings(), warehouse)

    assert directory.entries is not None and set(directory.entries) == {(ANTIGONE.siret, "E001")}
    assert list(directory.unchecked) == [ARTENREEL.id]
    assert [r.rule for r in directory.unchecked[ARTENREEL.id]] == ["entrepreneur.directory_missing"]


def test_the_shared_file_serves_the_cooperatives_without_one_but_not_the_others(
    warehouse: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = _file(
        tmp_path / "shared.csv",
        f"E001;Shared A;shared-a@example.org;{ANTIGONE.siret}",
        f"E001;Shared B;shared-b@example.org;{ARTENREEL.siret}",
    )
    own = _file(tmp_path / "artenreel.csv", f"E001;Bruno;bruno@artenreel.example;{ARTENREEL.siret}")
    monkeypatch.setenv("CHORUS_ETL_ENTREPRENEURS_FILE", str(shared))
    use_two_cooperatives(monkeypatch, tmp_path, {ARTENREEL.id: own})

    directory = load_entrepreneurs(tmp_path / "export", get_settings(), warehouse)

    assert directory.entries is not None
    assert {key: e.email for key, e in directory.entries.items()} == {
        (ANTIGONE.siret, "E001"): "shared-a@example.org",
        (ARTENREEL.siret, "E001"): "bruno@artenreel.example",
    }

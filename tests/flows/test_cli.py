"""The commands people type: JSON output stays parseable, credential problems end in one line."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chorus_etl.config import reset_settings_cache
from chorus_pro.simulator import SimulatorHandle
from cli import app
from tasks.sample.export import generate_export
from tests.flows.helpers import configure


def test_ingest_and_deposit_json_then_a_wrong_secret(
    tmp_path: Path, sqlite_url: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "export"
    generate_export(folder, invoices=6, seed_value=9, today=date.today())
    configure(monkeypatch, sqlite_url, simulator)
    monkeypatch.setenv("CHORUS_ETL_LOG_STREAM", "stderr")
    runner = CliRunner()

    ingested = runner.invoke(app, ["ingest", str(folder), "--json"])
    assert ingested.exit_code == 0, ingested.output
    report = json.loads(ingested.stdout)
    assert {i["state"] for i in report["invoices"]} == {"ready"}

    monkeypatch.setenv("CHORUS_ETL_PISTE_CLIENT_SECRET", "not-the-secret")
    reset_settings_cache()
    refused = runner.invoke(app, ["deposit", "--json"])
    assert refused.exit_code == 2
    last_lines = refused.stderr.strip().splitlines()[-2:]
    assert last_lines[0].startswith(("Chorus Pro refused the credentials", "Deposit stopped"))
    assert "chorus-etl doctor" in last_lines[1]
    assert "not-the-secret" not in refused.output

    reconciled = runner.invoke(app, ["reconcile", "--json"])
    assert reconciled.exit_code == 2
    summary = json.loads(reconciled.stdout)
    assert summary["halted_structures"] == 2
    assert reconciled.stderr.strip().splitlines()[-2].startswith("Reconciliation stopped for")
    assert "not-the-secret" not in reconciled.output


def test_facturx_writes_what_a_deposit_would_send(
    tmp_path: Path, sqlite_url: str, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lxml import etree

    from tasks.facturx import read_back

    folder = tmp_path / "export"
    generate_export(folder, invoices=4, seed_value=5, today=date.today())
    configure(monkeypatch, sqlite_url, simulator)
    monkeypatch.setenv("CHORUS_ETL_LOG_STREAM", "stderr")
    runner = CliRunner()
    ingested = runner.invoke(app, ["ingest", str(folder), "--json"])
    assert ingested.exit_code == 0, ingested.output
    invoice = json.loads(ingested.stdout)["invoices"][0]

    out, xml_out = tmp_path / "fx" / "invoice.pdf", tmp_path / "fx" / "invoice.xml"
    written = runner.invoke(
        app,
        [
            *("facturx", invoice["invoice_number"], str(out)),
            *("--xml", str(xml_out), "--rules", "fr", "--json"),
        ],
    )
    assert written.exit_code == 0, written.output
    summary = json.loads(written.stdout)
    assert summary["level"] == "en16931"
    assert summary["rules"] == ["en16931", "fr-ctc", "extended-ctc-fr"]
    assert summary["schematron_failures"] == []
    xml, level = read_back(out.read_bytes())
    assert level == "en16931"
    assert xml == xml_out.read_bytes()
    ids = etree.fromstring(xml).xpath("//*[local-name()='ExchangedDocument']/*[local-name()='ID']")
    assert [e.text for e in ids] == [invoice["invoice_number"]]

    unknown = runner.invoke(app, ["facturx", "NOPE-1", str(tmp_path / "x.pdf")])
    assert unknown.exit_code == 1
    assert "no staged invoice 'NOPE-1'" in unknown.stderr

    # The French rules can fail: a structure that keeps Chorus Pro's historical BT-23 A1.
    structures = {invoice["supplier_siret"]: {"billing_frame": "A1"}}
    monkeypatch.setenv("CHORUS_ETL_FACTURX_STRUCTURES", json.dumps(structures))
    reset_settings_cache()
    a1 = [*("facturx", invoice["invoice_number"], str(tmp_path / "a1.pdf"))]
    broken = runner.invoke(app, [*a1, "--rules", "fr", "--json"])
    assert broken.exit_code == 1, broken.output
    assert [f.split(":")[0] for f in json.loads(broken.stdout)["schematron_failures"]] == [
        "fr-ctc BR-FR-08_BT-23"
    ]
    # The EN 16931 rules alone (the old --schematron) do not judge BT-23.
    assert runner.invoke(app, [*a1, "--schematron"]).exit_code == 0
    unknown_rules = runner.invoke(app, [*a1, "--rules", "de"])
    assert unknown_rules.exit_code == 2
    assert "--rules takes en16931 or fr" in unknown_rules.stderr

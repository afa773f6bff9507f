"""check_procedure: each refusal has its code and names the field; a dossier matching the catalogue passes."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from hub.errors import PermanentError, TransientError
from hub.store import Store, procedures
from simulators.dvcqg_catalogue import generate
from transforms.check_procedure import check_procedure
from transforms.dvcqg import procedure_from_dvcqg

SYNC = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "messages" / "dossier.sync.json")
                  .read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('proc')}/hub.db")
    store.migrate()
    records = [procedure_from_dvcqg({k: v for k, v in r.items() if k != "APDUNGDVC"}, r["APDUNGDVC"])
               for r in generate().values()]
    assert procedures.replace_all(store, records) >= 200
    cached = procedures.CachedCatalogue(store)
    procedures.install(cached)
    yield cached
    procedures.install(None)
    store.close()


@pytest.fixture(autouse=True)
def installed(catalogue):
    procedures.install(catalogue)   # per test: tests/conftest.py uninstalls it after each test


def dossier(**changes):
    payload = copy.deepcopy(SYNC)
    payload.update(changes)
    return payload


def refused(payload) -> PermanentError:
    with pytest.raises(PermanentError) as info:
        check_procedure(payload)
    return info.value


def test_matching_dossier_passes_unchanged(catalogue):
    payload = dossier()
    assert check_procedure(payload) is payload


def test_unknown_code(catalogue):
    err = refused(dossier(procedure_code="9.999999"))
    assert err.code == "procedure.unknown" and "procedure_code 9.999999" in err.detail


def test_inactive_code(catalogue):
    inactive = next(r for r in generate().values() if r["TRANGTHAI"] == "0")["MATTHC"]
    err = refused(dossier(procedure_code=inactive))
    assert err.code == "procedure.inactive" and "procedure_code" in err.detail


def test_fee_differs_from_published(catalogue):
    payload = dossier()
    payload["fees"][0]["amount"] = 20000
    err = refused(payload)
    assert err.code == "procedure.fee_mismatch" and "fees[0].amount 20000" in err.detail and "15000" in err.detail


def test_fee_not_published(catalogue):
    payload = dossier()
    payload["fees"][0]["code"] = "LP-BIA"
    err = refused(payload)
    assert err.code == "procedure.fee_mismatch" and "fees[0].code LP-BIA" in err.detail


def test_required_component_missing(catalogue):
    payload = dossier()
    payload["attachments"] = payload["attachments"][:1]
    err = refused(payload)
    assert err.code == "procedure.component_missing" and "TP02" in err.detail and "attachments" in err.detail


def test_deleted_attachment_does_not_count(catalogue):
    payload = dossier()
    payload["attachments"][1]["deleted"] = True
    assert refused(payload).code == "procedure.component_missing"


def test_optional_component_may_be_absent(catalogue):
    assert "TP03" not in json.dumps(SYNC)       # "Văn bản ủy quyền (nếu có)" is published but optional
    check_procedure(dossier())


def test_empty_catalogue_is_transient(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/empty.db")
    store.migrate()
    procedures.install(procedures.CachedCatalogue(store))
    try:
        with pytest.raises(TransientError) as info:
            check_procedure(dossier())
        assert info.value.code == "procedure.catalogue_empty"
    finally:
        procedures.install(None)
        store.close()

"""explorer.tools.attacks at a tiny scale against the running app: every attack runs, stops, and its students get
real results; the report's shape, never its speed (the full-scale measurement is ``python -m explorer loadtest
--attack all``)."""

from __future__ import annotations

import os

import pytest

from explorer import cli
from explorer.tools import attacks, loadtest

TINY = {"STUDENT_SETTINGS": {"sampler": "ddim", "steps": 3}, "SETTLE_S": 0.0, "COOL_DOWN_S": 0.0,
        "READY_TIMEOUT_S": 60.0, "CHURN_ADDRESSES": 2, "CHURN_FIRST": 3, "CHURN_MORE": 3, "CHURN_PER_S": 50.0,
        "SLOW_SOCKETS": 5, "SLOW_RAMP_S": 0.5, "SLOW_UPLOADS": 3, "SLOW_UPLOAD_CHUNK": 1000,
        "BLOB_ADDRESSES": 2, "BLOBS_PER_ADDRESS": 2, "BLOB_BYTES": 50_000, "ACCEPTED_BLOB_BYTES": 40_000,
        "UPLOAD_BYTES": 50_000, "UPLOAD_TRIES": 2, "BUDGET_ADDRESSES": 2}


def test_every_attack_at_a_tiny_scale_leaves_its_students_served(served_app, running_app, monkeypatch):
    for name, value in TINY.items():
        monkeypatch.setattr(attacks, name, value)
    monkeypatch.setattr(loadtest, "MAX_COST", {"sampler": "ddim", "steps": 5})  # a cheap flood: shape, not speed
    monkeypatch.setattr(loadtest, "FLOOD_JOINS", 4)
    report = attacks.run(["all"], running_app, pid=os.getpid())  # the app runs in this process
    assert list(report["attacks"]) == list(attacks.ATTACKS)
    assert all(run["ok"] for run in report["first_runs"].values()), report["first_runs"]
    for name, row in report["attacks"].items():
        assert row["errors"] == {}, (name, row["errors"])  # every student's run gave a picture
        for key in ("quiet_s", "quiet_same_address_s", "other_address_s", "same_address_s", "after_s"):
            assert row[key] > 0, (name, key)
        assert set(row["rules"]) == set(attacks.RULES)
        assert row["rules"]["still_serving_after"] and row["rules"]["memory_within_1_5_gb"] is not None
        assert row["built_up"] and row["attacker"]["stopped_cleanly"], (name, row["attacker"])
        assert row["same_address"] == row["attacker_addresses"][0] != report["other_address"]
        assert row["peak_rss_mb"] > 0
        assert ("student_uploads" in row) == attacks.ATTACKS[name].uploads
        for upload in row.get("student_uploads", {}).values():
            assert upload["ok"] and upload["status"] == 200, (name, upload)
    rows = report["attacks"]
    assert rows["flood"]["attacker"]["sent"] >= 4
    assert rows["session-churn"]["attacker"]["joined"] == 2 * (3 + 3)
    assert rows["session-churn"]["attacker"]["cancelled"] == 2 * (3 + 3)
    assert rows["slowloris"]["attacker"]["opened"] >= 5
    assert rows["slow-upload"]["attacker"]["opened"] >= 3
    assert rows["blobs"]["attacker"]["accepted"] == rows["accepted-blobs"]["attacker"]["accepted"] == 2 * 2
    assert rows["upload-quota"]["attacker"]["accepted"] == 2
    assert rows["upload-budget"]["attacker"]["accepted"] == 2 * 2
    seen = set(served_app._queue._fair_sessions.by_address)  # the addresses the app itself saw the joins from
    assert {report["other_address"], *attacks.addresses("session-churn"), attacks.addresses("flood")[0]} <= seen


def test_unknown_attacks_and_apps_off_this_machine_are_refused_before_anything_starts():
    with pytest.raises(ValueError, match="Unknown attack"):
        attacks.run(["everything"], "http://127.0.0.1:9/")
    with pytest.raises(ValueError, match="loopback"):
        attacks.run(["flood"], "http://example.org/")


def test_each_attack_has_its_own_addresses_and_the_command_line_names_them_all(capsys):
    blocks = [set(attacks.addresses(name)) for name in attacks.ATTACKS]
    assert all(a.isdisjoint(b) for i, a in enumerate(blocks) for b in blocks[i + 1:])
    assert all(attacks.OTHER_ADDRESS not in block for block in blocks)
    args = cli.build_parser().parse_args(["loadtest", "--attack", "flood", "--attack", "blobs", "--avx2"])
    assert args.attacks == ["flood", "blobs"] and args.avx2
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["loadtest", "--help"])
    usage = "".join(capsys.readouterr().out.split())  # however the help is wrapped (even at a hyphen)
    assert all(name in usage for name in attacks.ATTACKS)
    assert cli.main(["loadtest", "--attack", "everything"]) == 2

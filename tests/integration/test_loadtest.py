"""The load test's short version (make loadtest runs 2 minutes): mixed traffic over every model
version from 16 clients, against the shared TorchServe, with no errors and nothing leaking."""

from bench.loadtest import load, targets
from models.catalog import catalog


def test_mixed_traffic_from_16_clients_gets_no_errors_and_leaks_nothing(server):
    rows = {row["model"]: row for row in load(server, seconds=10, concurrency=16)}
    assert set(rows) == {path for path, _ in targets()} | {"frontend"}
    assert len(rows) == len(catalog()) + 1  # every model version and the frontend
    for path, row in rows.items():
        print(row)
        if path != "frontend":
            assert row["requests"] > 0 and row["errors"] == 0, row
        assert row["fds_after"] <= row["fds_before"] + 2, row  # no descriptor left open per request
        assert row["rss_growth"] < 0.10, row  # the target of make loadtest's 2 minutes

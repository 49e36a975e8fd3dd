"""Each benchmark at a tiny size, so the suite does not rot.

The assertions are about figures coming out (and the backlog's no-loss check),
never about how fast anything ran.
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.records import fill_chain, make_lanes  # noqa: E402
from bench.report import markdown  # noqa: E402
from bench.sizes import TINY  # noqa: E402
from bench.suite import run_suite  # noqa: E402

from zhichao.chain import GENESIS_HASH, record_hash, verify_signature  # noqa: E402
from zhichao.platform.schemas import validate_record  # noqa: E402

pytestmark = pytest.mark.slow


def test_generated_records_are_valid_chained_and_signed():
    lane = make_lanes(1)[0]
    fill_chain(lane, 5, photos_per_record=2, photo_bytes=1000)

    records = lane.records
    assert records[0]["prev_hash"] == GENESIS_HASH
    for before, after in zip(records, records[1:], strict=False):
        assert after["prev_hash"] == record_hash(before)
    for record in records:
        assert verify_signature(record, lane.key.public_key)
        assert validate_record(record)[1] is None
    assert len(records[0]["photos"]) == 2


@pytest.mark.postgres
def test_every_benchmark_gives_figures_at_tiny_size(pg_url, tmp_path):
    results = run_suite(
        TINY,
        ["ingest", "photos", "backlog", "lane", "queries"],
        pg_url=pg_url,
        work=tmp_path,
        workers=1,
        do_profile=False,
    )

    for name in ("ingest", "photos", "backlog", "lane", "queries"):
        assert "error" not in results[name], results[name].get("trace")
    for backend in ("postgresql", "sqlite"):
        ingest = results["ingest"][backend]
        assert ingest["batched"]["records_per_s"] > 0
        assert ingest["single"]["requests_per_s"] > 0
        assert ingest["reference"]["rows_per_s"] > 0
        assert ingest["batched"]["client_cpu_s"] >= 0
    assert results["photos"]["counts"]["photos_created"] == results["photos"]["photos"]
    backlog = results["backlog"]
    assert (backlog["lost"], backlog["duplicates"]) == (0, 0)
    assert backlog["station_pending_after"] == 0
    assert results["lane"]["decision"]["decision_to_barrier"]["n"] > 0
    assert results["lane"]["station"]["rss_mib"] > 0
    assert results["queries"]["2000"]["overview_live_feed_api"]["status"] == 200
    table = markdown(results)
    assert "| ingest postgresql, batched 500, records/s |" in table

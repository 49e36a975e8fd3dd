"""The markdown table of a run's headline figures, beside the targets (DESIGN §7)."""


def _get(data, *path):
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def rows(results: dict) -> list[tuple[str, object, str]]:
    out: list[tuple[str, object, str]] = []
    for backend in ("postgresql", "sqlite"):
        base = ("ingest", backend)
        if _get(results, *base) is None:
            continue
        out += [
            (
                f"ingest {backend}, batched 500, records/s",
                _get(results, *base, "batched", "records_per_s"),
                "≥ 10,000 (PostgreSQL)",
            ),
            (
                f"ingest {backend}, single-record requests/s",
                _get(results, *base, "single", "requests_per_s"),
                "≥ 1,000 (PostgreSQL)",
            ),
            (
                f"ingest {backend}, raw reference rows/s",
                _get(results, *base, "reference", "rows_per_s"),
                "",
            ),
            (
                f"ingest {backend}, batched ÷ reference",
                _get(results, *base, "ratio_batched_to_reference"),
                "as high as possible",
            ),
            (
                f"ingest {backend}, load generator's CPU share (batched)",
                _get(results, *base, "batched", "client_cpu_share"),
                "",
            ),
        ]
    out += [
        (
            "photos (4 × 200 kB), records/s",
            _get(results, "photos", "records_per_s"),
            "",
        ),
        ("photos, MB/s", _get(results, "photos", "mb_per_s"), ""),
        (
            "photos, raw write+fsync MB/s",
            _get(results, "photos", "raw_write_fsync_mb_per_s"),
            "",
        ),
        ("photos ÷ raw", _get(results, "photos", "ratio_to_raw"), ""),
        ("backlog drain, s", _get(results, "backlog", "drain_s"), "≤ 30 s"),
        (
            "backlog lost / duplicates",
            _pair(
                _get(results, "backlog", "lost"), _get(results, "backlog", "duplicates")
            ),
            "0 / 0",
        ),
        (
            "lane decision → barrier p99, ms",
            _get(results, "lane", "decision", "decision_to_barrier", "p99_ms"),
            "≤ 20 ms",
        ),
        (
            "lane decision → screen p99, ms",
            _get(results, "lane", "decision", "decision_to_screen", "p99_ms"),
            "≤ 20 ms",
        ),
    ]
    for fps in ("10_fps", "20_fps"):
        settle = ("lane", "settle_to_decision", fps)
        out.append(
            (
                f"settled → decision at {fps.replace('_', ' ')}, median / p99 ms",
                _pair(
                    _get(results, *settle, "median_ms"),
                    _get(results, *settle, "p99_ms"),
                ),
                "≤ 1,000 ms",
            )
        )
    out += [
        (
            "station, 4 lanes at 20 frames/s, CPU (share of one core)",
            _get(results, "lane", "station", "cpu_share_of_one_core"),
            "",
        ),
        ("station, 4 lanes, RSS MiB", _get(results, "lane", "station", "rss_mib"), ""),
    ]
    for count, figures in (_get(results, "queries") or {}).items():
        if not isinstance(figures, dict) or "load" not in figures:
            continue
        for name in (
            "overview_live_feed_api",
            "live_page",
            "record_page",
            "today_counts",
            "plate_search_front",
            "plate_search_front_or_rear",
            "month_by_station",
        ):
            target = "≤ 200 ms at 10 M" if name == "overview_live_feed_api" else ""
            out.append(
                (
                    f"query {name} at {int(count):,} rows, median ms",
                    _get(figures, name, "median_ms"),
                    target,
                )
            )
    out.append(("monthly county report", "not built yet", "—"))
    return out


def _pair(a, b) -> str | None:
    return None if a is None and b is None else f"{a} / {b}"


def _ran(results: dict, name: str) -> bool:
    """Whether the row's benchmark was part of the run."""
    first = name.split()[0].split(",")[0]
    suite = {"lane": "lane", "settled": "lane", "station": "lane"}.get(first, first)
    suite = "queries" if suite == "query" else suite
    return suite in results or suite == "monthly"


def markdown(results: dict) -> str:
    lines = ["| figure | measured | target |", "|---|---|---|"]
    for name, value, target in rows(results):
        if not _ran(results, name):
            continue
        shown = (
            "error"
            if value is None
            else (f"{value:,}" if isinstance(value, int | float) else str(value))
        )
        lines.append(f"| {name} | {shown} | {target} |")
    errors = [k for k, v in results.items() if isinstance(v, dict) and "error" in v]
    if errors:
        lines.append("")
        lines.append("Failed: " + ", ".join(errors) + " (see the JSON).")
    return "\n".join(lines)

"""``python -m bench``: run the suite, print JSON and a markdown table."""

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.sizes import SIZES

SUITES = ("ingest", "photos", "backlog", "lane", "queries")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--size", choices=sorted(SIZES), default=os.environ.get("BENCH_SIZE", "default")
    )
    parser.add_argument(
        "--only", default=",".join(SUITES), help=f"comma list of {', '.join(SUITES)}"
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("ZHICHAO_BENCH_PG_URL"),
        help="PostgreSQL server to use (default: start bench/pg-cluster.sh)",
    )
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("var/bench"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")

    from bench.suite import run_suite

    pg_url = args.pg_url or start_cluster()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.out) as work:
        results = run_suite(
            SIZES[args.size],
            [s.strip() for s in args.only.split(",") if s.strip()],
            pg_url=pg_url,
            work=Path(work),
            workers=args.workers,
            do_profile=not args.no_profile,
            progress=lambda text: print(
                f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True
            ),
        )
    from bench.report import markdown

    stamp = time.strftime("%Y%m%dT%H%M%S")
    path = args.out / f"results-{args.size}-{stamp}.json"
    path.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(json.dumps(results, ensure_ascii=False, indent=2))
    print()
    print(markdown(results))
    print(f"\n(JSON also in {path})", file=sys.stderr)
    return 0


def start_cluster() -> str:
    script = Path(__file__).resolve().parent / "pg-cluster.sh"
    out = subprocess.run(
        ["bash", str(script)], check=True, capture_output=True, text=True
    )
    return out.stdout.strip().splitlines()[-1]


if __name__ == "__main__":
    sys.exit(main())

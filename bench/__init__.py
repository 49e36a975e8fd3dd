"""zhichao's benchmark suite: ingest, photos, backlog, lane, queries.

Run it with ``make bench`` (or ``python -m bench``); ``bench/RESULTS.md`` holds the
latest figures and what limits them. Benchmarks measure and print; they never
pass or fail on time.
"""

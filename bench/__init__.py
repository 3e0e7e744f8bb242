"""`make bench`: performance figures as ratios taken in one run, with the sizes stated.

The benchmarks run against their own database: SQLite at var/bench.sqlite3, or BENCH_DATABASE_URL
(a PostgreSQL database the bench may empty).
"""

"""Reads a callqa output root (date partitions) with DuckDB and Polars, as an analyst would.

Usage: python interop.py OUT_ROOT
Prints one JSON object: {"duckdb": [...], "polars": [...]}, each a list of
[date, agent_id, calls, mean_score, auto_fail_rate] sorted by date and agent.
DuckDB recomputes the numbers from the calls of every partition; Polars reads the partitions'
agents tables. The Rust test compares both with callqa's agents_daily.parquet.
"""

import json
import sys

import duckdb
import polars as pl

root = sys.argv[1]

duck = duckdb.sql(
    f"""
    SELECT strftime(date, '%Y-%m-%d') AS date, agent_id, count(*) AS calls,
           avg(score) AS mean_score, avg(auto_fail::INT) AS auto_fail_rate
    FROM read_parquet('{root}/date=*/calls.parquet', hive_partitioning = true)
    GROUP BY ALL ORDER BY date, agent_id
    """
).fetchall()

polars = (
    pl.read_parquet(f"{root}/date=*/agents.parquet", hive_partitioning=True)
    .select(
        pl.col("date").cast(pl.Utf8),
        "agent_id",
        "calls",
        "mean_score",
        "auto_fail_rate",
    )
    .sort("date", "agent_id")
    .rows()
)

print(json.dumps({"duckdb": [list(r) for r in duck], "polars": [list(r) for r in polars]}))

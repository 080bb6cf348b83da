#!/usr/bin/env bash
# The Spark job's time against one `callqa run`, on the fixtures and on one corpus:
#
#   bash bench/spark.sh [CORPUS.jsonl]     (default: the 100 MB corpus bench/run.sh caches)
#
# Prints seconds for `callqa run --threads 2`, the Spark job with local[1] and local[2] (both
# end to end: Spark start, read, pipe through `callqa score --stdin --tagged`, Parquet parts,
# merge), and checks that every Spark output equals the single run. Asserts nothing about time.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-$(ls /tmp/callqa-bench/corpus-s42-100mb-*.jsonl 2>/dev/null | head -1)}
[ -f "$corpus" ] || { echo "no corpus: run bash bench/run.sh first, or give one" >&2; exit 2; }
callqa=${CALLQA:-target/release/callqa}
venv=contrib/spark/.venv
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv"; "$venv/bin/pip" install -q -r contrib/spark/requirements.txt; }
job=$(mktemp -d)
trap 'rm -rf "$job"' EXIT

seconds() { local s=$(date +%s%N); "$@" >/dev/null 2>"$job/err" || { cat "$job/err" >&2; exit 1; }; echo $(( ($(date +%s%N) - s) / 1000000 )); }
fmt() { echo "$(( $1 / 1000 )).$(( ($1 % 1000) / 100 ))"; }
same() {
  for f in calls.parquet findings.parquet agents.parquet rejects.jsonl report.html; do
    cmp -s "$1/$f" "$2/$f" || { echo "DIFFERENT ($f)"; return; }
  done
  echo "identical"
}

echo "| input | size | callqa run --threads 2 | Spark local[1] | Spark local[2] | Spark = single run |"
echo "|---|---|---|---|---|---|"
for set in fixtures corpus; do
  if [ $set = fixtures ]; then inputs=(fixtures/calls/*.jsonl fixtures/broken/broken.jsonl); else inputs=("$corpus"); fi
  size=$(cat "${inputs[@]}" | wc -c)
  single=$(seconds "$callqa" run --quiet --threads 2 --rules rules --out "$job/single" "${inputs[@]}")
  row="| $set | $((size / 1000000)) MB | $(fmt "$single") s"
  verdict=""
  for n in 1 2; do
    t=$(seconds "$venv/bin/python" contrib/spark/callqa_spark.py --master "local[$n]" \
      --callqa "$callqa" --rules rules --out "$job/spark$n" --work "$job/work$n" "${inputs[@]}")
    row="$row | $(fmt "$t") s"
    verdict="$verdict local[$n] $(same "$job/single" "$job/spark$n");"
    rm -rf "$job/work$n" "$job/spark$n"
  done
  echo "$row | $verdict |"
  rm -rf "$job/single"
done

#!/usr/bin/env bash
# The real Spark test (run by .ci/run): the PySpark job on the fixtures with local[2] must give
# the same tables as one `callqa run`, byte for byte (the manifest's timing aside).
#
#   bash contrib/spark/check.sh [CALLQA_BINARY]
#
# Creates contrib/spark/.venv (git-ignored) with the pinned PySpark, pyarrow and pandas.
set -euo pipefail
cd "$(dirname "$0")/../.."
callqa=${1:-target/release/callqa}
venv=contrib/spark/.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check -r contrib/spark/requirements.txt
java -version 2>&1 | head -1

job=$(mktemp -d)
trap 'rm -rf "$job"' EXIT
inputs=(fixtures/calls/*.jsonl fixtures/broken/broken.jsonl)
"$callqa" run --quiet --rules rules --out "$job/single" "${inputs[@]}"
start=$(date +%s%N)
"$venv/bin/python" contrib/spark/callqa_spark.py --master 'local[2]' --callqa "$callqa" \
  --rules rules --out "$job/spark" --work "$job/work" "${inputs[@]}"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "spark job on the fixtures (local[2]): $((ms / 1000)).$(( (ms % 1000) / 100 )) s"

for f in calls.parquet findings.parquet agents.parquet rejects.jsonl report.html; do
  cmp "$job/single/$f" "$job/spark/$f"
done
python3 - "$job/single/manifest.json" "$job/spark/manifest.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for m in (a, b):
    m.pop("timing")
assert a == b, f"manifests differ:\n{a}\n{b}"
print(f"spark job: {a['counts']['scored']} calls, {a['counts']['rejected']} rejects; "
      "tables, report and manifest equal the single run")
PY

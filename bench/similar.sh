#!/usr/bin/env bash
# What `similar` rules cost: bash bench/similar.sh [--quick] [--similar N] [--repeat N]
#
# Runs callqa --threads 2 on the same corpus (100 MB; ~5 MB with --quick) with the benchmark
# pack (bench/make_pack.py) and with the same pack plus N `similar` rules (default 20,
# make_pack.py --similar N), and prints one markdown table and the cost of the similar rules.
# The corpus is bench/run.sh's (same generator, seed and pack, same cache), so it is reused when
# run.sh made it. callqa is built --release into $CARGO_TARGET_DIR (default: target/ of this
# tree). Reports figures; asserts nothing about time.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
CACHE=${BENCH_CACHE:-/tmp/callqa-bench}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
CALLQA=$CARGO_TARGET_DIR/release/callqa
SIZE=100
SIMILAR=20
REPEAT=3
SEED=42
while [ $# -gt 0 ]; do
  case $1 in
    --quick) SIZE=5; REPEAT=1 ;;
    --similar) SIMILAR=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "similar.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
log() { echo "bench: $*" >&2; }
mkdir -p "$CACHE"
[ -x /usr/bin/time ] || { apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }

log "cargo build --release (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
(cd "$ROOT" && cargo build --release --quiet)
PACK=$CACHE/similar-base-rules
SIM_PACK=$CACHE/similar-${SIMILAR}-rules
python3 "$BENCH/make_pack.py" --out "$PACK" --rules "$ROOT/rules"
python3 "$BENCH/make_pack.py" --out "$SIM_PACK" --rules "$ROOT/rules" --similar "$SIMILAR"
log "$("$CALLQA" rules test "$SIM_PACK" 2>&1 | tail -1)"

# The corpus of bench/run.sh: same key (generator + base pack), so either script reuses it.
KEY=$(cat "$BENCH/gen_corpus.py" "$PACK"/*.toml | sha256sum | cut -c1-10)
CORPUS=$CACHE/corpus-s$SEED-${SIZE}mb-$KEY.jsonl
if [ ! -s "$CORPUS" ] || [ ! -s "$CORPUS.stats.json" ]; then
  log "generating $CORPUS"
  python3 "$BENCH/gen_corpus.py" --seed "$SEED" --size-mb "$SIZE" --rules "$PACK" --out "$CORPUS"
else
  log "reusing $CORPUS"
fi
BYTES=$(stat -c %s "$CORPUS")
CALLS=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['valid_calls'])" "$CORPUS.stats.json")

# run PACK LABEL: best of $REPEAT wall-clock runs; prints one table row
run() {
  local pack=$1 label=$2 best="" rss="" cpu=""
  local out=$CACHE/out-similar-$label
  for _ in $(seq "$REPEAT"); do
    /usr/bin/time -f "%e %M %U %S" -o "$CACHE/time.txt" \
      "$CALLQA" run --quiet --force --threads 2 --rules "$pack" --out "$out" "$CORPUS" || [ $? = 6 ]
    read -r secs kb user sys < "$CACHE/time.txt"
    if [ -z "$best" ] || awk -v a="$secs" -v b="$best" 'BEGIN {exit !(a < b)}'; then
      best=$secs; rss=$((kb / 1024)); cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.2f", u + s}')
    fi
  done
  local rules findings
  rules=$("$CALLQA" rules check "$pack" 2>/dev/null | sed -n 's/.*: \([0-9]*\) rules in.*/\1/p')
  findings=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['counts']['findings'])" "$out/manifest.json")
  awk -v l="$label" -v r="$rules" -v s="$best" -v b="$BYTES" -v c="$CALLS" -v m="$rss" -v u="$cpu" -v f="$findings" \
    'BEGIN {printf "| %s | %d | %.2f | %.1f | %.0f | %d | %s | %d |\n", l, r, s, b / 1e6 / s, c / s, m, u, f}'
  echo "$best" > "$CACHE/secs-$label"
}

echo "corpus: $(awk -v b="$BYTES" 'BEGIN {printf "%.0f MB", b / 1e6}'), $CALLS calls (seed $SEED); callqa --threads 2, best of $REPEAT"
echo
echo "| pack | rules | seconds | MB/s | calls/s | peak RSS MB | CPU s | findings |"
echo "|---|--:|--:|--:|--:|--:|--:|--:|"
run "$PACK" base
run "$SIM_PACK" similar-$SIMILAR
base=$(cat "$CACHE/secs-base"); sim=$(cat "$CACHE/secs-similar-$SIMILAR")
echo
awk -v a="$base" -v b="$sim" -v n="$SIMILAR" -v c="$CALLS" \
  'BEGIN {printf "- %d similar rules add %.2f s (%+.0f%%), %.1f µs per call\n", n, b - a, (b / a - 1) * 100, (b - a) / c * 1e6}'

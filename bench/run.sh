#!/usr/bin/env bash
# callqa benchmark: bash bench/run.sh [--quick] [--head] [--mb N] [--seed N] [--repeat N]
#
# Installs what is missing (ripgrep, GNU time, a venv with pyahocorasick + pyarrow), builds
# callqa --release into $CARGO_TARGET_DIR (default /tmp/bench-target, so a concurrent build in
# target/ is not blocked), writes the benchmark rule pack, generates (or reuses) the corpora and
# prints one markdown table plus the headline ratios. Reports figures; asserts nothing about time.
#
#   full:    100 MB and 1 GB corpora; callqa --threads 1 / 2, rg, Python baseline (100 MB only)
#   --quick: a ~5 MB corpus, the same tools, for CI (seconds once callqa is built)
#   --head:  benchmark the committed HEAD (exported with git archive) instead of the work tree
#   --mb N:  one corpus of N MB, without the Python baseline (e.g. --mb 100 for the fuzzy cost)
#
# Cached in $BENCH_CACHE (default /tmp/callqa-bench): corpora by seed + size + a hash of the
# generator and the pack, so they are regenerated only when one of those changes.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
CACHE=${BENCH_CACHE:-/tmp/callqa-bench}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/bench-target}
CALLQA=$CARGO_TARGET_DIR/release/callqa
VENV=$BENCH/.venv
PY=$VENV/bin/python

QUICK=0
HEAD=0
ONLY_MB=""
SEED=42
REPEAT=""
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1 ;;
    --head) HEAD=1 ;;
    --mb) ONLY_MB=$2; shift ;;
    --seed) SEED=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$QUICK" = 1 ]; then
  SIZES=(5); PY_SIZES=(5); REPEAT=${REPEAT:-1}
elif [ -n "$ONLY_MB" ]; then
  SIZES=("$ONLY_MB"); PY_SIZES=(); REPEAT=${REPEAT:-3}
else
  SIZES=(100 1000); PY_SIZES=(100); REPEAT=${REPEAT:-3}
fi
REPEAT_LARGE=2   # runs on corpora >= 1 GB (each takes tens of seconds)
# Before each timed run, wait (up to this many seconds) until other processes leave the CPUs
# alone; the table says how much CPU they used during the timed runs anyway.
QUIET_TIMEOUT=${BENCH_QUIET_TIMEOUT:-180}
[ "$QUICK" = 1 ] && QUIET_TIMEOUT=${BENCH_QUIET_TIMEOUT:-0}

log() { echo "bench: $*" >&2; }
mkdir -p "$CACHE"

# ---------------------------------------------------------------- tools
APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" = 0 ]; then
    log "apt-get update"
    apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
command -v rg >/dev/null || apt_install ripgrep
[ -x /usr/bin/time ] || apt_install time
if [ ! -x "$PY" ]; then
  python3 -m venv "$VENV" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$VENV"; }
fi
if ! "$PY" -c "import ahocorasick, pyarrow, opencc" 2>/dev/null; then
  log "pip install pyahocorasick pyarrow opencc-python-reimplemented into $VENV"
  "$PY" -m pip install -q pyahocorasick pyarrow opencc-python-reimplemented
fi

# ---------------------------------------------------------------- callqa and the pack
SRC=$ROOT
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$HEAD" = 1 ]; then
  SRC=$CACHE/src-head
  rm -rf "$SRC" && mkdir -p "$SRC"
  git -C "$ROOT" archive HEAD | tar -x -C "$SRC"
else
  git -C "$ROOT" diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || REV="$REV+work-tree"
fi
log "cargo build --release of $SRC (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
if ! (cd "$SRC" && cargo build --release --quiet); then
  log "callqa does not build from $SRC; try again, or benchmark the last commit with --head"
  exit 1
fi
PACK=$CACHE/rules
python3 "$BENCH/make_pack.py" --out "$PACK" --rules "$SRC/rules"   # the rules of the callqa built
# the same pack with fuzzy = "pinyin" on every Chinese phrase rule: the cost of homophone matching
PACK_FUZZY=$CACHE/rules-fuzzy
python3 "$BENCH/make_pack.py" --out "$PACK_FUZZY" --rules "$SRC/rules" --fuzzy
RULES_TEST=$("$CALLQA" rules test "$PACK" 2>&1 | tail -1) || true
log "$RULES_TEST"

KEY=$(cat "$BENCH/gen_corpus.py" "$PACK"/*.toml | sha256sum | cut -c1-10)
corpus_path() { echo "$CACHE/corpus-s$SEED-${1}mb-$KEY.jsonl"; }
for size in "${SIZES[@]}"; do
  f=$(corpus_path "$size")
  if [ ! -s "$f" ] || [ ! -s "$f.stats.json" ]; then
    log "generating $f"
    rm -f "$CACHE"/corpus-s"$SEED"-"${size}"mb-*.jsonl*   # older versions of this size
    python3 "$BENCH/gen_corpus.py" --seed "$SEED" --size-mb "$size" --rules "$PACK" --out "$f"
  else
    log "reusing $f"
  fi
done

# ---------------------------------------------------------------- measuring
RESULTS=$CACHE/results.tsv
CLK_TCK=$(getconf CLK_TCK)
cpu_busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }  # user nice system irq softirq
: > "$CACHE/foreign.txt"
: > "$RESULTS"
# wait_quiet: until the CPUs were < 10% busy over 2 s, or QUIET_TIMEOUT seconds have passed;
# after one timeout the machine is taken as busy for good and the run goes on without waiting
wait_quiet() {
  local waited=0 b0 b1
  while [ "$waited" -lt "$QUIET_TIMEOUT" ]; do
    b0=$(cpu_busy); sleep 2; b1=$(cpu_busy); waited=$((waited + 2))
    awk -v d=$((b1 - b0)) -v hz="$CLK_TCK" 'BEGIN {exit !(d / hz < 0.2)}' && return 0
    [ $((waited % 30)) = 0 ] && log "waiting for a quiet machine (${waited}s)"
  done
  [ "$QUIET_TIMEOUT" -gt 0 ] && log "the machine stays busy: measuring anyway (see 'other processes' under the table)"
  QUIET_TIMEOUT=0
}
# measure CORPUS_MB TOOL THREADS REPEATS -- command...: best wall seconds, CPU seconds of that run,
# max RSS over the runs
measure() {
  local size=$1 tool=$2 threads=$3 repeats=$4; shift 5
  local best="" best_cpu=0 rss=0 i start end r busy0 busy1 own wall
  for ((i = 0; i < repeats; i++)); do
    wait_quiet
    busy0=$(cpu_busy)
    start=$EPOCHREALTIME
    if ! /usr/bin/time -f "%M %U %S" -o "$CACHE/time.txt" "$@" > "$CACHE/stdout.txt" 2> "$CACHE/stderr.txt"; then
      # rg exits 1 when nothing matched; anything else is a failure of the tool
      if ! { [ "$tool" = rg ] && grep -q "status 1" "$CACHE/time.txt"; }; then
        log "$tool failed:"; cat "$CACHE/stderr.txt" "$CACHE/time.txt" >&2; exit 1
      fi
    fi
    end=$EPOCHREALTIME
    busy1=$(cpu_busy)
    wall=$(python3 -c "print($end - $start)")
    read -r r own < <(tail -1 "$CACHE/time.txt" | awk '{print $1, $2 + $3}')
    if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN {exit !(a < b)}'; then
      best=$wall; best_cpu=$own
    fi
    # CPU seconds that other processes used while this run was timed (machine not quiet if > 0)
    python3 -c "print(max(0.0, ($busy1 - $busy0) / $CLK_TCK - $own))" >> "$CACHE/foreign.txt"
    [ "$r" -gt "$rss" ] && rss=$r
  done
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$tool" "$threads" "$best" "$rss" "$repeats" "$best_cpu" >> "$RESULTS"
  log "$(printf '%5s MB  %-10s %s thread(s)  %8.3f s (%s CPU-s)  %7.1f MB RSS' "$size" "$tool" "$threads" "$best" "$best_cpu" "$(python3 -c "print($rss/1024)")")"
}

COMPARE=""
for size in "${SIZES[@]}"; do
  f=$(corpus_path "$size")
  reps=$REPEAT; [ "$size" -ge 1000 ] && reps=$REPEAT_LARGE
  cat "$f" > /dev/null   # warm the page cache: every tool reads from memory
  measure "$size" rg 1 "$reps" -- rg --count-matches -F -f "$PACK/phrases.txt" "$f"
  log "rg matches: $(cat "$CACHE/stdout.txt")"
  for threads in 1 2; do
    out=$CACHE/out-callqa-$size-$threads
    measure "$size" callqa "$threads" "$reps" -- "$CALLQA" run --rules "$PACK" --out "$out" --threads "$threads" --quiet "$f"
  done
  out=$CACHE/out-callqa-fuzzy-$size-2
  measure "$size" callqa-fuzzy 2 "$reps" -- "$CALLQA" run --rules "$PACK_FUZZY" --out "$out" --threads 2 --quiet "$f"
  for py_size in "${PY_SIZES[@]+"${PY_SIZES[@]}"}"; do
    if [ "$py_size" = "$size" ]; then
      out=$CACHE/out-python-$size
      rm -rf "$out"
      measure "$size" python 1 1 -- "$PY" "$BENCH/baseline.py" --rules "$PACK" --out "$out" "$f"
      if [ -z "$COMPARE" ]; then
        COMPARE=$("$PY" "$BENCH/compare.py" "$CACHE/out-callqa-$size-2" "$out")
        # the baseline says so when the pack uses rule features it does not implement
        NOTE=$(grep -o 'not like-for-like.*' "$CACHE/stderr.txt" || true)
        [ -n "$NOTE" ] && COMPARE="$COMPARE. Baseline $NOTE"
      fi
    fi
  done
done

# ---------------------------------------------------------------- the table
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
MEM=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
python3 - "$RESULTS" "$CACHE" "$SEED" "$KEY" "$(nproc)" "$CPU" "$MEM" "$REV" "$RULES_TEST" "$COMPARE" "$(awk '{s += $1; if ($1 > m) m = $1} END {printf "%.1f %.1f", s, m}' "$CACHE/foreign.txt")" "${SIZES[@]}" <<'EOF'
import json, sys
from datetime import datetime, timezone
results, cache, seed, key, nproc, cpu, mem, rev, rules_test, compare, foreign, *sizes = sys.argv[1:]
stats = {}
for size in sizes:
    with open(f"{cache}/corpus-s{seed}-{size}mb-{key}.jsonl.stats.json") as fh:
        stats[size] = json.load(fh)
rows = []
for line in open(results):
    size, tool, threads, secs, rss_kb, reps, cpu_s = line.rstrip("\n").split("\t")
    rows.append(dict(size=size, tool=tool, threads=int(threads), secs=float(secs), rss=int(rss_kb) / 1024,
                     reps=int(reps), cpu=float(cpu_s)))
def label(size):
    s = stats[size]
    mb = s["bytes"] / 1e6
    return f"{mb / 1000:.2f} GB" if mb >= 1000 else f"{mb:.0f} MB"
print(f"callqa benchmark — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, callqa {rev}, "
      f"{nproc} cores ({cpu}), {mem} RAM")
print()
print("| corpus | calls | tool | threads | seconds | MB/s | calls/s | hours of audio/s | peak RSS MB | CPU s |")
print("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|")
for r in rows:
    s = stats[r["size"]]
    calls, mb, hours = s["valid_calls"], s["bytes"] / 1e6, s["hours_audio"]
    t = r["secs"]
    print(f"| {label(r['size'])} | {calls:,} | {r['tool']} | {r['threads']} | {t:.2f} | {mb / t:,.1f} | "
          f"{calls / t:,.0f} | {hours / t:,.1f} | {r['rss']:,.0f} | {r['cpu']:.2f} |")
print()
def find(size, tool, threads=None):
    for r in rows:
        if r["size"] == size and r["tool"] == tool and (threads is None or r["threads"] == threads):
            return r
lines = []
for size in sizes:
    c1, c2, rg, py = find(size, "callqa", 1), find(size, "callqa", 2), find(size, "rg"), find(size, "python")
    bits = [f"callqa(2t)/rg throughput {rg['secs'] / c2['secs']:.2f}× (rg is {c2['secs'] / rg['secs']:.1f}× faster)",
            f"speed-up 1t→2t {c1['secs'] / c2['secs']:.2f}×"]
    fz = find(size, "callqa-fuzzy", 2)
    if fz:
        bits.append(f"fuzzy pinyin pack (2t) {fz['secs'] / c2['secs']:.2f}× the time of the exact pack")
    if py:
        bits.append(f"callqa(2t)/python {py['secs'] / c2['secs']:.1f}× (1t: {py['secs'] / c1['secs']:.1f}×)")
    lines.append(f"- {label(size)}: " + "; ".join(bits))
big, small = sizes[-1], sizes[0]
if big != small:
    lines.append(f"- peak RSS callqa(2t) {label(big)} / {label(small)}: "
                 f"{find(big, 'callqa', 2)['rss']:,.0f} / {find(small, 'callqa', 2)['rss']:,.0f} MB = "
                 f"{find(big, 'callqa', 2)['rss'] / find(small, 'callqa', 2)['rss']:.2f}× "
                 f"(corpus {stats[big]['bytes'] / stats[small]['bytes']:.1f}×)")
c2 = find(big, "callqa", 2)
rate = stats[big]["valid_calls"] / c2["secs"]
lines.append(f"- 1,000,000 calls in ~{1e6 / rate:,.0f} s with callqa --threads 2 (extrapolated from {label(big)}: "
             f"{rate:,.0f} calls/s, {stats[big]['mean_bytes_per_line'] / 1000:.1f} KB and "
             f"{stats[big]['mean_turns_per_call']:.1f} turns per call)")
if find(big, "python") is None and find(small, "python") is not None:
    py = find(small, "python")
    lines.append(f"- python baseline not run on {label(big)}; at its {label(small)} rate it would take "
                 f"~{py['secs'] * stats[big]['bytes'] / stats[small]['bytes']:,.0f} s")
if compare:
    lines.append(f"- fairness check: {compare}")
foreign_total, foreign_max = foreign.split()
lines.append(f"- other processes used {foreign_total} CPU-s during the timed runs (at most {foreign_max} in one run; "
             "0 = a quiet machine, else the figures are pessimistic)")
lines.append(f"- pack: {rules_test}; corpus seed {seed}; best of "
             + " / ".join(sorted({str(r["reps"]) for r in rows})) + " run(s) per row, page cache warm; "
             "CPU s = user + system time of the best run; MB = 10^6 bytes")
print("\n".join(lines))
EOF

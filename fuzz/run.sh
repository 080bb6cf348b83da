#!/usr/bin/env bash
# Long random-input run of the property tests (tests/props), outside CI.
#
#   bash fuzz/run.sh [MINUTES]      # default 10
#
# Runs rounds of the property tests in release mode, each round with a new RNG seed and many
# cases, until the time is up. A failing case stops the run; proptest prints the minimal input
# and saves it under tests/props/ (proptest-regressions) so that the normal test run replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
cases_per_round=${CASES_PER_ROUND:-20000}
cargo build --release --tests -q
end=$((SECONDS + minutes * 60))
round=0
while ((SECONDS < end)); do
  round=$((round + 1))
  if ! output=$(PROPTEST_CASES=$cases_per_round PROPTEST_RNG_SEED=$round \
    cargo test --release -q --test props 2>&1); then
    echo "$output"
    echo "fuzz: round $round failed (seed $round)"
    exit 1
  fi
  echo "round $round: $(echo "$output" | grep 'test result')"
done
tests=$(grep -c '^    fn ' tests/props/main.rs || true)
echo "fuzz: $round rounds × $cases_per_round cases × $tests properties in $minutes min, 0 panics"

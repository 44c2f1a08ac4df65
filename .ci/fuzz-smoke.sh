#!/usr/bin/env bash
# Runs every cargo-fuzz target for FUZZ_SECONDS (default 30) with a fixed seed (FUZZ_SEED, default 1),
# so that a red smoke is a reproducible regression, not a lucky draw. `-s none` works on stable Rust.
# Targets named PREFIX_* use the dictionary fuzz/dict/PREFIX.dict when it exists.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${FUZZ_SECONDS:-30}
seed=${FUZZ_SEED:-1}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cargo fuzz build -s none -O
log=$(mktemp)
for target in $(cargo fuzz list); do
  args=(-max_total_time="$secs" -seed="$seed" -rss_limit_mb=2048 -print_final_stats=1)
  prefix=${target%%_*}
  [ -f "dict/$prefix.dict" ] && args+=(-dict="dict/$prefix.dict")
  mkdir -p "corpus/$target"
  echo "--- $target (${secs}s, seed $seed)"
  if cargo fuzz run -s none -O "$target" "corpus/$target" -- "${args[@]}" >"$log" 2>&1; then
    grep -E '^(stat::number_of_executed_units|Done)' "$log" || tail -n 2 "$log"
  else
    tail -n 60 "$log"
    echo "fuzz target $target FAILED (reproduce: cd fuzz && cargo fuzz run -s none -O $target -- ${args[*]})"
    exit 1
  fi
done
echo "fuzz smoke: all targets clean"

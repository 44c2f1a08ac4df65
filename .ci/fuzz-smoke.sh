#!/usr/bin/env bash
# Runs every cargo-fuzz target for FUZZ_SECONDS (default 30) with a fixed seed (FUZZ_SEED, default 1),
# so that a red smoke is a reproducible regression, not a lucky draw. -s none works on stable Rust.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${FUZZ_SECONDS:-30}
seed=${FUZZ_SEED:-1}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cargo fuzz build -s none -O
for target in $(cargo fuzz list); do
  dict=""
  prefix=${target%%_*}
  [ -f "dict/$prefix.dict" ] && dict="-dict=dict/$prefix.dict"
  mkdir -p "corpus/$target"
  [ -d "seeds/$target" ] && cp -n seeds/$target/* "corpus/$target/" 2>/dev/null || true
  echo "--- $target (${secs}s, seed $seed)"
  cargo fuzz run -s none -O "$target" "corpus/$target" -- -max_total_time="$secs" -seed="$seed" -rss_limit_mb=2048 $dict 2>&1 | tail -n 4
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz target $target failed"; exit 1; }
done

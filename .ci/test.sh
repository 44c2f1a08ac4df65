#!/usr/bin/env bash
# The README's test command: installs the real mail clients the end-to-end tests drive
# (swaks, mbsync from isync, curl; Python's imaplib/poplib/smtplib come with python3),
# then runs every test of the workspace with every feature (sled backend, conformance suite).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v swaks >/dev/null || need+=(swaks)
command -v mbsync >/dev/null || need+=(isync)
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

cargo test --workspace --all-features

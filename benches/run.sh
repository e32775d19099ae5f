#!/bin/sh
# Measures lockerd on this machine and prints one Markdown table (the README's "Benchmarks"):
# criterion's deposit-assignment benchmark, then the end-to-end figures (benches/figures.rs).
# Arguments go to the figures binary:
#   benches/run.sh                                  everything (about 50 minutes)
#   benches/run.sh pickup --pickups 1000            one section, fewer pickups
#   benches/run.sh history process --idle-seconds 10
# The pickup latency over Modbus RTU at 9600 baud, and over a Kerong chain at 19200 with its
# status polls, is a bench of its own:
#   cargo bench --bench pickup_latency -- rtu-paced
#   cargo bench --bench pickup_latency -- kerong-paced polls
# Run it on a quiet machine: the figures are only as steady as the cores they run on.
set -eu
cd "$(dirname "$0")/.."

# The load figures use wrk (Debian's package) as a client in a process of its own.
if ! command -v wrk >/dev/null 2>&1; then
    echo "== installing wrk" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
# `cargo bench --bench wear` (SD-card wear, not run here) attaches strace to the daemon.
if ! command -v strace >/dev/null 2>&1; then
    echo "== installing strace" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null
fi

echo "== cargo bench --bench assign" >&2
cargo bench --bench assign -- --noplot >&2
echo "== cargo bench --bench figures" >&2
exec cargo bench --bench figures -- "$@"

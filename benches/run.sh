#!/bin/sh
# Runs the pickup-latency benchmark (release build); arguments go to the bench:
#   benches/run.sh                      1000 pickups on tcp, rtu and rtu-paced
#   benches/run.sh --pickups 100 tcp    a shorter run on one line (or PICKUPS=100)
set -eu
cd "$(dirname "$0")/.."
exec cargo bench --bench pickup_latency -- "$@"

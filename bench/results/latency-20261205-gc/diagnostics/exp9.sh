#!/usr/bin/env bash
# the committed build (e8f380b) and main at c0af48e, each with --trace-gc --trace-incremental-marking and extmon, scenario once
S=/work/wt/gc/bench/results/tmp/diag/scen.sh
M="-r /work/wt/gc/bench/results/tmp/diag/extmon.cjs"
TAG=e9-after EXTMON_OUT=/work/wt/gc/bench/results/tmp/diag/ext-e9-after.txt EXTRA="--trace-gc $M" $S
TAG=e9-before DIR=/work/wt/before EXTMON_OUT=/work/wt/gc/bench/results/tmp/diag/ext-e9-before.txt EXTRA="--trace-gc $M" $S

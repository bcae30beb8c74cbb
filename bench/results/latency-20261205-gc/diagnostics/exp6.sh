#!/usr/bin/env bash
S=/work/wt/gc/bench/results/tmp/diag/scen.sh
R=/work/wt/gc/bench/results/tmp/exp-release
TAG=e6-rel-semi16 DIR=$R FLAGS="--max-semi-space-size=16 --initial-old-space-size=32" EXTRA="--trace-gc" $S
TAG=e6-base EXTRA="--trace-gc" $S
TAG=e6-rel-semi8 DIR=$R FLAGS="--max-semi-space-size=8 --initial-old-space-size=32" EXTRA="--trace-gc" $S
TAG=e6-base-semi8 FLAGS="--max-semi-space-size=8 --initial-old-space-size=32" EXTRA="--trace-gc" $S

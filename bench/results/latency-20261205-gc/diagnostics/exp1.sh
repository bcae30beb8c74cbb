#!/usr/bin/env bash
S=/work/wt/gc/bench/results/tmp/diag/scen.sh
TAG=e1-base EXTRA="--trace-gc" $S
TAG=e1-nodetach DIR=/work/wt/gc/bench/results/tmp/exp-nodetach EXTRA="--trace-gc" $S
TAG=e1-semi16 FLAGS="--max-semi-space-size=16 --initial-old-space-size=32" EXTRA="--trace-gc" $S
TAG=e1-old64 FLAGS="--max-semi-space-size=4 --initial-old-space-size=64" EXTRA="--trace-gc" $S

#!/usr/bin/env bash
S=/work/wt/gc/bench/results/tmp/diag/scen.sh
TAG=e7-nopp EXTRA="--trace-gc --no-page-promotion" $S
TAG=e7-base EXTRA="--trace-gc" $S
TAG=e7-nopp-semi8 FLAGS="--max-semi-space-size=8 --initial-old-space-size=32" EXTRA="--trace-gc --no-page-promotion" $S

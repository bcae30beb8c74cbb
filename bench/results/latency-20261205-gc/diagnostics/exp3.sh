#!/usr/bin/env bash
S=/work/wt/gc/bench/results/tmp/diag/scen.sh
for i in 1 2; do
TAG=e3-release$i DIR=/work/wt/gc/bench/results/tmp/exp-release EXTRA="--trace-gc" $S
TAG=e3-base$i EXTRA="--trace-gc" $S
done

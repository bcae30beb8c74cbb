#!/usr/bin/env bash
S=/work/wt/gc/bench/results/tmp/diag/scen.sh
for i in 1 2; do
TAG=e2-base$i EXTRA="--trace-gc" $S
TAG=e2-detachall$i DIR=/work/wt/gc/bench/results/tmp/exp-detachall EXTRA="--trace-gc" $S
done

#!/usr/bin/env bash
S=/work/wt/gc/bench/results/tmp/diag/scen.sh
TAG=e8-idmap DIR=/work/wt/gc/bench/results/tmp/exp-idmap EXTRA="--trace-gc" $S
TAG=e8-base EXTRA="--trace-gc" $S

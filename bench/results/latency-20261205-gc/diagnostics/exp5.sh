#!/usr/bin/env bash
S=/work/wt/gc/bench/results/tmp/diag/scen.sh
M="-r /work/wt/gc/bench/results/tmp/diag/extmon.cjs"
TAG=e5-release DIR=/work/wt/gc/bench/results/tmp/exp-release EXTMON_OUT=/work/wt/gc/bench/results/tmp/diag/ext-e5-release.txt EXTRA="--trace-gc --trace-incremental-marking $M" $S

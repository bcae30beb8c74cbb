#!/usr/bin/env bash
F=/work/wt/gc/bench/results/tmp/diag/flat.sh
M="-r /work/wt/gc/bench/results/tmp/diag/extmon.cjs"
TAG=e4-base EXTMON_OUT=$PWD/ext-e4-base.txt EXTRA="$M" DUR=6 $F
TAG=e4-release DIR=/work/wt/gc/bench/results/tmp/exp-release EXTMON_OUT=$PWD/ext-e4-release.txt EXTRA="$M" DUR=6 $F

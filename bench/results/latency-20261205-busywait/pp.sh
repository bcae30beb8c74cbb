#!/usr/bin/env bash
taskset -c 0 /usr/bin/python3 /work/wt/_h/wake/pingpong.py server & SP=$!; sleep 0.5
taskset -c 1 chrt -f 1 /usr/bin/python3 /work/wt/_h/wake/pingpong.py client 10
kill $SP 2>/dev/null

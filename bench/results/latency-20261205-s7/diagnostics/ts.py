import sys,time
t0=time.monotonic()
for l in sys.stdin: sys.stdout.write('%.3f %s' % (time.monotonic()-t0, l))

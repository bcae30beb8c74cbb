#!/usr/bin/python3
# Patches a built copy of warren (dist/, main at a319b46) for tl.mjs's timeline: each read of a
# socket (with the process's CPU time from process.cpuUsage), the broker's end-of-turn flush and
# resume of yielded connections, and each 'drain'. Diagnostic only; run in a throwaway copy.
import sys
root = sys.argv[1]
p = root + '/dist/src/util/read-socket.js'; s = open(p).read()
s = s.replace("import { Socket } from 'node:net';", "import { Socket } from 'node:net';\nlet __sid = 0;")
s = s.replace("    let first = true;", "    let first = true; const __id = ++__sid;")
s = s.replace("""                receive(source.read(n, buf));""", """                const __T = globalThis.__tl; if (__T) __T(1, __id, n, process.cpuUsage());
                receive(source.read(n, buf));
                if (__T) __T(2, __id, 0, process.cpuUsage());""")
open(p, 'w').write(s)
p = root + '/dist/src/broker.js'; s = open(p).read()
s = s.replace("""        for (const c of dirty)
            c.guard(() => c.flush());""", """        const __T = globalThis.__tl; if (__T) __T(3, dirty.length, 0);
        for (const c of dirty)
            c.guard(() => c.flush());
        if (__T) __T(4, 0, 0);""")
s = s.replace("""        for (const c of yielded)
            c.guard(() => c.resumeAfterYield());
    };""", """        if (__T) __T(5, yielded.length, 0);
        for (const c of yielded)
            c.guard(() => c.resumeAfterYield());
        if (__T) __T(6, 0, 0);
    };""")
open(p, 'w').write(s)
p = root + '/dist/src/connection/connection.js'; s = open(p).read()
s = s.replace("""    #onDrain = () => {
        this.#writeBlocked = false;""", """    #onDrain = () => {
        const __T = globalThis.__tl; if (__T) __T(7, this.id, 0);
        this.#writeBlocked = false;""", 1)
open(p, 'w').write(s)

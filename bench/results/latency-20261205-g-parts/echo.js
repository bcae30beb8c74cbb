// Node echo floor: the same server as pingpong.py's, in Node 20 (libuv + V8).
const net = require('net');
const srv = net.createServer((s) => { s.setNoDelay(true); s.on('data', (d) => s.write(d)); s.on('error', () => {}); s.on('close', () => process.exit(0)); });
srv.listen(5689, '127.0.0.1');

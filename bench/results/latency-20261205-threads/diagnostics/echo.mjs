import net from 'node:net';
const srv = net.createServer((s) => { s.setNoDelay(true); s.on('data', (d) => s.write(d)); s.on('close', () => srv.close()); });
srv.listen(5791, '127.0.0.1');

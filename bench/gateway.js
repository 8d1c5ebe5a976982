// A fast loopback gateway for the runtime benchmark: answers every POST with a small JSON body.
// Prints its port on stdout, then serves until stdin closes (the bench process exits).
'use strict';
const http = require('http');
let n = 0;
const server = http.createServer((req, res) => {
  let size = 0;
  req.on('data', (c) => { size += c.length; });
  req.on('end', () => {
    const body = JSON.stringify({ id: `gw_${++n}`, received: size });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => { process.stdout.write(`${server.address().port}\n`); });
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

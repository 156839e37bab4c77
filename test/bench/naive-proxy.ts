// The bench's naive peer (issue #17): the simplest streaming pass-through a Node developer would write, with no
// tricks, so `pnpm bench proxy` can show what Parley adds beyond forwarding bytes. `node:http` in, `http.request`
// out through a keep-alive agent, the response piped back. Prints its URL on stdout.
// Usage: UPSTREAM_URL=http://127.0.0.1:1234/v1 OPENAI_API_KEY=sk-… node test/bench/naive-proxy.ts
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const upstream = new URL(process.env['UPSTREAM_URL'] ?? 'https://api.openai.com/v1');
const agent = new http.Agent({ keepAlive: true });

const server = http.createServer((req, res) => {
  const forward = http.request(
    {
      host: upstream.hostname,
      port: upstream.port,
      path: upstream.pathname + (req.url ?? '/').replace(/^\/v1/, ''),
      method: req.method,
      headers: {
        ...req.headers,
        host: upstream.host,
        authorization: `Bearer ${process.env['OPENAI_API_KEY']}`,
      },
      agent,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  forward.on('error', () => {
    res.statusCode = 502;
    res.end();
  });
  req.pipe(forward);
});

server.listen(0, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => process.exit(0));

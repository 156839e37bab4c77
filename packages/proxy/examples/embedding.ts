import { createProxy, loadConfig } from '@parley/proxy';

const proxy = await createProxy(loadConfig({ ...process.env, PORT: '0' }));
const url = await proxy.listen();
console.log(`Parley proxy on ${url}`);
// …
await proxy.close();

/**
 * A process that starts a 2-node Galera cluster, prints `{"pids":[...],"rootDir":"..."}` and waits
 * to be killed (spec/integration/galera-cluster.spec.ts checks that nothing outlives it).
 */
import { startGaleraCluster } from './galera.js';

const cluster = await startGaleraCluster({ nodes: 2, name: 'child' });
process.stdout.write(`${JSON.stringify({ pids: cluster.nodes.map((n) => n.pid), rootDir: cluster.rootDir })}\n`);
setInterval(() => undefined, 60_000);

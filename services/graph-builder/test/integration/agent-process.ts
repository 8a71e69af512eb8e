// One capture agent's topology probe, run by the test inside a network namespace of its own (and a
// pid namespace with its own /proc, so it sees that namespace only, as an agent on its own host
// would). Each topology event goes to stdout as one JSON line; the test publishes it to Kafka.
import { silentLogger } from '@topoflow/core'
import { TopologyAgent } from '@topoflow/capture'

const hostId = process.argv[2]
if (hostId === undefined || hostId === '') throw new Error('usage: agent-process.ts <host id>')

const agent = new TopologyAgent({
  hostId,
  logger: silentLogger(),
  // No bind-mounted namespaces of the real host: this agent's host is its own namespace.
  netnsDirs: [],
  publish: (event) => { process.stdout.write(`${JSON.stringify(event)}\n`) }
})
// Stops when stdin closes: as the init of its pid namespace, this process ignores signals it has no
// handler for, and a test that dies must not leave it behind.
const stop = (): void => { void agent.close().finally(() => process.exit(0)) }
process.stdin.once('close', stop)
process.stdin.once('end', stop)
process.stdin.resume()
process.once('SIGTERM', stop)
await agent.start()

import { openSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { createLogger, silentLogger, type Logger } from '@topoflow/core'
import { TopologyAgent as CurrentAgent } from '@topoflow/capture'

/**
 * The topology agent alone in a process, so that the bench can read its CPU (and its children's)
 * from /proc. Prints one JSON line when the first HostSync is out, answers `stats` on stdin with
 * one more, and closes on `close` or end of input.
 *
 *   node --import tsx bench/topology/agent-process.ts '{"resync":30000,"sockets":10000}'
 */

// TOPOBENCH_AGENT_MODULE: the topology/index.ts of another copy of the sources, to measure before and after.
const override = process.env.TOPOBENCH_AGENT_MODULE
const TopologyAgent = override === undefined || override === ''
  ? CurrentAgent
  : (await import(override) as { TopologyAgent: typeof CurrentAgent }).TopologyAgent

const intervals = JSON.parse(process.argv[2] ?? '{}') as Record<string, number>
// TOPOBENCH_LOG=<file>: the agent's debug log, to see what it spends its time on.
const logFile = process.env.TOPOBENCH_LOG
const logger: Logger = logFile === undefined || logFile === '' ? silentLogger()
  : createLogger({ level: 'debug', name: 'topology-bench', destination: openSync(logFile, 'w') })
const say = (msg: Record<string, unknown>): void => { process.stdout.write(JSON.stringify(msg) + '\n') }

let events = 0
let firstSyncMs: number | undefined
const t0 = performance.now()
const agent = new TopologyAgent({
  hostId: 'bench-topology',
  logger,
  intervals,
  publish: (event) => {
    events++
    if (event.Kind === 'HostSync' && firstSyncMs === undefined) firstSyncMs = performance.now() - t0
  },
  publishSockets: () => {}
})
await agent.start()
say({ type: 'synced', ms: firstSyncMs, events, ...agent.stats() })

const input = createInterface({ input: process.stdin })
input.on('line', (line) => {
  if (line.trim() === 'stats') say({ type: 'stats', events, ...agent.stats() })
  if (line.trim() === 'close') input.close()
})
input.on('close', () => {
  void agent.close().then(() => say({ type: 'closed' }))
})

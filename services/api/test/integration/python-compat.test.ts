import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createRegistry, InProcessBus, loadConfig, silentLogger } from '@topoflow/core'
import { MemoryFlowSource, MemoryGraph, type Flow } from '@topoflow/gremlin'
import { topics } from '@topoflow/schemas'
import { runApiService } from '../../src/service.ts'
import { compacted, fixtureGraph, waitFor } from '../helpers.ts'
import type { TopologyChange } from '../../src/graph/live-graph.ts'

const run = promisify(execFile)
const venv = fileURLToPath(new URL('../../../../.cache/venv', import.meta.url))
const python = `${venv}/bin/python`
const script = fileURLToPath(new URL('../compat/skydive_client_compat.py', import.meta.url))

/** The real skydive-client from PyPI, in a gitignored venv (created on first run). */
async function ensureClient (): Promise<void> {
  if (!existsSync(python)) await run('python3', ['-m', 'venv', venv])
  const { stdout } = await run(python, ['-m', 'pip', 'list', '--format=freeze'])
  if (!/^skydive-client==/m.test(stdout)) await run(python, ['-m', 'pip', 'install', '--quiet', 'skydive-client'], { timeout: 300_000 })
}

test('Skydive\'s Python client (skydive-client from PyPI) works unchanged against the API with basic auth', { timeout: 600_000 }, async (t) => {
  await ensureClient()
  const config = loadConfig({ overrides: { host_id: 'analyzer-1', 'analyzer.auth.api.backend': 'b', auth: { b: { type: 'basic', users: { admin: 'secret' } } } } })
  const bus = new InProcessBus({ compactedTopics: compacted })
  const graph = new MemoryGraph()
  const flows = new MemoryFlowSource()
  const now = Date.now()
  // ssh (node-a → node-b:22) for five minutes; curl (node-a → node-b:80) only for the last ten seconds
  const tcpFlow = (uuid: string, sport: number, dport: number, start: number): Flow => ({
    UUID: uuid,
    LayersPath: 'Ethernet/IPv4/TCP',
    Application: 'TCP',
    Link: { Protocol: 'ETHERNET', A: '02:00:00:00:00:01', B: '02:00:00:00:00:02', ID: 0 },
    Network: { Protocol: 'IPV4', A: '10.0.0.1', B: '10.0.0.2', ID: 0 },
    Transport: { Protocol: 'TCP', A: sport, B: dport, ID: 0 },
    Metric: { ABPackets: 3, ABBytes: 300, BAPackets: 2, BABytes: 200, Start: start, Last: now },
    Start: start,
    Last: now,
    NodeTID: 'tid-eth-a',
    ParentUUID: '',
    RawPacketsCaptured: 0
  })
  flows.upsert(tcpFlow('flow-ssh', 51000, 22, now - 300_000))
  flows.upsert(tcpFlow('flow-http', 51001, 80, now - 10_000))
  const svc = await runApiService({ config, bus, graph, flows, logger: silentLogger(), registry: createRegistry('api-compat', { processMetrics: false }), listen: { host: '127.0.0.1', port: 0 } })
  t.after(async () => { await svc.close() })
  const g = fixtureGraph()
  await bus.publish<TopologyChange>(topics.topologyChanges, [
    ...g.nodes.map((n) => ({ key: n.ID, value: { ElementType: 'node' as const, Op: 'upsert' as const, Node: n, Time: 1 } })),
    ...g.edges.map((e) => ({ key: e.ID, value: { ElementType: 'edge' as const, Op: 'upsert' as const, Edge: e, Time: 1 } }))
  ])
  await waitFor(() => graph.edgeCount === 4, { what: 'fixture graph' })

  let stdout = ''
  try {
    ({ stdout } = await run(python, [script, svc.address, 'admin', 'secret'], { timeout: 120_000 }))
  } catch (err) {
    const e = err as { stdout?: string, stderr?: string }
    assert.fail(`the Python client failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`)
  }
  const lines = stdout.trim().split('\n')
  assert.equal(lines.filter((l) => l.startsWith('FAIL')).length, 0, stdout)
  // every check() of the script except the four that only run when a refusal did not happen
  assert.equal(lines.filter((l) => l.startsWith('ok ')).length, 32, stdout)
  assert.equal(lines[lines.length - 1], '{"result": "all checks passed"}')
})

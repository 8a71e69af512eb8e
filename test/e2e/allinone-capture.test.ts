import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { sh, VethPair, waitFor } from '@topoflow/testing'

const root = fileURLToPath(new URL('../..', import.meta.url))
const port = 18000 + (process.pid % 1000)
const api = `http://127.0.0.1:${port}`

async function post (path: string, body: unknown): Promise<{ status: number, json: unknown }> {
  const res = await fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, json: await res.json().catch(() => null) }
}

async function gremlin<T> (query: string): Promise<T> {
  const { status, json } = await post('/api/topology', { GremlinQuery: query })
  assert.equal(status, 200, JSON.stringify(json))
  return json as T
}

interface FlowJson { UUID: string, Application: string, Metric: { ABPackets: number, BAPackets: number, ABBytes: number, BABytes: number }, Network: { A: string, B: string }, NodeTID: string, CaptureID: string }

/** DESIGN: a capture created through the API on a veth made by the test yields flows with exact packet counts. */
test('a capture created through the all-in-one API counts exactly the packets sent on a test veth', { timeout: 90_000 }, async (t) => {
  if (process.getuid?.() !== 0) { t.skip('needs root to create network namespaces'); return }
  const pair = new VethPair('ae')
  pair.create()
  t.after(() => pair.destroy())
  const env = { ...process.env, KAFKA_BROKERS: '', OPENSEARCH_URL: '', TOPOFLOW_LOGGING_LEVEL: 'warn', TOPOFLOW_FLOW_UPDATE: '1' }
  const child = spawn(process.execPath, ['packages/cli/bin/topoflow.js', 'allinone', '--listen', `127.0.0.1:${port}`], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (b: Buffer) => { stderr += b.toString() })
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL') })

  // The veth end inside namespace A shows up in the graph, owned by its netns node.
  await waitFor(async () => {
    try { return (await gremlin<unknown[]>(`G.V().Has('Type', 'netns', 'Name', '${pair.nsA}').Out().Has('Name', '${pair.ifA}')`)).length === 1 } catch { return false }
  }, { timeout: 30_000, interval: 200 })

  const created = await post('/api/capture', { GremlinQuery: `G.V().Has('Name', '${pair.ifA}')`, BPFFilter: 'icmp', Name: 'e2e' })
  assert.equal(created.status, 201, JSON.stringify(created.json) + stderr)
  const capture = created.json as { UUID: string }
  // Active once the agent reports the capture on the interface node.
  await waitFor(async () => (await gremlin<Array<{ Metadata: { Captures?: Array<{ ID: string, State: string }> } }>>(`G.V().Has('Name', '${pair.ifA}')`))[0]?.Metadata.Captures?.some((c) => c.ID === capture.UUID && c.State === 'active') === true, { timeout: 20_000, interval: 200 })

  const count = 25
  sh('ip', ['netns', 'exec', pair.nsA, 'ping', '-q', '-c', String(count), '-i', '0.02', '-W', '1', pair.ipB])

  let flows: FlowJson[] = []
  await waitFor(async () => {
    flows = await gremlin<FlowJson[]>(`G.Flows().Has('CaptureID', '${capture.UUID}', 'Network', '${pair.ipB}')`)
    return flows.length === 1 && flows[0]?.Metric.ABPackets === count && flows[0].Metric.BAPackets === count
  }, { timeout: 20_000, interval: 250 }).catch(() => { /* asserted below with the flows seen */ })
  assert.equal(flows.length, 1, JSON.stringify(flows))
  const flow = flows[0] as FlowJson
  assert.equal(flow.Application, 'ICMPv4')
  assert.deepEqual([flow.Network.A, flow.Network.B], [pair.ipA, pair.ipB])
  assert.equal(flow.Metric.ABPackets, count)
  assert.equal(flow.Metric.BAPackets, count)
  // ping's 64-byte ICMP payload: 98-byte frames each way
  assert.equal(flow.Metric.ABBytes, count * 98)
  assert.equal(flow.Metric.BABytes, count * 98)
  child.kill('SIGINT')
})

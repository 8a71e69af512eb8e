import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { silentLogger } from '@topoflow/core'
import { topics, type CaptureStatus, type Flow, type Resource } from '@topoflow/schemas'
import { CaptureManager, type CaptureInterfaceMetrics, type CaptureTarget } from '../../../src/capture/index.ts'
import { flowsFromPcap } from '../../../src/flow/index.ts'
import { corpusDir, RecordingBus, udpPayloads, waitFor } from '../../unit/capture/helpers.ts'

/** sFlow and pcapsocket captures through the manager, over real loopback sockets. */

const node: CaptureTarget = { nodeId: 'node-br', nodeTID: 'tid-br', name: 'br0', netnsPath: null }
const base = 20000 + (process.pid % 2000) * 10

function record (uuid: string, resource: Record<string, unknown>): Resource {
  return { ResourceType: 'capture', UUID: uuid, Resource: resource, Deleted: false, Time: Date.now() }
}

function manager (metrics?: CaptureInterfaceMetrics[]): { manager: CaptureManager, bus: RecordingBus } {
  const bus = new RecordingBus()
  const m = new CaptureManager({
    bus,
    host: 'h1',
    logger: silentLogger(),
    resolve: async () => [node],
    config: {
      sflow: { address: '127.0.0.1', minPort: base, maxPort: base + 4 },
      pcapsocket: { address: '127.0.0.1', minPort: base + 5, maxPort: base + 9 }
    },
    ...(metrics !== undefined ? { onInterfaceMetrics: (e) => metrics.push(e) } : {})
  })
  return { manager: m, bus }
}

test('sFlow datagrams replayed to the collector become scaled flows and interface metrics; junk is counted', async () => {
  const metrics: CaptureInterfaceMetrics[] = []
  const { manager: m, bus } = manager(metrics)
  m.applyResource('sf', record('sf', { GremlinQuery: 'q', Type: 'sflow' }))
  await m.settled()
  const session = m.session('sf', 'node-br')
  assert.equal(session?.state, 'active')
  const endpoint = session?.source.endpoint ?? ''
  const port = Number(endpoint.split(':')[1])
  assert.ok(port >= base && port <= base + 4, endpoint)

  const datagrams = [
    ...udpPayloads(join(corpusDir, 'sflow_expanded.pcap')),
    ...udpPayloads(join(corpusDir, 'sflow-print-v6.pcap')),
    ...udpPayloads(join(corpusDir, 'sflow_multiple_counter_30_pdus.pcap')),
    Buffer.from('not sflow at all')
  ]
  const sock = createSocket('udp4')
  for (const d of datagrams) await new Promise<void>((resolve, reject) => sock.send(d, port, '127.0.0.1', (err) => err === null ? resolve() : reject(err)))
  sock.close()
  // 1 + 13 sampled headers (tcpdump shows 13 raw packet records in sflow-print-v6).
  await waitFor('the sampled packets', () => (m.statuses()[0]?.PacketsReceived ?? 0) >= 14 || undefined)
  await waitFor('the counter samples', () => metrics.length >= 48 + 144 || undefined)
  assert.equal(metrics.length, 48 + 144)
  assert.equal(metrics.find((e) => e.SourceIDIndex === 23001)?.Counters?.IfOutOctets, 9717)
  assert.equal(metrics[0]?.NodeTID, 'tid-br')
  await m.close()

  const flows = bus.on(topics.flowsRaw).map((x) => x.value as Flow)
  const sampled = flows.filter((f) => f.SamplingRate === 1000)
  assert.equal(sampled.length, 1, 'the 1-in-1000 sample is its own flow')
  assert.equal((sampled[0] as Flow).Metric.ABPackets + (sampled[0] as Flow).Metric.BAPackets, 1000)
  const rate1 = flows.filter((f) => f.SamplingRate === 1)
  assert.equal(rate1.reduce((n, f) => n + f.Metric.ABPackets + f.Metric.BAPackets, 0), 13)
  for (const f of flows) assert.equal(f.CaptureType, 'sflow')
  const status = bus.on(topics.captureStatus).map((x) => x.value).filter((v): v is CaptureStatus => v !== null)
  assert.equal(status.at(-1)?.State, 'stopped')
})

test('a pcap stream sent to the pcapsocket gives the same flows as reading the file', async () => {
  const { manager: m, bus } = manager()
  m.applyResource('ps', record('ps', { GremlinQuery: 'q', Type: 'pcapsocket' }))
  await m.settled()
  const status = m.statuses()[0]
  assert.equal(status?.State, 'active')
  const [host, portText] = (status?.PCAPSocket ?? '').split(':')
  assert.equal(host, '127.0.0.1')
  const file = join(corpusDir, 'mptcp-v0.pcap')
  for (const bytes of [readFileSync(file), Buffer.from('garbage that is not pcap')]) {
    await new Promise<void>((resolve, reject) => {
      const c = connect(Number(portText), '127.0.0.1', () => c.end(bytes))
      c.on('close', () => resolve())
      c.on('error', reject)
    })
  }
  await waitFor('the streamed packets', () => (m.statuses()[0]?.PacketsReceived ?? 0) >= 264 || undefined)
  await m.close()
  const ours = bus.on(topics.flowsRaw).map((x) => x.value as Flow)
  const reference: Array<{ TrackingID: string, Metric: { ABPackets: number, BAPackets: number, ABBytes: number, BABytes: number } }> = []
  for await (const f of flowsFromPcap(file)) reference.push(f)
  const summary = (fs: typeof reference): string[] => fs.map((f) => `${f.TrackingID} ${f.Metric.ABPackets}/${f.Metric.BAPackets} ${f.Metric.ABBytes}/${f.Metric.BABytes}`).sort()
  assert.deepEqual(summary(ours), summary(reference))
  assert.ok(ours.every((f) => f.CaptureID === 'ps' && f.NodeTID === 'tid-br'))
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { silentLogger, TopoflowError } from '@topoflow/core'
import { TopologyAgent, type TopologyAgentOptions } from '../../../src/topology/agent.ts'
import { fixtureFsReader } from '../../../src/topology/fs-reader.ts'
import type { SocketsEvent, TopologyEvent } from '../../../src/topology/types.ts'
import { splitJsonValues } from '../../../src/topology/util.ts'
import { A, B, manifest, procRecording, recordedOutputs, replayRunner } from './fixtures.ts'

/** Rewrites the link list (first JSON value) of a recorded ip -batch output. */
function editLinks (text: string, edit: (links: Array<Record<string, unknown>>) => Array<Record<string, unknown>>): string {
  const values = splitJsonValues(text)
  values[0] = JSON.stringify(edit(JSON.parse(values[0] ?? '[]') as Array<Record<string, unknown>>))
  return values.join('\n')
}

function setup (overrides: Partial<TopologyAgentOptions> = {}): {
  agent: TopologyAgent
  events: TopologyEvent[]
  sockets: SocketsEvent[]
  outputs: Map<string, string>
  rec: ReturnType<typeof procRecording>
  clock: { now: number }
} {
  const events: TopologyEvent[] = []
  const sockets: SocketsEvent[] = []
  const outputs = recordedOutputs()
  const rec = procRecording()
  const clock = { now: 1_000_000 }
  const agent = new TopologyAgent({
    hostId: 'node-1',
    logger: silentLogger(),
    publish: (e) => { events.push(e) },
    publishSockets: (e) => { sockets.push(e) },
    now: () => clock.now,
    netnsDirs: ['/var/run/netns'],
    watchChanges: false,
    fs: fixtureFsReader(rec),
    runner: replayRunner(outputs),
    ...overrides
  })
  return { agent, events, sockets, outputs, rec, clock }
}

const byName = (nodes: TopologyEvent['Nodes'], name: string): NonNullable<TopologyEvent['Nodes']>[number] | undefined =>
  nodes?.find(n => n.Metadata.Name === name)

test('start publishes one HostSync with the whole host, sockets included', async (t) => {
  const { agent, events, sockets } = setup()
  t.after(async () => await agent.close())
  await agent.start()
  assert.equal(events.length, 1)
  const sync = events[0]
  assert.equal(sync?.Kind, 'HostSync')
  assert.equal(sync?.Host, 'node-1')
  assert.equal(sync?.Origin, 'agent.node-1')
  assert.equal(sync?.Nodes?.length, 1 + 3 + 17)
  assert.equal(sync?.Edges?.length, 20 + 6)
  const host = sync?.Nodes?.find(n => n.Metadata.Type === 'host')
  assert.equal((host?.Metadata.Sockets as unknown[]).length, 5)
  assert.equal(sockets.length, 1)
  assert.equal(sockets[0]?.Sockets.length, 5)
  assert.equal(sockets[0]?.Host, 'node-1')
  const stats = agent.stats()
  assert.equal(stats.namespaces, 4)
  assert.equal(stats.interfaces, 17)
  assert.equal(stats.eventsPublished, 1)
  assert.equal(stats.hostSyncs, 1)
  assert.equal(stats.errors, 0)
})

test('after the sync only deltas: a deleted interface, a new address, a vanished namespace', async (t) => {
  const { agent, events, outputs, rec, clock } = setup()
  t.after(async () => await agent.close())
  await agent.start()
  const sync = events[0]
  events.length = 0

  const pathA = `/var/run/netns/${A}`
  outputs.set(pathA, editLinks(outputs.get(pathA) ?? '', links => links.filter(l => l.ifname !== 'vx0')))
  clock.now += 1000
  await agent.resync()
  const vx0 = byName(sync?.Nodes, 'vx0')
  assert.deepEqual(events.map(e => e.Kind), ['EdgeDeleted', 'EdgeDeleted', 'NodeDeleted'])
  assert.equal(events[2]?.Node?.ID, vx0?.ID)
  assert.equal(events[2]?.Node?.DeletedAt, clock.now)
  assert.deepEqual(events.slice(0, 2).map(e => e.Edge?.Metadata), [{ RelationType: 'ownership' }, { RelationType: 'layer2', Type: 'vxlan' }])
  events.length = 0

  outputs.set(pathA, editLinks(outputs.get(pathA) ?? '', links => links.map(l => l.ifname === 'tap0'
    ? { ...l, addr_info: [{ family: 'inet', local: '10.99.0.1', prefixlen: 24 }] }
    : l)))
  clock.now += 1000
  await agent.resync()
  assert.equal(events.length, 1)
  assert.equal(events[0]?.Kind, 'NodeUpdated')
  assert.equal(events[0]?.Node?.Metadata.Name, 'tap0')
  assert.deepEqual(events[0]?.Node?.Metadata.IPV4, ['10.99.0.1/24'])
  assert.equal(events[0]?.Node?.Revision, 2)
  events.length = 0

  // B is deleted: its file goes away and nsenter can no longer enter it.
  rec.dirs['/var/run/netns'] = (rec.dirs['/var/run/netns'] ?? []).filter(n => n !== B)
  delete rec.stats[`/var/run/netns/${B}`]
  outputs.delete(`/var/run/netns/${B}`)
  clock.now += 1000
  await agent.resync()
  const deleted = events.filter(e => e.Kind === 'NodeDeleted').map(e => e.Node?.Metadata.Name).sort()
  assert.deepEqual(deleted, [B, 'lo', 'to-anon', 'veth-b'].sort())
  assert.equal(events.filter(e => e.Kind === 'EdgeDeleted').length, 4 + 2)
  assert.equal(agent.stats().namespaces, 3)
})

test('counters are refreshed on resync with the delta since the previous refresh', async (t) => {
  const { agent, events, outputs, clock } = setup()
  t.after(async () => await agent.close())
  await agent.start()
  const start = clock.now
  events.length = 0
  const pathB = `/var/run/netns/${B}`
  outputs.set(pathB, editLinks(outputs.get(pathB) ?? '', links => links.map(l => {
    if (l.ifname !== 'veth-b') return l
    const s = l.stats64 as { rx: Record<string, number>, tx: Record<string, number> }
    return { ...l, stats64: { rx: { ...s.rx, bytes: (s.rx.bytes ?? 0) + 1500 }, tx: s.tx } }
  })))
  clock.now += 30_000
  await agent.resync()
  const update = events.find(e => e.Node?.Metadata.Name === 'veth-b')
  assert.ok(update)
  assert.deepEqual(update.Node?.Metadata.LastUpdateMetric, { RxBytes: 1500, Start: start, Last: clock.now })
  assert.equal((update.Node?.Metadata.Metric as { Start: number }).Start, start)
})

test('a failed publish is followed by a HostSync once publishing works again', async (t) => {
  let failing = true
  const published: TopologyEvent[] = []
  const { agent, outputs, clock } = setup({
    publish: (e) => {
      if (failing) throw new TopoflowError('TOPOFLOW_ERR_KAFKA', 'broker down', { retriable: true })
      published.push(e)
    }
  })
  t.after(async () => await agent.close())
  await agent.start()
  assert.equal(published.length, 0)
  assert.equal(agent.stats().publishErrors, 1)
  const pathA = `/var/run/netns/${A}`
  outputs.set(pathA, editLinks(outputs.get(pathA) ?? '', links => links.filter(l => l.ifname !== 'tap0')))
  failing = false
  clock.now += 1000
  await agent.resync()
  assert.deepEqual(published.map(e => e.Kind), ['HostSync'])
  assert.equal(byName(published[0]?.Nodes, 'tap0'), undefined)
  assert.equal(published[0]?.Nodes?.length, 1 + 3 + 16)
})

test('a namespace that cannot be read but still exists keeps its last state, counted', async (t) => {
  const { agent, events, outputs } = setup()
  t.after(async () => await agent.close())
  await agent.start()
  events.length = 0
  outputs.delete(`/proc/${manifest.pids.anon}/ns/net`) // nsenter fails, yet /proc still shows the namespace
  await agent.resync()
  assert.deepEqual(events, [])
  assert.equal(agent.stats().namespaceReadErrors, 1)
  assert.equal(agent.stats().namespaces, 4)
})

test('bad options fail with clear errors; close is safe before start and twice', async () => {
  assert.throws(() => new TopologyAgent({ hostId: '', logger: silentLogger(), publish: () => {} }), /non-empty host id/)
  assert.throws(() => new TopologyAgent({ logger: silentLogger(), publish: () => {}, intervals: { resync: -1 } }), /intervals.resync/)
  const { agent } = setup()
  await agent.close()
  await agent.close()
  await agent.start() // after close: a no-op
  assert.equal(agent.stats().eventsPublished, 0)
})

// ---- socket scans asked for by connections (requestSocketScan) ----------------------------------

const clientTable = `/proc/${manifest.pids.client}/net/tcp`

/** Lets queued promise work run until `check` holds; timers are mocked, so only microtasks and immediates move. */
async function until (what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (check()) return
    await new Promise(resolve => setImmediate(resolve))
  }
  throw new Error(`Never happened: ${what}`)
}

/** Lets whatever async work is queued finish (to assert that nothing more happens). */
async function drain (): Promise<void> {
  for (let i = 0; i < 200; i++) await new Promise(resolve => setImmediate(resolve))
}

/**
 * An agent whose timers and clock the test moves, each socket scan reading every table
 * (socketsFullScan 0) so that an edited table shows up, and the reads of the client's table counted.
 */
async function connectScanSetup (t: import('node:test').TestContext, intervals: Partial<TopologyAgentOptions['intervals']> = {}, overrides: Partial<TopologyAgentOptions> = {}): Promise<ReturnType<typeof setup> & {
  advance: (ms: number) => void
  tableReads: () => number
  gate: { closed: boolean, open: () => void }
  clientState: (hex: string) => void
}> {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  let reads = 0
  let release: (() => void) | undefined
  let opened: Promise<void> = Promise.resolve()
  const gate = {
    closed: false,
    open: () => { gate.closed = false; release?.() }
  }
  const rec = procRecording()
  const inner = fixtureFsReader(rec)
  const fs = {
    ...inner,
    readFile: async (path: string): Promise<string> => {
      if (path === clientTable) {
        reads++
        if (gate.closed) {
          opened = new Promise(resolve => { release = resolve })
          await opened
        }
      }
      return await inner.readFile(path)
    }
  }
  const h = setup({ fs, intervals: { socketsFullScan: 0, socketsOnConnect: 200, socketsOnConnectDelay: 20, ...intervals }, ...overrides })
  t.after(async () => { gate.open(); await h.agent.close() })
  await h.agent.start()
  const original = rec.files[clientTable] ?? ''
  return {
    ...h,
    rec,
    advance: (ms) => { h.clock.now += ms; t.mock.timers.tick(ms) },
    tableReads: () => reads,
    gate,
    // The state column of the client's only connection (01 ESTABLISHED, 08 CLOSE_WAIT...).
    clientState: (hex) => { rec.files[clientTable] = original.replace(/^(\s+0: \S+ \S+) 01 /m, `$1 ${hex} `) }
  }
}

const clientSocketState = (e: SocketsEvent | undefined): string | undefined =>
  e?.Sockets.find(s => s.Pid === manifest.pids.client && s.Protocol === 'TCP')?.State

test('connection scans: requests within the delay share one scan; the next waits for the minimum interval', async (t) => {
  const { agent, sockets, advance, clientState, tableReads } = await connectScanSetup(t)
  const scans = (): number => agent.stats().socketScansOnConnect
  assert.equal(sockets.length, 1)
  assert.equal(clientSocketState(sockets[0]), 'ESTABLISHED')

  // The connection moves on while a burst of SYNs asks for scans.
  clientState('08')
  for (let i = 0; i < 50; i++) agent.requestSocketScan()
  advance(19)
  await drain()
  assert.equal(scans(), 0, 'nothing before the coalescing delay')
  assert.equal(sockets.length, 1)
  advance(1)
  await until('the scan of the burst is published', () => sockets.length === 2)
  assert.equal(scans(), 1)
  assert.equal(clientSocketState(sockets[1]), 'CLOSE_WAIT')

  // 30 ms after that scan: the next one waits until 200 ms after it.
  advance(30)
  clientState('01')
  agent.requestSocketScan()
  agent.requestSocketScan()
  advance(169)
  await drain()
  assert.equal(scans(), 1, 'rate limited')
  assert.equal(sockets.length, 2)
  advance(1)
  await until('the rate-limited scan is published', () => sockets.length === 3)
  assert.equal(scans(), 2)
  assert.equal(clientSocketState(sockets[2]), 'ESTABLISHED')

  // Long after: only the delay. An unchanged table is not published again.
  advance(10_000)
  const before = tableReads()
  agent.requestSocketScan()
  advance(20)
  await until('the third scan reads the tables', () => tableReads() > before)
  await drain()
  assert.equal(scans(), 3)
  assert.equal(sockets.length, 3, 'an unchanged table is not published by a connection scan')
  assert.equal(agent.stats().errors, 0)
})

test('connection scans: a scan under way is waited for, then another runs; never two at once', async (t) => {
  const { agent, sockets, advance, clientState, tableReads, gate } = await connectScanSetup(t)
  const scans = (): number => agent.stats().socketScansOnConnect
  gate.closed = true
  agent.requestSocketScan()
  advance(20)
  await until('the first scan blocks on the client table', () => tableReads() === 2)
  assert.equal(scans(), 1)
  // A connection opens while that scan has read (part of) the tables: it gets its own scan after.
  clientState('08')
  agent.requestSocketScan()
  advance(200)
  await drain()
  assert.equal(scans(), 1, 'waits for the scan under way')
  assert.equal(tableReads(), 2)
  gate.open()
  await until('the follow-up scan publishes the change', () => sockets.length === 2)
  assert.equal(scans(), 2)
  assert.equal(tableReads(), 3)
  assert.equal(clientSocketState(sockets[1]), 'CLOSE_WAIT')
})

test('connection scans: 0 turns them off', async (t) => {
  const { agent, advance, tableReads } = await connectScanSetup(t, { socketsOnConnect: 0 })
  const reads = tableReads()
  agent.requestSocketScan()
  advance(5_000)
  await drain()
  assert.equal(agent.stats().socketScansOnConnect, 0)
  assert.equal(tableReads(), reads)
})

test('connection scans: a failure is counted and never escapes; later requests scan again', async (t) => {
  let publishes = 0
  const { agent, advance, clientState } = await connectScanSetup(t, {}, {
    publishSockets: () => {
      // The first (start) goes through; then the bus is down.
      if (++publishes > 1) throw new TopoflowError('TOPOFLOW_ERR_KAFKA', 'broker down', { retriable: true })
    }
  })
  clientState('08')
  agent.requestSocketScan()
  advance(20)
  await until('the failed publish is counted', () => agent.stats().errors === 1)
  assert.equal(agent.stats().socketScansOnConnect, 1)
  clientState('01')
  agent.requestSocketScan()
  advance(200)
  await until('the next failed publish is counted', () => agent.stats().errors === 2)
  assert.equal(agent.stats().socketScansOnConnect, 2)
  assert.equal(publishes, 3)
})

test('connection scans: requests before start and after close do nothing', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  const { agent, sockets } = setup()
  agent.requestSocketScan()
  t.mock.timers.tick(1_000)
  await drain()
  await agent.start()
  assert.equal(agent.stats().socketScansOnConnect, 0)
  await agent.close()
  agent.requestSocketScan()
  t.mock.timers.tick(1_000)
  await drain()
  assert.equal(agent.stats().socketScansOnConnect, 0)
  assert.equal(sockets.length, 1)
})

test('connection scans publish the socket table at once and leave the host node to the next cycle', async (t) => {
  const { agent, events, sockets, advance, clientState } = await connectScanSetup(t)
  events.length = 0
  clientState('08')
  agent.requestSocketScan()
  advance(20)
  await until('the changed table is published', () => sockets.length === 2)
  await drain()
  advance(1_000)
  await drain()
  assert.equal(events.length, 0, 'no host node revision per connection scan')
  await agent.resync()
  const host = events.find(e => e.Node?.Metadata.Type === 'host')
  assert.equal(host?.Kind, 'NodeUpdated')
  const state = (host?.Node?.Metadata.Sockets as Array<{ Pid: number, Protocol: string, State: string }>)
    .find(s => s.Pid === manifest.pids.client && s.Protocol === 'TCP')?.State
  assert.equal(state, 'CLOSE_WAIT')
})

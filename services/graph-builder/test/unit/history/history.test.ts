import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryHistorySink } from '../../../src/history/sink.ts'
import { OpenSearchHistorySink, type OpenSearchBulkClient } from '../../../src/history/opensearch-sink.ts'
import type { TopologyEvent } from '../../../src/types.ts'
import { applyAll, byName, inputsOf, loadStream, newEngine, T0 } from '../helpers.ts'

test('live keeps the current revision; the archive every superseded or deleted one; G.At reads the past', async () => {
  const engine = newEngine()
  const sink = new MemoryHistorySink()
  await sink.write(applyAll(engine, inputsOf(loadStream('two-hosts.events.json'))))
  const nsEth = byName(engine.store, 'compute-1', 'eth0', 'veth')
  assert.equal(sink.live.get(nsEth.ID)?.Revision, 2)
  const archived = [...sink.archive.values()].filter((d) => d.ID === nsEth.ID)
  assert.deepEqual(archived.map((d) => [d.Revision, d.ArchivedAt, (d.Metadata as { State: string }).State]), [[1, T0 + 1000, 'UP']])
  assert.equal(sink.live.get(nsEth.ID)?.ElementType, 'node')
  assert.deepEqual(sink.live.get(nsEth.ID)?.Meta, { Type: 'veth', Name: 'eth0', State: 'DOWN', TID: nsEth.Metadata.TID, IPV4: ['10.0.1.2/24'], IfIndex: 2, MTU: 1500 })

  // The interface is deleted at T: it is in G.At(T-1s), not in G.At(T+1s).
  const T = T0 + 100_000
  const del: TopologyEvent = { Kind: 'NodeDeleted', Host: 'compute-1', Origin: 'agent.compute-1', Time: T, Node: { ID: nsEth.ID, Metadata: {} } }
  await sink.write(engine.apply({ kind: 'topology', event: del }))
  assert.equal(sink.live.has(nsEth.ID), false)
  const before = sink.at(T - 1000).find((d) => d.ID === nsEth.ID)
  assert.equal(before?.Revision, 2)
  assert.equal((before?.Metadata as { State: string }).State, 'DOWN')
  assert.equal(sink.at(T + 1000).some((d) => d.ID === nsEth.ID), false)
  assert.equal(sink.at(T0 + 500).find((d) => d.ID === nsEth.ID)?.Revision, 1, 'and the revision before the State change')
  const gone = [...sink.archive.values()].find((d) => d.ID === nsEth.ID && d.Revision === 2)
  assert.equal(gone?.DeletedAt, T)
  assert.equal(gone?.ArchivedAt, T)
  // Its edge (netns → eth0, veth1 → eth0) went with it, at the same time.
  assert.equal(sink.at(T + 1000).some((d) => d.Parent === nsEth.ID || d.Child === nsEth.ID), false)
  assert.equal(sink.at(T - 1000).filter((d) => d.Parent === nsEth.ID || d.Child === nsEth.ID).length, 2)
})

test('writing the same batch twice leaves the same documents (deterministic _ids)', async () => {
  const engine = newEngine()
  const records = applyAll(engine, inputsOf(loadStream('two-hosts.events.json')))
  const once = new MemoryHistorySink()
  await once.write(records)
  const twice = new MemoryHistorySink()
  await twice.write(records)
  await twice.write(records)
  assert.deepEqual([...twice.archive.entries()], [...once.archive.entries()])
  assert.deepEqual([...twice.live.entries()], [...once.live.entries()])
})

test('the OpenSearch sink sends one bulk: archive documents, live upserts and deletes', async () => {
  const calls: unknown[][] = []
  const client: OpenSearchBulkClient = { bulk: async ({ body }) => { calls.push(body); return { body: { errors: false, items: [] } } } }
  const sink = new OpenSearchHistorySink({ client, liveIndex: 'topoflow-topology-live', archiveIndex: (t) => `archive-${new Date(t).getUTCMonth() + 1}` })
  const engine = newEngine()
  applyAll(engine, inputsOf(loadStream('two-hosts.events.json')).slice(0, 1))
  const br0 = byName(engine.store, 'compute-1', 'br0')
  const records = engine.apply({ kind: 'topology', event: { Kind: 'NodeDeleted', Host: 'compute-1', Origin: 'agent.compute-1', Time: T0 + 5000, Node: { ID: br0.ID, Metadata: {} } } })
  await sink.write(records)
  const body = calls[0] as Array<Record<string, { _index: string, _id: string }>>
  const actions = body.filter((line) => 'index' in line || 'delete' in line)
    .map((line) => Object.entries(line)[0] as [string, { _index: string }]).map(([op, meta]) => `${op} ${meta._index}`)
  assert.deepEqual(actions, ['index archive-11', 'index archive-11', 'index archive-11', 'delete topoflow-topology-live', 'delete topoflow-topology-live', 'delete topoflow-topology-live'])
  assert.ok(body.some((line) => (line.index?._id ?? '') === `${br0.ID}_${br0.CreatedAt}_1`))
  await sink.write([])
  assert.equal(calls.length, 1, 'nothing to write, no request')
})

test('the OpenSearch sink reports item failures, retriable only when every failure is', async () => {
  const reply = (status: number): OpenSearchBulkClient => ({
    bulk: async () => ({ body: { errors: true, items: [{ index: { status, error: { type: 'x' } } }, { delete: { status: 404 } }] as Array<Record<string, { status?: number, error?: unknown }>> } })
  })
  const engine = newEngine()
  const records = applyAll(engine, inputsOf(loadStream('two-hosts.events.json')).slice(0, 1))
  const opts = { liveIndex: 'l', archiveIndex: () => 'a' }
  await assert.rejects(new OpenSearchHistorySink({ ...opts, client: reply(429) }).write(records), { code: 'TOPOFLOW_ERR_OPENSEARCH', retriable: true })
  await assert.rejects(new OpenSearchHistorySink({ ...opts, client: reply(400) }).write(records), { code: 'TOPOFLOW_ERR_OPENSEARCH', retriable: false })
  const down: OpenSearchBulkClient = { bulk: async () => { throw new Error('ECONNREFUSED') } }
  await assert.rejects(new OpenSearchHistorySink({ ...opts, client: down }).write(records), { code: 'TOPOFLOW_ERR_OPENSEARCH', retriable: true, message: /ECONNREFUSED/ })
})

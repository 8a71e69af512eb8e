import { test } from 'node:test'
import assert from 'node:assert/strict'
import { InProcessBus } from '@topoflow/core'
import { topics } from '@topoflow/schemas'
import { compacted, makeApi, node, publishGraph, waitFor } from '../helpers.ts'
import type { ResourceRecord } from '../../src/resources/store.ts'

const json = { 'content-type': 'application/json', accept: 'application/json' }

test('captures: 201 with a UUID and Skydive\'s defaults, listed as an object keyed by UUID', async (t) => {
  const api = await makeApi(t)
  const records: Array<ResourceRecord | null> = []
  await api.bus.subscribe<ResourceRecord>({ topics: [topics.resources], group: 'spy', handler: async (b) => { for (const m of b) records.push(m.value) } })

  // exactly what skydive-client's capture_create sends by default
  const res = await api.app.inject({ method: 'POST', url: '/api/capture', headers: json, payload: { GremlinQuery: "G.V().Has('Name', 'eth0')", LayerKeyMode: 'L2', PollingInterval: 10, SamplingRate: 1 } })
  assert.equal(res.statusCode, 201)
  const created = res.json()
  assert.match(created.UUID, /^[0-9a-f-]{36}$/)
  assert.deepEqual(created, {
    UUID: created.UUID,
    GremlinQuery: "G.V().Has('Name', 'eth0')",
    Count: 0,
    SamplingRate: 1,
    PollingInterval: 10,
    ExtraTCPMetric: false,
    IPDefrag: false,
    ReassembleTCP: false,
    LayerKeyMode: 'L2'
  })

  const bare = await api.app.inject({ method: 'POST', url: '/api/capture', payload: { GremlinQuery: "G.V().Has('Name', 'eth1')", BPFFilter: 'port 80', Type: 'pcap' } })
  assert.equal(bare.statusCode, 201)
  assert.equal(bare.json().LayerKeyMode, 'L2')
  assert.equal(bare.json().SamplingRate, 0)

  const list = await api.app.inject({ method: 'GET', url: '/api/capture' })
  assert.deepEqual(Object.keys(list.json()).sort(), [created.UUID, bare.json().UUID].sort())
  assert.deepEqual(list.json()[created.UUID], created)

  const one = await api.app.inject({ method: 'GET', url: `/api/capture/${created.UUID}` })
  assert.deepEqual(one.json(), created)

  await waitFor(() => records.length >= 2, { what: 'resource records' })
  assert.equal(records[0]?.ResourceType, 'capture')
  assert.equal(records[0]?.UUID, created.UUID)
  assert.equal(records[0]?.Deleted, false)
  assert.equal(records[0]?.Resource.GremlinQuery, "G.V().Has('Name', 'eth0')")

  const del = await api.app.inject({ method: 'DELETE', url: `/api/capture/${created.UUID}`, headers: json })
  assert.equal(del.statusCode, 200)
  assert.equal(del.body, '')
  assert.match(String(del.headers['content-type']), /^text\/plain/)
  await waitFor(() => records.length >= 4, { what: 'delete + tombstone' })
  assert.equal(records[2]?.Deleted, true)
  assert.equal(records[3], null)
  const gone = await api.app.inject({ method: 'GET', url: `/api/capture/${created.UUID}` })
  assert.equal(gone.statusCode, 404)
  assert.equal(gone.body, `Capture '${created.UUID}' not found`)
})

test('captures: 409 on duplicates, 400 on bad input, PATCH refused', async (t) => {
  const api = await makeApi(t)
  const body = { GremlinQuery: "G.V().Has('Name', 'eth0')" }
  assert.equal((await api.app.inject({ method: 'POST', url: '/api/capture', payload: body })).statusCode, 201)
  const dup = await api.app.inject({ method: 'POST', url: '/api/capture', payload: body })
  assert.equal(dup.statusCode, 409)
  assert.equal(dup.body, 'duplicated resource')
  // a pcapsocket capture cannot share a node with the same query
  assert.equal((await api.app.inject({ method: 'POST', url: '/api/capture', payload: { ...body, Type: 'pcapsocket', BPFFilter: 'tcp' } })).statusCode, 201)
  assert.equal((await api.app.inject({ method: 'POST', url: '/api/capture', payload: { ...body, Type: 'pcapsocket', BPFFilter: 'udp' } })).statusCode, 409)
  // afpacket allows several captures per node with different filters
  assert.equal((await api.app.inject({ method: 'POST', url: '/api/capture', payload: { ...body, Type: 'afpacket', BPFFilter: 'tcp' } })).statusCode, 201)
  assert.equal((await api.app.inject({ method: 'POST', url: '/api/capture', payload: { ...body, Type: 'afpacket', BPFFilter: 'udp' } })).statusCode, 201)

  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{}, /GremlinQuery: a Gremlin expression is required/],
    [{ GremlinQuery: 'G.V(' }, /GremlinQuery: invalid Gremlin expression: Gremlin syntax error/],
    [{ GremlinQuery: 'G.V()', Type: 'magic' }, /unknown capture type "magic"/],
    [{ GremlinQuery: 'G.V()', Type: 'ebpf', BPFFilter: 'tcp' }, /^ebpf capture doesn't support BPF filtering$/],
    [{ GremlinQuery: 'G.V()', RawPacketLimit: 11 }, /RawPacketLimit: expected an integer from 0 to 10/],
    [{ GremlinQuery: 'G.V()', HeaderSize: 10 }, /HeaderSize: expected 0 or 14 to 4096/],
    [{ GremlinQuery: 'G.V()', LayerKeyMode: 'L7' }, /LayerKeyMode: expected L2 or L3/],
    [{ GremlinQuery: 'G.V()', Target: 'nohost' }, /Target: expected HOST:PORT/]
  ]
  for (const [payload, message] of bad) {
    const res = await api.app.inject({ method: 'POST', url: '/api/capture', payload })
    assert.equal(res.statusCode, 400, JSON.stringify(payload))
    assert.match(res.body, message)
  }
  const notJson = await api.app.inject({ method: 'POST', url: '/api/capture', headers: { 'content-type': 'application/json' }, payload: '{"GremlinQuery": ' })
  assert.equal(notJson.statusCode, 400)

  const id = Object.keys((await api.app.inject({ method: 'GET', url: '/api/capture' })).json())[0]
  const patch = await api.app.inject({ method: 'PATCH', url: `/api/capture/${id}`, payload: [{ op: 'replace', path: '/Name', value: 'x' }] })
  assert.equal(patch.statusCode, 400)
  assert.equal(patch.body, 'resource not updatable')
  assert.equal((await api.app.inject({ method: 'PATCH', url: '/api/capture/nope', payload: [] })).statusCode, 404)
  assert.equal((await api.app.inject({ method: 'DELETE', url: '/api/capture/nope' })).body, "Capture 'nope' not found")
})

test('a capture\'s Count comes from capture status and node Captures metadata', async (t) => {
  const api = await makeApi(t)
  const res = await api.app.inject({ method: 'POST', url: '/api/capture', payload: { GremlinQuery: "G.V().Has('Type', 'device')" } })
  const id: string = res.json().UUID
  await api.bus.publish(topics.captureStatus, [
    { key: `${id}/n1`, value: { CaptureID: id, Host: 'node-a', NodeID: 'n1', NodeTID: 't1', State: 'active', PacketsReceived: 5, PacketsDropped: 0, Time: 1 } },
    { key: `${id}/n2`, value: { CaptureID: id, Host: 'node-a', NodeID: 'n2', NodeTID: 't2', State: 'error', Time: 1 } }
  ])
  await publishGraph(api, [node('n3', { Name: 'eth3', Type: 'device', Captures: [{ ID: id, State: 'active' }, { ID: 'other', State: 'active' }] })])
  await waitFor(async () => (await api.app.inject({ method: 'GET', url: `/api/capture/${id}` })).json().Count === 2, { what: 'Count 2' })
  const list = await api.app.inject({ method: 'GET', url: '/api/capture' })
  assert.equal(list.json()[id].Count, 2)
  await api.bus.publish(topics.captureStatus, [{ key: `${id}/n1`, value: null }])
  await waitFor(async () => (await api.app.inject({ method: 'GET', url: `/api/capture/${id}` })).json().Count === 1, { what: 'Count 1' })
})

test('alerts, node rules and edge rules: CRUD with JSON Patch, 304 when unchanged', async (t) => {
  const api = await makeApi(t)
  const alert = await api.app.inject({ method: 'POST', url: '/api/alert', payload: { Action: 'http://127.0.0.1:1/hook', Expression: "G.V().Has('Type', 'host')", Trigger: 'graph' } })
  assert.equal(alert.statusCode, 201)
  const a = alert.json()
  assert.deepEqual(Object.keys(a), ['UUID', 'Expression', 'Action', 'Trigger', 'CreateTime'])
  assert.ok(!Number.isNaN(Date.parse(a.CreateTime)))
  const patched = await api.app.inject({ method: 'PATCH', url: `/api/alert/${a.UUID}`, payload: [{ op: 'add', path: '/Name', value: 'hosts' }, { op: 'replace', path: '/Trigger', value: 'duration:10s' }] })
  assert.equal(patched.statusCode, 200)
  assert.equal(patched.json().Name, 'hosts')
  assert.equal(patched.json().Trigger, 'duration:10s')
  assert.equal(patched.json().CreateTime, a.CreateTime)
  assert.equal((await api.app.inject({ method: 'GET', url: `/api/alert/${a.UUID}` })).json().Name, 'hosts')
  const same = await api.app.inject({ method: 'PATCH', url: `/api/alert/${a.UUID}`, payload: [{ op: 'replace', path: '/Name', value: 'hosts' }] })
  assert.equal(same.statusCode, 304)
  const broken = await api.app.inject({ method: 'PATCH', url: `/api/alert/${a.UUID}`, payload: [{ op: 'remove', path: '/Nope' }] })
  assert.equal(broken.statusCode, 400)
  assert.match(broken.body, /path "\/Nope" does not exist/)
  const badTrigger = await api.app.inject({ method: 'PATCH', url: `/api/alert/${a.UUID}`, payload: [{ op: 'replace', path: '/Trigger', value: 'sometimes' }] })
  assert.equal(badTrigger.statusCode, 400)
  assert.equal((await api.app.inject({ method: 'POST', url: '/api/alert', payload: { Expression: 'process.exit()' } })).statusCode, 400)
  assert.equal((await api.app.inject({ method: 'POST', url: '/api/alert', payload: { Action: 'x' } })).body, 'Expression: zero value')

  const rule = await api.app.inject({ method: 'POST', url: '/api/noderule', payload: { Action: 'create', Metadata: { Name: 'tor1', Type: 'switch' }, Query: '' } })
  assert.equal(rule.statusCode, 201)
  assert.deepEqual(rule.json(), { UUID: rule.json().UUID, Name: '', Description: '', Metadata: { Name: 'tor1', Type: 'switch' }, Action: 'create', Query: '' })
  assert.equal((await api.app.inject({ method: 'POST', url: '/api/noderule', payload: { Action: 'update', Metadata: { Name: 'x' }, Query: 'G.V()' } })).body, 'Name and Type fields can not be changed')
  assert.equal((await api.app.inject({ method: 'POST', url: '/api/noderule', payload: { Action: 'delete' } })).statusCode, 400)
  assert.equal((await api.app.inject({ method: 'GET', url: '/api/noderule/zzz' })).body, "Noderule 'zzz' not found")

  const er = await api.app.inject({ method: 'POST', url: '/api/edgerule', payload: { Src: "G.V().Has('Name', 'a')", Dst: "G.V().Has('Name', 'b')", Metadata: { RelationType: 'layer2' } } })
  assert.equal(er.statusCode, 201)
  assert.deepEqual(Object.keys(er.json()), ['UUID', 'Name', 'Description', 'Src', 'Dst', 'Metadata'])
  assert.equal((await api.app.inject({ method: 'POST', url: '/api/edgerule', payload: { Src: 'G.V()', Dst: 'G.V()', Metadata: {} } })).body, 'Metadata: RelationType is required')
  const erPatch = await api.app.inject({ method: 'PATCH', url: `/api/edgerule/${er.json().UUID}`, payload: [{ op: 'add', path: '/Metadata/Type', value: 'fabric' }] })
  assert.deepEqual(erPatch.json().Metadata, { RelationType: 'layer2', Type: 'fabric' })
  assert.equal((await api.app.inject({ method: 'DELETE', url: `/api/edgerule/${er.json().UUID}` })).statusCode, 200)
  assert.deepEqual((await api.app.inject({ method: 'GET', url: '/api/edgerule' })).json(), {})
})

test('resources survive a restart: a new API reads them back from the compacted topic', async (t) => {
  const bus = new InProcessBus({ compactedTopics: compacted })
  const first = await makeApi(t, { bus })
  const kept = (await first.app.inject({ method: 'POST', url: '/api/capture', payload: { GremlinQuery: "G.V().Has('Name', 'eth0')" } })).json()
  const dropped = (await first.app.inject({ method: 'POST', url: '/api/alert', payload: { Expression: 'G.V()' } })).json()
  await first.app.inject({ method: 'DELETE', url: `/api/alert/${dropped.UUID}` })
  await first.app.close()

  const second = await makeApi(t, { bus })
  await waitFor(async () => Object.keys((await second.app.inject({ method: 'GET', url: '/api/capture' })).json()).length === 1, { what: 'capture replay' })
  assert.deepEqual((await second.app.inject({ method: 'GET', url: `/api/capture/${kept.UUID}` })).json(), kept)
  assert.deepEqual((await second.app.inject({ method: 'GET', url: '/api/alert' })).json(), {})
})

test('X-Resource-TTL makes a resource expire; a bad TTL is refused', async (t) => {
  const api = await makeApi(t)
  const res = await api.app.inject({ method: 'POST', url: '/api/alert', headers: { 'x-resource-ttl': '50ms' }, payload: { Expression: 'G.V()' } })
  assert.equal(res.statusCode, 201)
  await waitFor(async () => (await api.app.inject({ method: 'GET', url: `/api/alert/${res.json().UUID}` })).statusCode === 404, { what: 'expiry' })
  const bad = await api.app.inject({ method: 'POST', url: '/api/alert', headers: { 'x-resource-ttl': 'soon' }, payload: { Expression: 'G.V()' } })
  assert.equal(bad.statusCode, 400)
  assert.match(bad.body, /invalid ttl/)
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import avsc from 'avsc'
import { TopoflowError } from '@topoflow/core'
import { codecFor, codecForVersion, headerLength, identifySchema } from '../../src/codec.ts'
import { readFixture } from '../../src/fixtures.ts'
import { schemaVersions } from '../../src/registry.ts'
import { topics } from '../../src/topics.ts'
import type { TopicName } from '../../src/topics.ts'
import type { FlowInput, TopologyEventInput } from '../../src/generated/types.ts'

function decodeError (fn: () => unknown): TopoflowError {
  try {
    fn()
  } catch (err) {
    assert.ok(TopoflowError.is(err), `expected a TopoflowError, got ${String(err)}`)
    assert.equal(err.code, 'TOPOFLOW_ERR_DECODE')
    return err
  }
  assert.fail('expected decode to throw')
}

function encodeError (fn: () => unknown): TopoflowError {
  try {
    fn()
  } catch (err) {
    assert.ok(TopoflowError.is(err), `expected a TopoflowError, got ${String(err)}`)
    assert.equal(err.code, 'TOPOFLOW_ERR_ENCODE')
    return err
  }
  assert.fail('expected encode to throw')
}

const nodeUpdated: TopologyEventInput = {
  Kind: 'NodeUpdated',
  Host: 'compute-1',
  Origin: 'agent.compute-1',
  Time: 1700000000500,
  Node: {
    ID: 'n1',
    Metadata: { Name: 'veth0', Type: 'veth', MTU: 1500, IPV4: ['10.1.0.1/24'], Ovs: { Metric: { RxBytes: 12 } }, Flag: true, Nothing: null },
    Host: 'compute-1',
    Origin: 'agent.compute-1',
    CreatedAt: 1700000000000,
    UpdatedAt: 1700000000500,
    Revision: 2
  }
}

test('a message is magic C3 01, the schema fingerprint, then the Avro body', () => {
  const codec = codecFor(topics.topologyEvents)
  const message = codec.encode(nodeUpdated)
  assert.deepEqual([...message.subarray(0, 2)], [0xc3, 0x01])
  assert.deepEqual(message.subarray(2, headerLength), codec.fingerprint)
  // Any Avro library without our logical type sees Metadata as a plain JSON string
  const latest = schemaVersions(topics.topologyEvents).at(-1)
  assert.ok(latest !== undefined)
  const plain = avsc.Type.forSchema(latest.schema as avsc.Schema)
  const body = plain.fromBuffer(message.subarray(headerLength))
  assert.equal(body.Node.Metadata, JSON.stringify(nodeUpdated.Node?.Metadata))
  assert.equal(body.Kind, 'NodeUpdated')
})

test('decode fills defaults and returns Metadata as an object', () => {
  const codec = codecFor(topics.topologyEvents)
  const event = codec.decode(codec.encode(nodeUpdated))
  assert.equal(event.Kind, 'NodeUpdated')
  assert.deepEqual(event.Node?.Metadata, nodeUpdated.Node?.Metadata)
  assert.equal(event.Node?.DeletedAt, null)
  assert.deepEqual(event.Nodes, [])
  assert.equal(event.Edge, null)
})

test('codecs are built once per topic', () => {
  assert.equal(codecFor(topics.flowsRaw), codecFor(topics.flowsRaw))
  assert.equal(codecFor(topics.flowsRaw).version, schemaVersions(topics.flowsRaw).length)
  assert.equal(codecFor(topics.flowsRaw).schemaName, 'topoflow.flow.v1.Flow')
})

test('a flow with every optional layer round-trips, including DNS as JSON', () => {
  const codec = codecFor(topics.flowsRaw)
  const flow: FlowInput = {
    ...readFixture(topics.flowsRaw),
    LayersPath: 'Ethernet/IPv4/UDP/DNS',
    Application: 'DNS',
    Transport: { Protocol: 'UDP', A: 53124, B: 53 },
    DNS: { ID: 4242, QR: false, Questions: [{ Name: 'example.org', Type: 'A', Class: 'IN' }] },
    TCPMetric: null
  }
  const decoded = codec.decode(codec.encode(flow))
  assert.deepEqual(decoded.DNS, flow.DNS)
  assert.equal(decoded.Transport?.ID, 0) // default filled in
  assert.equal(decoded.Transport?.Protocol, 'UDP')
})

test('validate names the path of every bad field', () => {
  const codec = codecFor(topics.flowsRaw)
  const flow = readFixture(topics.flowsRaw) as unknown as Record<string, unknown>
  const errors = codec.validate({
    ...flow,
    Metric: { ...(flow.Metric as object), ABBytes: '12' },
    Network: { Protocol: 'IPV5', A: '10.0.0.1', B: '10.0.0.2' },
    Start: 1.5,
    Host: undefined
  })
  assert.deepEqual(errors, [
    'Network.Protocol: expected one of ETHERNET|IPV4|TCP|UDP|SCTP|IPV6|ICMPV4|ICMPV6, got string "IPV5"',
    'Metric.ABBytes: expected long (safe integer), got string "12"',
    'Start: expected long (safe integer), got number 1.5',
    'Host: expected string, got nothing (field missing)'
  ])
  assert.deepEqual(codec.validate(flow), [])
})

test('validate rejects undeclared fields, which would otherwise be dropped silently', () => {
  const codec = codecFor(topics.captureStatus)
  const status = readFixture(topics.captureStatus)
  assert.deepEqual(codec.validate({ ...status, PacketDropped: 1 }), ['(value): undeclared field PacketDropped in record topoflow.capture.v1.CaptureStatus'])
  // encode skips that scan on the hot path (TypeScript catches unknown fields) and drops the field
  const decoded = codec.decode(codec.encode({ ...status, PacketDropped: 1 } as typeof status))
  assert.deepEqual(decoded, status)
  assert.equal(Object.getPrototypeOf(decoded), Object.prototype)
})

test('encode refuses invalid values with TOPOFLOW_ERR_ENCODE naming the field', () => {
  const codec = codecFor(topics.topologyEvents)
  const err = encodeError(() => codec.encode({ ...nodeUpdated, Node: { ...nodeUpdated.Node!, Metadata: ['not', 'an', 'object'] as unknown as Record<string, unknown> } }))
  assert.match(err.message, /Node\.Metadata: expected a JSON object, got array of 3/)
  assert.equal(err.context.topic, topics.topologyEvents)
  const bigint = encodeError(() => codec.encode({ ...nodeUpdated, Node: { ...nodeUpdated.Node!, Metadata: { Big: 1n } } }))
  assert.match(bigint.message, /Node\.Metadata: expected a JSON object/)
  const unsafe = encodeError(() => codec.encode({ ...nodeUpdated, Time: 2 ** 60 }))
  assert.match(unsafe.message, /Time: expected long \(safe integer\), got number/)
  encodeError(() => codec.encode(null as unknown as TopologyEventInput))
})

test('encode checks rules across fields', () => {
  const events = codecFor(topics.topologyEvents)
  const err = encodeError(() => events.encode({ ...nodeUpdated, Kind: 'EdgeDeleted' }))
  assert.match(err.message, /Edge: required when Kind is EdgeDeleted/)
  const changes = codecFor(topics.topologyChanges)
  const change = readFixture(topics.topologyChanges)
  assert.deepEqual(changes.validate({ ...change, ElementType: 'node' }), ['Node: required, and Edge null, when ElementType is node'])
})

test('large values grow the encode buffer', () => {
  const codec = codecFor(topics.topologyEvents)
  const nodes = Array.from({ length: 400 }, (_, i) => ({ ...nodeUpdated.Node!, ID: `node-${i}`, Metadata: { Name: `eth${i}`, Type: 'device', Pad: 'x'.repeat(100) } }))
  const sync: TopologyEventInput = { Kind: 'HostSync', Host: 'h', Origin: 'agent.h', Time: 1, Nodes: nodes }
  const message = codec.encode(sync)
  assert.ok(message.length > 50_000)
  const decoded = codec.decode(message)
  assert.equal(decoded.Nodes.length, 400)
  assert.equal(decoded.Nodes[399]?.ID, 'node-399')
  // and the codec still encodes small values exactly afterwards
  assert.deepEqual(codec.decode(codec.encode(nodeUpdated)).Node?.ID, 'n1')
})

test('bytes fields carry Buffers', () => {
  const codec = codecFor(topics.dlq)
  const letter = { ...readFixture(topics.dlq), OriginalKey: null, OriginalValue: Buffer.from([0, 1, 2, 255]) }
  const decoded = codec.decode(codec.encode(letter))
  assert.deepEqual(decoded.OriginalValue, Buffer.from([0, 1, 2, 255]))
  assert.equal(decoded.OriginalKey, null)
})

test('wrong magic, short and empty messages are refused clearly', () => {
  const codec = codecFor(topics.flowsRaw)
  const good = codec.encode(readFixture(topics.flowsRaw))
  const json = Buffer.from(JSON.stringify(readFixture(topics.flowsRaw)))
  assert.match(decodeError(() => codec.decode(json)).message, /bad magic 0x7b22, expected 0xc301/)
  const wrong = Buffer.from(good)
  wrong[1] = 0x02
  assert.match(decodeError(() => codec.decode(wrong)).message, /bad magic 0xc302/)
  assert.match(decodeError(() => codec.decode(Buffer.alloc(0))).message, /0 bytes is shorter than the 10-byte single-object header/)
  assert.match(decodeError(() => codec.decode(good.subarray(0, 6))).message, /shorter than the 10-byte/)
  assert.match(decodeError(() => codec.decode(null as unknown as Buffer)).message, /expected a Buffer, got null/)
  assert.match(decodeError(() => codec.decode('c301' as unknown as Buffer)).message, /expected a Buffer, got string/)
})

test('a message of another topic or an unknown schema is refused by fingerprint', () => {
  const flows = codecFor(topics.flowsRaw)
  const status = codecFor(topics.captureStatus).encode(readFixture(topics.captureStatus))
  const err = decodeError(() => flows.decode(status))
  assert.match(err.message, new RegExp(`unknown schema fingerprint ${codecFor(topics.captureStatus).fingerprint.toString('hex')}`))
  assert.match(err.message, /known for topoflow\.flow\.v1\.Flow: v1 [0-9a-f]{16}, v2 [0-9a-f]{16}/)
  assert.equal(err.context.topic, topics.flowsRaw)
})

test('truncated bodies and trailing bytes are refused', () => {
  const codec = codecFor(topics.flowsEnriched)
  const good = codec.encode(readFixture(topics.flowsEnriched))
  for (let cut = headerLength; cut < good.length; cut++) {
    const err = decodeError(() => codec.decode(good.subarray(0, cut)))
    assert.match(err.message, /truncated body|corrupt body/)
  }
  assert.match(decodeError(() => codec.decode(good.subarray(0, headerLength + 3))).message, /truncated body/)
  assert.match(decodeError(() => codec.decode(Buffer.concat([good, Buffer.from([0])]))).message, /1 trailing bytes/)
})

test('random bytes never crash, hang or decode by accident', () => {
  let seed = 42
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed
  }
  const codecs = (Object.values(topics) as TopicName[]).map((t) => codecFor(t))
  for (let i = 0; i < 500; i++) {
    const bytes = Buffer.from(Array.from({ length: random() % 200 }, () => random() % 256))
    for (const codec of codecs) decodeError(() => codec.decode(bytes))
  }
})

test('garbage after a valid header gives a decode error, even with huge array counts', () => {
  const codec = codecFor(topics.topologyEvents)
  const header = codec.encode(nodeUpdated).subarray(0, headerLength)
  // Kind 4 (HostSync), empty Host/Origin, Time 0, Node null, Edge null, then Nodes with a block count
  // of 2^40: avsc alone would loop that many times.
  const hugeCount = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x40])
  const body = Buffer.concat([Buffer.from([8, 0, 0, 0, 0, 0]), hugeCount, Buffer.alloc(20)])
  const started = Date.now()
  const err = decodeError(() => codec.decode(Buffer.concat([header, body])))
  assert.match(err.message, /corrupt body: block of \d+ items with only 20 bytes left/)
  assert.ok(Date.now() - started < 1000)

  let seed = 7
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed
  }
  const flows = codecFor(topics.flowsEnriched)
  const good = flows.encode(readFixture(topics.flowsEnriched))
  for (let i = 0; i < 2000; i++) {
    const mutated = Buffer.from(good)
    const flips = 1 + (random() % 4)
    for (let f = 0; f < flips; f++) mutated[headerLength + (random() % (good.length - headerLength))] = random() % 256
    try {
      flows.decode(mutated)
    } catch (err) {
      // a flipped byte may still decode (e.g. a changed counter); what matters is that failure is always a decode error
      assert.ok(TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_DECODE', String(err))
    }
  }
})

test('identifySchema tells topic and version from the header', () => {
  const v1 = codecForVersion(topics.flowsRaw, 1)
  assert.deepEqual(identifySchema(v1.encode(readFixture(topics.flowsRaw, 1))), { topic: topics.flowsRaw, name: 'topoflow.flow.v1.Flow', version: 1 })
  assert.equal(identifySchema(Buffer.from('not avro')), undefined)
})

test('unknown topics and versions are schema errors', () => {
  assert.throws(() => codecFor('topoflow.nope.v1' as TopicName), (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_SCHEMA' && /Unknown topic "topoflow.nope.v1"/.test(err.message))
  assert.throws(() => codecForVersion(topics.flowsRaw, 9), (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_SCHEMA' && /known: 1, 2/.test(err.message))
})

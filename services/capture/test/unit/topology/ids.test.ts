import assert from 'node:assert/strict'
import { test } from 'node:test'
import { childTid, edgeId, genId, hostNodeId, hostTid, interfaceNodeId, netnsNodeId, uuidV5 } from '../../../src/topology/ids.ts'

test('uuidV5 matches RFC 4122 name-based UUIDs in the OID namespace', () => {
  // Reference values from Python's uuid.uuid5(uuid.NAMESPACE_OID, name).
  assert.equal(uuidV5('hello'), '4d71d03f-f19b-5d9e-8523-9628ba18063c')
  assert.equal(uuidV5('node-1'), 'f966672f-25d7-5135-a210-3f96f6c5a678')
  assert.equal(genId('node-1', 'host'), '18679b76-b784-569f-9906-1bdccc75e606')
})

test('node IDs are deterministic and distinct per host, namespace and ifindex', () => {
  assert.equal(hostNodeId('h1'), hostNodeId('h1'))
  assert.notEqual(hostNodeId('h1'), hostNodeId('h2'))
  assert.equal(interfaceNodeId('h1', 4026531833, 2), interfaceNodeId('h1', 4026531833, 2))
  const ids = new Set([
    interfaceNodeId('h1', 4026531833, 2),
    interfaceNodeId('h1', 4026531833, 3),
    interfaceNodeId('h1', 4026532177, 2),
    interfaceNodeId('h2', 4026531833, 2),
    netnsNodeId('h1', 4026532177),
    hostNodeId('h1')
  ])
  assert.equal(ids.size, 6)
})

test('TIDs follow Skydive: host from its name, children from parent TID + name + type', () => {
  assert.equal(hostTid('node-1'), 'f966672f-25d7-5135-a210-3f96f6c5a678')
  assert.equal(childTid(hostTid('node-1'), 'eth0', 'device'), uuidV5('f966672f-25d7-5135-a210-3f96f6c5a678' + 'eth0' + 'device'))
  assert.equal(edgeId('p', 'c', 'ownership'), uuidV5('pcownership'))
})

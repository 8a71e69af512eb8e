import { test } from 'node:test'
import assert from 'node:assert/strict'
import { applyPatch, parsePatch } from '../../src/lib/json-patch.ts'

test('applies RFC 6902 operations to a copy', () => {
  const doc = { Metadata: { Name: 'eth0', Tags: ['a', 'b'], Old: 1 } }
  const out = applyPatch(doc, parsePatch([
    { op: 'add', path: '/Metadata/MTU', value: 1500 },
    { op: 'add', path: '/Metadata/Tags/-', value: 'c' },
    { op: 'add', path: '/Metadata/Tags/0', value: 'z' },
    { op: 'remove', path: '/Metadata/Old' },
    { op: 'replace', path: '/Metadata/Name', value: 'eth1' },
    { op: 'copy', from: '/Metadata/Name', path: '/Metadata/Alias' },
    { op: 'move', from: '/Metadata/Alias', path: '/Metadata/Moved' },
    { op: 'test', path: '/Metadata/MTU', value: 1500 },
    { op: 'add', path: '/Metadata/a~1b', value: true }
  ]))
  assert.deepEqual(out, { Metadata: { Name: 'eth1', Tags: ['z', 'a', 'b', 'c'], MTU: 1500, Moved: 'eth1', 'a/b': true } })
  assert.deepEqual(doc, { Metadata: { Name: 'eth0', Tags: ['a', 'b'], Old: 1 } })
})

test('rejects malformed patches and impossible operations with a clear message', () => {
  assert.throws(() => parsePatch({ op: 'add' }), /expected an array of operations/)
  assert.throws(() => parsePatch([{ op: 'merge', path: '/a' }]), /operation 0 has op "merge"/)
  assert.throws(() => parsePatch([{ op: 'add', path: '/a' }]), /operation 0 \(add\) has no "value"/)
  assert.throws(() => parsePatch([{ op: 'move', path: '/a' }]), /has no "from"/)
  assert.throws(() => applyPatch({ a: 1 }, parsePatch([{ op: 'remove', path: '/b' }])), /path "\/b" does not exist/)
  assert.throws(() => applyPatch({ a: 1 }, parsePatch([{ op: 'replace', path: '/b/c', value: 1 }])), /does not exist/)
  assert.throws(() => applyPatch({ a: [1] }, parsePatch([{ op: 'add', path: '/a/5', value: 1 }])), /out of range/)
  assert.throws(() => applyPatch({ a: 1 }, parsePatch([{ op: 'test', path: '/a', value: 2 }])), /test of "\/a" failed/)
  assert.throws(() => applyPatch({ a: 1 }, parsePatch([{ op: 'add', path: 'a', value: 2 }])), /must start with "\/"/)
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TopoflowError } from '@topoflow/core'
import { seededRandom } from '@topoflow/testing/seeded-random'
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

test('"__proto__" is a member name like any other: an own property, never the object\'s prototype', () => {
  const out = applyPatch({ Metadata: {} as Record<string, unknown> }, parsePatch([
    { op: 'add', path: '/Metadata/__proto__', value: { Type: 'injected' } },
    { op: 'copy', from: '/Metadata/__proto__', path: '/Metadata/Copy' }
  ]))
  assert.equal(Object.getPrototypeOf(out.Metadata), Object.prototype)
  assert.equal(out.Metadata.Type, undefined)
  assert.ok(Object.hasOwn(out.Metadata, '__proto__'))
  assert.deepEqual(out.Metadata.Copy, { Type: 'injected' })
})

test('random patches on random documents: a result or a typed error, the original untouched, no prototype touched', () => {
  const random = seededRandom(0x6902)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T
  const keys = ['a', 'b', '0', '1', '-', '__proto__', 'constructor', 'prototype', '', '~0', '~1', 'x/y']
  const value = (depth: number): unknown => {
    const r = random()
    if (depth === 0 || r < 0.4) return pick([1, 'x', null, true, [], {}])
    if (r < 0.7) return Array.from({ length: Math.floor(random() * 3) }, () => value(depth - 1))
    const o: Record<string, unknown> = {}
    for (let i = Math.floor(random() * 3); i > 0; i--) o[pick(keys)] = value(depth - 1)
    return o
  }
  const path = (): string => Array.from({ length: Math.floor(random() * 4) }, () => `/${pick(keys)}`).join('')
  let applied = 0
  for (let i = 0; i < 5000; i++) {
    const doc = { Metadata: value(3) }
    const before = JSON.stringify(doc)
    const patch = Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({ op: pick(['add', 'remove', 'replace', 'move', 'copy', 'test']), path: path(), from: path(), value: value(2) }))
    try {
      const out = applyPatch(doc, parsePatch(patch))
      JSON.stringify(out)
      applied++
    } catch (err) {
      assert.ok(TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_INVALID_REQUEST', `${JSON.stringify(patch)}: ${String(err)}`)
    }
    assert.equal(JSON.stringify(doc), before, 'the original document is untouched')
  }
  assert.ok(applied > 100, `${applied} patches applied`)
  assert.deepEqual(Object.keys(Object.prototype), [])
  assert.equal(({} as Record<string, unknown>).Type, undefined)
})

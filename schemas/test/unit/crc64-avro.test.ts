import { test } from 'node:test'
import assert from 'node:assert/strict'
import avsc from 'avsc'
import { crc64Avro, schemaFingerprint } from '../../src/crc64-avro.ts'
import { compileSchema, schemaVersions } from '../../src/registry.ts'
import { topicNames } from '../../src/topics.ts'

// Vectors from Apache Avro's share/test/data/schema-tests.txt: input schema, its parsing canonical
// form, and the CRC-64-AVRO fingerprint of that form as a signed 64-bit integer.
const vectors: Array<[input: unknown, canonical: string, fingerprint: bigint]> = [
  ['null', '"null"', 7195948357588979594n],
  [{ type: 'boolean' }, '"boolean"', -6970731678124411036n],
  ['int', '"int"', 8247732601305521295n],
  ['long', '"long"', -3434872931120570953n],
  ['float', '"float"', 5583340709985441680n],
  ['double', '"double"', -8181574048448539266n],
  ['bytes', '"bytes"', 5746618253357095269n],
  ['string', '"string"', -8142146995180207161n],
  [['int', { type: 'boolean' }], '["int","boolean"]', 5392556393470105090n],
  [{ fields: [], type: 'record', name: 'foo' }, '{"name":"foo","type":"record","fields":[]}', -4824392279771201922n],
  [{ fields: [], type: 'record', name: 'foo', namespace: 'x.y' }, '{"name":"x.y.foo","type":"record","fields":[]}', 5916914534497305771n],
  [{ fields: [], type: 'record', name: 'a.b.foo', namespace: 'x.y' }, '{"name":"a.b.foo","type":"record","fields":[]}', -4616218487480524110n],
  [{ fields: [], type: 'record', name: 'foo', doc: 'Useful info', aliases: ['foo', 'bar'] }, '{"name":"foo","type":"record","fields":[]}', -4824392279771201922n],
  [
    { fields: [{ type: 'boolean', aliases: [], name: 'f1', default: true }, { order: 'descending', name: 'f2', doc: 'Hello', type: 'int' }], type: 'record', name: 'foo' },
    '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},{"name":"f2","type":"int"}]}',
    -4860222112080293046n
  ],
  [{ type: 'enum', name: 'foo', symbols: ['A1'] }, '{"name":"foo","type":"enum","symbols":["A1"]}', -6342190197741309591n],
  [{ namespace: 'x.y.z', type: 'enum', name: 'foo', doc: 'foo bar', symbols: ['A1', 'A2'] }, '{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}', -4448647247586288245n],
  [{ name: 'foo', type: 'fixed', size: 15 }, '{"name":"foo","type":"fixed","size":15}', 1756455273707447556n],
  [{ items: { type: 'null' }, type: 'array' }, '{"type":"array","items":"null"}', -589620603366471059n],
  [{ values: 'string', type: 'map' }, '{"type":"map","values":"string"}', -8732877298790414990n],
  [
    { name: 'PigValue', type: 'record', fields: [{ name: 'value', type: ['null', 'int', 'long', 'PigValue'] }] },
    '{"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]}',
    -1759257747318642341n
  ]
]

test('crc64Avro matches the Avro specification vectors', () => {
  for (const [, canonical, expected] of vectors) {
    assert.equal(BigInt.asIntN(64, crc64Avro(Buffer.from(canonical))), expected, canonical)
  }
})

test('avsc produces the parsing canonical form the vectors expect', () => {
  for (const [input, canonical] of vectors) {
    assert.equal(JSON.stringify(avsc.Type.forSchema(input as avsc.Schema).schema()), canonical)
  }
})

test('schemaFingerprint is the CRC as 8 little-endian bytes', () => {
  const fp = schemaFingerprint('"null"')
  assert.equal(fp.length, 8)
  assert.equal(fp.toString('hex'), '8a8f25cce724dd63') // 0x63dd24e7cc258f8a little-endian
  assert.equal(fp.readBigInt64LE(0), 7195948357588979594n)
})

test('logical types and docs do not change a schema fingerprint', () => {
  const plain = compileSchema({ type: 'record', name: 'r', fields: [{ name: 'm', type: 'string' }, { name: 't', type: 'long' }] })
  const annotated = compileSchema({
    type: 'record',
    name: 'r',
    doc: 'documented',
    fields: [{ name: 'm', type: { type: 'string', logicalType: 'json' } }, { name: 't', type: { type: 'long', logicalType: 'timestamp-millis' } }]
  })
  assert.equal(JSON.stringify(annotated.schema()), JSON.stringify(plain.schema()))
})

test('every topic schema version has a distinct fingerprint', () => {
  const seen = new Map<string, string>()
  for (const topic of topicNames) {
    for (const v of schemaVersions(topic)) {
      const hex = v.fingerprint.toString('hex')
      assert.equal(seen.get(hex), undefined, `${v.path} has the same fingerprint as ${String(seen.get(hex))}`)
      seen.set(hex, v.path)
      assert.equal(v.fingerprint.readBigUInt64LE(0), crc64Avro(Buffer.from(v.canonical)))
    }
  }
  assert.ok(seen.size >= topicNames.length)
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type avsc from 'avsc'
import { codecForVersion } from '../../src/codec.ts'
import { fixturePath, readFixture, toFixtureJson } from '../../src/fixtures.ts'
import { readGolden } from '../../src/golden.ts'
import { schemaVersions } from '../../src/registry.ts'
import { topicNames, topics } from '../../src/topics.ts'

// Generic over schemas/avro and schemas/fixtures: adding a schema version means adding
// <Record>.v<N>.avsc, fixtures/<Record>/v<N>.json, and running `npm run -w schemas pin:fixtures`.

interface Field { name: string, aliases: string[], type: avsc.Type, defaultValue: () => unknown }

function fixtureJson (topic: (typeof topicNames)[number], version: number): Record<string, unknown> {
  return JSON.parse(readFileSync(fixturePath(topic, version), 'utf8')) as Record<string, unknown>
}

/** What a reader of `reader` should see for a value written as `written` (top-level Avro resolution). */
function expectedAfterResolution (reader: avsc.Type, written: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const field of (reader as unknown as { fields: Field[] }).fields) {
    const source = [field.name, ...field.aliases].find((name) => Object.hasOwn(written, name))
    out[field.name] = source === undefined ? toFixtureJson(field.type, field.defaultValue()) : written[source]
  }
  return out
}

for (const topic of topicNames) {
  const versions = schemaVersions(topic)

  for (const version of versions) {
    test(`${topic} v${version.version}: fixture round-trips byte-exact and matches its golden encoding`, () => {
      const codec = codecForVersion(topic, version.version)
      const fixture = readFixture(topic, version.version)
      assert.deepEqual(codec.validate(fixture), [])
      const message = codec.encode(fixture)
      const decoded = codec.decode(message)
      assert.deepEqual(toFixtureJson(version.type, decoded), fixtureJson(topic, version.version), 'the fixture must spell out every field, as decode returns it')
      assert.deepEqual(codec.encode(decoded), message)
      const golden = readGolden(topic, version.version)
      assert.ok(golden !== undefined, `no golden encoding for ${version.path}: run npm run -w schemas pin:fixtures`)
      assert.equal(message.toString('hex'), golden.toString('hex'),
        `${version.path} no longer encodes its fixture as published; add a new version instead of editing this one`)
    })
  }

  if (versions.length > 1) {
    test(`${topic}: every version reads every other version's fixture (full compatibility)`, () => {
      for (const writer of versions) {
        const message = codecForVersion(topic, writer.version).encode(readFixture(topic, writer.version))
        for (const reader of versions) {
          const decoded = codecForVersion(topic, reader.version).decode(message)
          assert.deepEqual(toFixtureJson(reader.type, decoded), expectedAfterResolution(reader.type, fixtureJson(topic, writer.version)),
            `v${reader.version} reading v${writer.version}`)
        }
      }
    })
  }
}

test('fixture directories hold only files for known schema versions', () => {
  for (const topic of topicNames) {
    const versions = schemaVersions(topic)
    const dir = dirname(fixturePath(topic, 1))
    const expected = versions.flatMap((v) => [`v${v.version}.json`, `v${v.version}.hex`]).sort()
    assert.deepEqual(readdirSync(dir).sort(), expected, dir)
  }
})

test('raw flow v2 reads v1 data (CaptureType null), and a v1 reader still decodes v2 data', () => {
  const v1 = codecForVersion(topics.flowsRaw, 1)
  const v2 = codecForVersion(topics.flowsRaw, 2)
  const v1Flow = readFixture(topics.flowsRaw, 1) as Record<string, unknown>
  const v2Flow = readFixture(topics.flowsRaw, 2) as Record<string, unknown>

  const upgraded = v2.decode(v1.encode(v1Flow)) as Record<string, unknown>
  assert.equal(upgraded.CaptureType, null)
  assert.equal(upgraded.UUID, v1Flow.UUID)
  assert.deepEqual({ ...upgraded, CaptureType: undefined }, { ...v1Flow, CaptureType: undefined })

  const message = v2.encode(v2Flow)
  assert.equal(message.subarray(2, 10).toString('hex'), v2.fingerprint.toString('hex'))
  const downgraded = v1.decode(message) as Record<string, unknown>
  assert.equal('CaptureType' in downgraded, false)
  assert.equal(downgraded.UUID, v2Flow.UUID)
  assert.deepEqual((downgraded.ICMP as Record<string, unknown>).Type, 'ECHO')
  const { CaptureType, ...rest } = v2Flow
  assert.equal(CaptureType, 'afpacket')
  assert.deepEqual({ ...downgraded }, rest)
})

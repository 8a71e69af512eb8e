import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type avsc from 'avsc'
import { TopoflowError } from '@topoflow/core'
import { schemaVersions } from './registry.ts'
import type { TopicName } from './topics.ts'
import type { TopicValues } from './generated/types.ts'

/** Directory of the pinned samples, `schemas/fixtures/<Record>/v<N>.json`. */
export const fixturesDir = fileURLToPath(new URL('../fixtures/', import.meta.url))

type AnyType = avsc.Type & Record<string, unknown>

export function fixturePath (topic: TopicName, version: number): string {
  const versions = schemaVersions(topic)
  const v = versions.find((s) => s.version === version)
  if (v === undefined) throw new TopoflowError('TOPOFLOW_ERR_SCHEMA', `No version ${version} of ${topic}'s schema`)
  return `${fixturesDir}${v.name.slice(v.name.lastIndexOf('.') + 1)}/v${version}.json`
}

/**
 * The pinned sample of a topic's schema version (latest by default), as encode takes it. Fixture files
 * are plain JSON, so `bytes` fields hold base64 strings; they become Buffers here.
 */
export function readFixture<T extends TopicName> (topic: T): TopicValues[T]
export function readFixture (topic: TopicName, version: number): unknown
export function readFixture (topic: TopicName, version?: number): unknown {
  const versions = schemaVersions(topic)
  const schema = version === undefined ? versions[versions.length - 1] : versions.find((s) => s.version === version)
  if (schema === undefined) throw new TopoflowError('TOPOFLOW_ERR_SCHEMA', `No version ${String(version)} of ${topic}'s schema`)
  const path = fixturePath(topic, schema.version)
  return fromFixtureJson(schema.type, JSON.parse(readFileSync(path, 'utf8')))
}

/** JSON fixture value to the value encode takes: base64 strings to Buffers where the schema says bytes. */
export function fromFixtureJson (type: avsc.Type, json: unknown): unknown {
  return convert(type as AnyType, json, (s) => Buffer.from(s as string, 'base64'))
}

/** Decoded value back to fixture JSON: Buffers to base64, records to plain objects. */
export function toFixtureJson (type: avsc.Type, value: unknown): unknown {
  return convert(type as AnyType, value, (b) => (b as Buffer).toString('base64'))
}

function convert (type: AnyType, value: unknown, bytes: (v: unknown) => unknown): unknown {
  if (value === null || value === undefined) return value
  switch (type.typeName) {
    case 'bytes':
    case 'fixed':
      return bytes(value)
    case 'record':
    case 'error': {
      const out: Record<string, unknown> = {}
      for (const f of type.fields as Array<{ name: string, type: AnyType }>) {
        const v = (value as Record<string, unknown>)[f.name]
        if (v !== undefined) out[f.name] = convert(f.type, v, bytes)
      }
      return out
    }
    case 'array': return (value as unknown[]).map((v) => convert(type.itemsType as AnyType, v, bytes))
    case 'map':
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, convert(type.valuesType as AnyType, v, bytes)]))
    default:
      if (type.typeName.startsWith('union')) {
        // our unions are null plus one branch
        const branch = (type.types as AnyType[]).find((t) => t.typeName !== 'null')
        return branch === undefined ? value : convert(branch, value, bytes)
      }
      if (type.typeName === 'logical:json') return structuredClone(value)
      return value
  }
}

import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import avsc from 'avsc'
import { TopoflowError } from '@topoflow/core'
import { schemaFingerprint } from './crc64-avro.ts'
import { logicalTypes } from './json-type.ts'
import { topicTable } from './topics.ts'
import type { TopicName } from './topics.ts'

/** Directory of the `.avsc` files, `schemas/avro/`. */
export const avroDir = fileURLToPath(new URL('../avro/', import.meta.url))

/** A parsed `.avsc` file: `<domain>/<Record>.v<N>.avsc`. */
export interface SchemaFile {
  readonly version: number
  readonly path: string
  readonly schema: Record<string, unknown>
}

/** One version of a topic's value schema, compiled. */
export interface SchemaVersion extends SchemaFile {
  readonly topic: TopicName
  /** Full name of the record, e.g. `topoflow.flow.v1.Flow`. */
  readonly name: string
  readonly type: avsc.Type
  /** Avro parsing canonical form, what the fingerprint is computed over. */
  readonly canonical: string
  /** CRC-64-AVRO of `canonical`, 8 bytes little-endian. */
  readonly fingerprint: Buffer
}

/**
 * Every version of the schema stored as `schemas/avro/<file>.v<N>.avsc`, oldest first. Versions must
 * be numbered 1..N without holes, so adding a version is adding a file.
 */
export function readSchemaFiles (file: string): SchemaFile[] {
  const slash = file.lastIndexOf('/')
  const dir = join(avroDir, file.slice(0, slash))
  const base = file.slice(slash + 1)
  const pattern = new RegExp(`^${base}\\.v(\\d+)\\.avsc$`)
  const found: SchemaFile[] = []
  for (const entry of readdirSync(dir)) {
    const match = pattern.exec(entry)
    if (match === null) continue
    const path = join(dir, entry)
    let schema: unknown
    try {
      schema = JSON.parse(readFileSync(path, 'utf8'))
    } catch (err) {
      throw new TopoflowError('TOPOFLOW_ERR_SCHEMA', `Schema file ${path} is not valid JSON`, { cause: err })
    }
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
      throw new TopoflowError('TOPOFLOW_ERR_SCHEMA', `Schema file ${path} must hold a record schema object`)
    }
    found.push({ version: Number(match[1]), path, schema: schema as Record<string, unknown> })
  }
  found.sort((a, b) => a.version - b.version)
  found.forEach((f, i) => {
    if (f.version !== i + 1) {
      throw new TopoflowError('TOPOFLOW_ERR_SCHEMA', `Schema versions of ${file} must be v1..vN without holes, found v${f.version} at position ${i + 1}`)
    }
  })
  if (found.length === 0) throw new TopoflowError('TOPOFLOW_ERR_SCHEMA', `No schema file ${file}.v<N>.avsc under ${avroDir}`)
  return found
}

/** Compiles a schema with our logical types and the decode guards below. */
export function compileSchema (schema: unknown): avsc.Type {
  // A fresh options object per schema: avsc keeps named types in `registry`, and each file defines its own.
  const type = avsc.Type.forSchema(schema as avsc.Schema, {
    logicalTypes,
    assertLogicalTypes: true,
    typeHook: guardedTypes,
    omitRecordMethods: true,
    wrapUnions: false,
    registry: {}
  })
  prepare(type, String(type.name))
  return type
}

const cache = new Map<TopicName, readonly SchemaVersion[]>()

/** Every version of a topic's value schema, oldest first, compiled once. */
export function schemaVersions (topic: TopicName): readonly SchemaVersion[] {
  let versions = cache.get(topic)
  if (versions !== undefined) return versions
  const spec = topicTable[topic]
  versions = readSchemaFiles(spec.schema.file).map((file) => {
    let type: avsc.Type
    try {
      type = compileSchema(file.schema)
    } catch (err) {
      throw new TopoflowError('TOPOFLOW_ERR_SCHEMA', `Schema file ${file.path} is not a valid Avro schema: ${(err as Error).message}`, { cause: err })
    }
    if (type.name !== spec.schema.name) {
      throw new TopoflowError('TOPOFLOW_ERR_SCHEMA', `Schema file ${file.path} defines ${String(type.name)}, the topic table expects ${spec.schema.name}`)
    }
    const canonical = JSON.stringify(type.schema())
    return { ...file, topic, name: type.name, type, canonical, fingerprint: schemaFingerprint(canonical) }
  })
  cache.set(topic, versions)
  return versions
}

// --- Decode guards -------------------------------------------------------------------------------
// avsc trusts array and map block counts: a corrupt count of 2^40 makes it loop (and allocate) that
// many times before noticing the buffer ran out. Every item of our schemas takes at least one byte, so
// a count larger than the bytes left is corrupt; we check that before looping.

interface Tap {
  buf: Buffer
  pos: number
  readLong: () => number
  skipLong: () => void
  readString: () => string
  skipString: () => void
}

interface Reader {
  _read: (tap: Tap) => unknown
  _skip: (tap: Tap) => void
}

function readBlockCount (tap: Tap, skipping: boolean): number {
  let count = tap.readLong()
  if (count < 0) {
    count = -count
    const size = tap.readLong()
    if (size < 0) throw new RangeError(`negative block size ${size}`)
    if (skipping) {
      tap.pos += size
      return -1
    }
  }
  const left = tap.buf.length - tap.pos
  if (count > left) throw new RangeError(`block of ${count} items with only ${left} bytes left`)
  return count
}

function readArray (this: { itemsType: Reader }, tap: Tap): unknown[] {
  const out: unknown[] = []
  let count: number
  while ((count = readBlockCount(tap, false)) !== 0) {
    for (; count > 0; count--) out.push(this.itemsType._read(tap))
  }
  return out
}

function skipArray (this: { itemsType: Reader }, tap: Tap): void {
  let count: number
  while ((count = readBlockCount(tap, true)) !== 0) {
    for (; count > 0; count--) this.itemsType._skip(tap)
  }
}

function readMap (this: { valuesType: Reader }, tap: Tap): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  let count: number
  while ((count = readBlockCount(tap, false)) !== 0) {
    for (; count > 0; count--) {
      const key = tap.readString()
      out[key] = this.valuesType._read(tap)
    }
  }
  return out
}

function skipMap (this: { valuesType: Reader }, tap: Tap): void {
  let count: number
  while ((count = readBlockCount(tap, true)) !== 0) {
    for (; count > 0; count--) {
      tap.skipString()
      this.valuesType._skip(tap)
    }
  }
}

/** avsc's array type, reading through the guards. avsc freezes type instances, hence a subclass. */
class GuardedArrayType extends avsc.types.ArrayType {
  _read (tap: Tap): unknown[] { return readArray.call(this as unknown as { itemsType: Reader }, tap) }
  _skip (tap: Tap): void { skipArray.call(this as unknown as { itemsType: Reader }, tap) }
}

class GuardedMapType extends avsc.types.MapType {
  _read (tap: Tap): Record<string, unknown> { return readMap.call(this as unknown as { valuesType: Reader }, tap) }
  _skip (tap: Tap): void { skipMap.call(this as unknown as { valuesType: Reader }, tap) }
}

function guardedTypes (schema: avsc.Schema, opts: unknown): avsc.Type | undefined {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return undefined
  const kind = (schema as { type?: unknown }).type
  if (kind === 'array') return new GuardedArrayType(schema, opts)
  if (kind === 'map') return new GuardedMapType(schema, opts)
  return undefined
}

type AnyType = avsc.Type & Record<string, unknown>

/** Smallest number of bytes a value of `type` can encode to. */
function minSize (type: AnyType): number {
  switch (type.typeName) {
    case 'null': return 0
    case 'fixed': return type.size as number
    case 'record':
    case 'error':
      return (type.fields as Array<{ type: AnyType }>).reduce((sum, f) => sum + minSize(f.type), 0)
    default:
      if (type.typeName.startsWith('logical')) return minSize(type.underlyingType as AnyType)
      return 1
  }
}

/** Calls `fn` on `root` and every type inside it, once each. */
function forEachType (root: avsc.Type, fn: (type: AnyType) => void): void {
  const seen = new Set<avsc.Type>()
  const visit = (type: AnyType): void => {
    if (seen.has(type)) return
    seen.add(type)
    fn(type)
    const kids: avsc.Type[] = type.typeName === 'record' || type.typeName === 'error'
      ? (type.fields as Array<{ type: avsc.Type }>).map((f) => f.type)
      : type.typeName === 'array'
        ? [type.itemsType as avsc.Type]
        : type.typeName === 'map'
          ? [type.valuesType as avsc.Type]
          : type.typeName.startsWith('union')
            ? type.types as avsc.Type[]
            : type.typeName.startsWith('logical') ? [type.underlyingType as avsc.Type] : []
    for (const kid of kids) visit(kid as AnyType)
  }
  visit(root as AnyType)
}

function prepare (root: avsc.Type, path: string): void {
  forEachType(root, (type) => {
    // The guards above assume every array item takes a byte; refuse schemas where it would not.
    if (type.typeName === 'array' && minSize(type.itemsType as AnyType) === 0) {
      throw new TopoflowError('TOPOFLOW_ERR_SCHEMA', `${path}: arrays of zero-byte items (null, empty records) are not supported`)
    }
    // avsc builds decoded records with a generated class; giving that class Object.prototype makes them
    // plain objects, so consumers can deepStrictEqual, spread and serialize them like any other.
    if (type.typeName === 'record') (type.recordConstructor as { prototype: object }).prototype = Object.prototype
  })
}

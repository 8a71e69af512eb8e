import type avsc from 'avsc'

type AnyType = avsc.Type & Record<string, unknown>

/** Short human description of what an Avro type accepts, for error messages. */
export function describeType (type: avsc.Type): string {
  const t = type as AnyType
  if (t.typeName === 'logical:json') return 'a JSON object'
  if (t.typeName === 'enum') return `one of ${(t.symbols as string[]).join('|')}`
  if (t.typeName === 'record' || t.typeName === 'error') return `record ${String(t.name)}`
  if (t.typeName.startsWith('union')) return (t.types as avsc.Type[]).map(describeType).join(' or ')
  if (t.typeName.startsWith('logical')) return describeType(t.underlyingType as avsc.Type)
  if (t.typeName === 'long' || t.typeName === 'int') return `${t.typeName} (safe integer)`
  return t.typeName
}

/** Short description of a JS value, without dumping big objects into logs. */
export function describeValue (value: unknown): string {
  if (value === undefined) return 'nothing (field missing)'
  if (value === null) return 'null'
  if (typeof value === 'string') return value.length > 40 ? `string ${JSON.stringify(value.slice(0, 40))}...` : `string ${JSON.stringify(value)}`
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`
  if (Buffer.isBuffer(value)) return `Buffer of ${value.length} bytes`
  if (Array.isArray(value)) return `array of ${value.length}`
  return typeof value
}

/** One validation error: `Metric.ABBytes: expected long (safe integer), got string "12"`. */
export function formatError (path: readonly string[], value: unknown, type: avsc.Type): string {
  const where = path.length === 0 ? '(value)' : path.join('.')
  const t = type as AnyType
  if ((t.typeName === 'record' || t.typeName === 'error') && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const declared = new Set((t.fields as Array<{ name: string }>).map((f) => f.name))
    const extra = Object.keys(value).filter((k) => !declared.has(k))
    if (extra.length > 0) return `${where}: undeclared field${extra.length > 1 ? 's' : ''} ${extra.join(', ')} in record ${String(t.name)}`
  }
  return `${where}: expected ${describeType(type)}, got ${describeValue(value)}`
}

import avsc from 'avsc'

/**
 * Avro `string` annotated `"logicalType": "json"`: a JSON object on the wire, a plain object in
 * TypeScript. Skydive's Metadata and the raw Kubernetes objects are arbitrary nested JSON; carrying them
 * as a string keeps the Avro schema stable while any consumer can still read them.
 */
export class JsonObjectType extends avsc.types.LogicalType {
  protected override _fromValue (text: string): Record<string, unknown> {
    const value: unknown = JSON.parse(text)
    if (!isJsonObject(value)) throw new Error(`expected a JSON object, got ${describeJson(value)}`)
    return value
  }

  protected override _toValue (value: unknown): string | undefined {
    // undefined tells avsc the value is invalid, so the error hook reports this field's path
    if (!isJsonObject(value)) return undefined
    return JSON.stringify(value)
  }

  protected override _resolve (writer: avsc.Type): ((text: string) => Record<string, unknown>) | undefined {
    if (avsc.Type.isType(writer, 'string', 'logical:json')) return (text) => this._fromValue(text)
    return undefined
  }
}

function isJsonObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value)
}

function describeJson (value: unknown): string {
  if (value === null) return 'null'
  return Array.isArray(value) ? 'an array' : typeof value
}

export const logicalTypes = { json: JsonObjectType }

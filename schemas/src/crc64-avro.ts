/**
 * CRC-64-AVRO, the Rabin fingerprint the Avro spec uses for schema fingerprints
 * ("Schema Fingerprints" in the Avro specification). Returned as the 8 little-endian
 * bytes that the single-object encoding puts after its magic.
 */

const empty = 0xc15d213aa4d7a795n
const mask64 = 0xffffffffffffffffn

const table: bigint[] = Array.from({ length: 256 }, (_, i) => {
  let fp = BigInt(i)
  for (let bit = 0; bit < 8; bit++) fp = (fp >> 1n) ^ (empty & -(fp & 1n))
  return fp & mask64
})

/** Fingerprint of `bytes` as an unsigned 64-bit integer. */
export function crc64Avro (bytes: Uint8Array): bigint {
  let fp = empty
  for (const byte of bytes) fp = (fp >> 8n) ^ (table[Number((fp ^ BigInt(byte)) & 0xffn)] as bigint)
  return fp
}

/** Fingerprint of a schema's parsing canonical form, as 8 little-endian bytes. */
export function schemaFingerprint (canonicalForm: string): Buffer {
  const out = Buffer.alloc(8)
  out.writeBigUInt64LE(crc64Avro(Buffer.from(canonicalForm, 'utf8')))
  return out
}

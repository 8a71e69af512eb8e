import type { TopoflowError } from '@topoflow/core'
import type { DeadLetter as DeadLetterRecord } from '@topoflow/schemas'

/** Header names on every dead-lettered message, so operators can filter without decoding. */
export const deadLetterHeaders = {
  errorCode: 'topoflow-error-code',
  errorStage: 'topoflow-error-stage',
  originalTopic: 'topoflow-original-topic',
  originalPartition: 'topoflow-original-partition',
  originalOffset: 'topoflow-original-offset'
} as const

/** The message as it came off the wire, before any decoding. */
export interface RawMessage {
  topic: string
  partition: number
  offset: string
  key: Buffer | null
  value: Buffer | null
  headers: Record<string, string>
}

/** The value on `topoflow.dlq.v1`. */
export type DeadLetterValue = DeadLetterRecord

export interface DeadLetter {
  key: string | null
  value: DeadLetterValue
  headers: Record<string, string>
}

/**
 * Builds the dead-letter message for one raw message: its bytes untouched, the error in the value and
 * in headers, the original headers kept (ours win on a clash).
 */
export function deadLetterFor (raw: RawMessage, error: TopoflowError, stage: string, now: number): DeadLetter {
  return {
    key: raw.key === null ? null : raw.key.toString('utf8'),
    value: {
      OriginalTopic: raw.topic,
      OriginalPartition: raw.partition,
      OriginalOffset: Number(raw.offset),
      OriginalKey: raw.key,
      OriginalValue: raw.value ?? Buffer.alloc(0),
      ErrorCode: error.code,
      ErrorMessage: error.message,
      Stage: stage,
      Time: now
    },
    headers: {
      ...raw.headers,
      [deadLetterHeaders.errorCode]: error.code,
      [deadLetterHeaders.errorStage]: stage,
      [deadLetterHeaders.originalTopic]: raw.topic,
      [deadLetterHeaders.originalPartition]: String(raw.partition),
      [deadLetterHeaders.originalOffset]: raw.offset
    }
  }
}

/** kafkajs hands headers as Buffers (or arrays of them); the bus speaks strings. */
export function headersToStrings (headers: Record<string, Buffer | string | Array<Buffer | string> | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  if (headers === undefined) return out
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    const last = Array.isArray(value) ? value[value.length - 1] : value
    if (last !== undefined) out[name] = last.toString()
  }
  return out
}

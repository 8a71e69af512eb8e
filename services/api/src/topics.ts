import { topics } from '@topoflow/schemas'

/** The topics the API reads and writes. */
export const apiTopics = {
  topologyChanges: topics.topologyChanges,
  topologyEvents: topics.topologyEvents,
  resources: topics.resources,
  captureStatus: topics.captureStatus
} as const

/** Fields declared as Avro `json` strings may reach us as text when a codec does not parse them. */
export function asObject (value: unknown): Record<string, unknown> | undefined {
  if (typeof value === 'string') {
    try {
      const parsed: unknown = JSON.parse(value)
      return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed as Record<string, unknown> : undefined
    } catch {
      return undefined
    }
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined
}

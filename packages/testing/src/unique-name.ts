import { randomUUID } from 'node:crypto'
import { TopoflowError } from '@topoflow/core'

// Valid in a Kafka topic, a consumer group and an OpenSearch index name (which must be lowercase).
const kindPattern = /^[a-z0-9][a-z0-9._-]*$/

/** A name no other test run uses: `test-<kind>-<uuid>`, for topics, groups and indices. */
export function uniqueName (kind: string): string {
  if (typeof kind !== 'string' || !kindPattern.test(kind)) {
    throw new TopoflowError('TOPOFLOW_ERR_INVALID_REQUEST',
      `uniqueName: kind must be lowercase letters, digits, '.', '_' or '-' and start with a letter or digit, got ${JSON.stringify(kind)}`)
  }
  return `test-${kind}-${randomUUID()}`
}

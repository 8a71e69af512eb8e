/**
 * Index names. Everything hangs off one prefix (default `topoflow`) so that tests, or two
 * deployments sharing a cluster, never touch each other's indices or templates.
 */
export interface IndexNames {
  readonly prefix: string
  /** `<prefix>-flows-YYYY.MM.DD` of the day (UTC) of `time`. */
  flows(time: number): string
  /** `<prefix>-flowmetrics-YYYY.MM.DD`. */
  flowMetrics(time: number): string
  /** `<prefix>-topology-live`, one index for the current revision of every element. */
  readonly topologyLive: string
  /** `<prefix>-topology-archive-YYYY.MM` of the month (UTC) the revision was archived. */
  topologyArchive(time: number): string
  /** Wildcard patterns, for templates and searches. */
  readonly patterns: { flows: string, flowMetrics: string, topologyLive: string, topologyArchive: string }
}

export const defaultIndexPrefix = 'topoflow'

export function indexNames (prefix: string = defaultIndexPrefix): IndexNames {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(prefix)) {
    throw new RangeError(`Index prefix must be lowercase letters, digits, '.', '_' or '-', got ${JSON.stringify(prefix)}`)
  }
  return {
    prefix,
    flows: (time) => `${prefix}-flows-${day(time)}`,
    flowMetrics: (time) => `${prefix}-flowmetrics-${day(time)}`,
    topologyLive: `${prefix}-topology-live`,
    topologyArchive: (time) => `${prefix}-topology-archive-${month(time)}`,
    patterns: {
      flows: `${prefix}-flows-*`,
      flowMetrics: `${prefix}-flowmetrics-*`,
      topologyLive: `${prefix}-topology-live`,
      topologyArchive: `${prefix}-topology-archive-*`
    }
  }
}

function utc (time: number): Date {
  const date = new Date(time)
  if (Number.isNaN(date.getTime())) throw new RangeError(`Not a time in ms: ${time}`)
  return date
}

const pad = (n: number): string => String(n).padStart(2, '0')

function day (time: number): string {
  const d = utc(time)
  return `${d.getUTCFullYear()}.${pad(d.getUTCMonth() + 1)}.${pad(d.getUTCDate())}`
}

function month (time: number): string {
  const d = utc(time)
  return `${d.getUTCFullYear()}.${pad(d.getUTCMonth() + 1)}`
}

/** The day or month a dated index name stands for (UTC ms at its start), or null for other names. */
export function indexDate (name: string): number | null {
  const m = /-(\d{4})\.(\d{2})(?:\.(\d{2}))?$/.exec(name)
  if (m === null) return null
  const time = Date.UTC(Number(m[1]), Number(m[2]) - 1, m[3] === undefined ? 1 : Number(m[3]))
  return Number.isNaN(time) ? null : time
}

import { pino, type Logger, type LoggerOptions } from 'pino'

export type { Logger }

/**
 * Creates the root logger. Only entry points call this; components receive `logger.child({ component })`.
 * Logs are JSON on stdout (or on `destination` when given, e.g. stderr for CLI commands whose stdout is data).
 */
export function createLogger (opts: { level?: string, name?: string, destination?: number } = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    base: { service: opts.name ?? 'topoflow' },
    timestamp: pino.stdTimeFunctions.isoTime
  }
  return pino(options, pino.destination(opts.destination ?? 1))
}

/**
 * The logger of a part of a program: `component: name` under a logger without one, else `module:
 * name` (pino repeats a key bound twice in every line, e.g. a Kafka subscription inside the bus).
 */
export function partLogger (parent: Logger, name: string, bindings: Record<string, unknown> = {}): Logger {
  return parent.child({ [parent.bindings().component === undefined ? 'component' : 'module']: name, ...bindings })
}

/** A logger that discards everything, for tests and library defaults. */
export function silentLogger (): Logger {
  return pino({ level: 'silent' })
}

/** A logger that keeps every record it writes, parsed, in `records` (for tests that check what is logged). */
export function recordingLogger (level = 'info'): { logger: Logger, records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = []
  const logger = pino({ level }, { write: (line: string) => { records.push(JSON.parse(line) as Record<string, unknown>) } })
  return { logger, records }
}

import type { Logger } from '@topoflow/core'
import type { LogEntry, logCreator, logLevel } from 'kafkajs'

// kafkajs's numeric levels (its `logLevel` enum), spelled out so this module stays type-only on kafkajs.
const kafkaLevels = { NOTHING: 0, ERROR: 1, WARN: 2, INFO: 4, DEBUG: 5 } as const

type PinoMethod = 'error' | 'warn' | 'info' | 'debug'

/** The pino method for a kafkajs level. */
export function pinoMethodFor (level: number): PinoMethod {
  if (level <= kafkaLevels.ERROR) return 'error'
  if (level === kafkaLevels.WARN) return 'warn'
  if (level === kafkaLevels.INFO) return 'info'
  return 'debug'
}

/** The kafkajs level matching a pino level, so one setting governs both. */
export function kafkaLevelFor (pinoLevel: string): logLevel {
  switch (pinoLevel) {
    case 'silent': return kafkaLevels.NOTHING as logLevel
    case 'fatal':
    case 'error': return kafkaLevels.ERROR as logLevel
    case 'warn': return kafkaLevels.WARN as logLevel
    case 'info': return kafkaLevels.INFO as logLevel
    default: return kafkaLevels.DEBUG as logLevel
  }
}

/**
 * A kafkajs `logCreator` writing into a pino child (`component: 'kafkajs'`), so Kafka client logs share
 * the service's stream and level. kafkajs's namespace goes in a field; its extra fields are kept.
 */
export function pinoLogCreator (logger: Logger): logCreator {
  const child = logger.child({ component: 'kafkajs' })
  return () => (entry: LogEntry) => {
    const { message, timestamp: _timestamp, ...extra } = entry.log
    child[pinoMethodFor(entry.level)]({ namespace: entry.namespace, ...extra }, message)
  }
}

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { partLogger, recordingLogger } from '../../src/index.ts'

/** The raw JSON lines of a logger, to see repeated keys (JSON.parse keeps only the last). */
function rawLines (): { lines: string[], write: (line: string) => void } {
  const lines: string[] = []
  return { lines, write: (line) => { lines.push(line) } }
}

test('partLogger: a component at the top, a module inside one, and no key twice in a line', () => {
  const sink = rawLines()
  const root = pino({ level: 'info' }, sink)
  const capture = partLogger(root, 'capture')
  const topology = partLogger(capture, 'topology')
  const subscription = partLogger(partLogger(root, 'kafka-bus'), 'kafka-subscription', { group: 'g1' })
  capture.info('a'); topology.info('b'); subscription.info('c')
  const parsed = sink.lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  assert.deepEqual(parsed.map((p) => [p.component, p.module, p.group]), [['capture', undefined, undefined], ['capture', 'topology', undefined], ['kafka-bus', 'kafka-subscription', 'g1']])
  for (const line of sink.lines) assert.equal((line.match(/"component":/g) ?? []).length, 1, line)
})

test('recordingLogger keeps each record parsed', () => {
  const { logger, records } = recordingLogger()
  logger.info({ n: 1 }, 'one')
  logger.debug('not kept at info')
  assert.deepEqual(records.map((r) => [r.msg, r.n]), [['one', 1]])
})

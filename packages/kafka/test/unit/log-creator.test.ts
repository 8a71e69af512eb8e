import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { kafkaLevelFor, pinoLogCreator, pinoMethodFor } from '../../src/log-creator.ts'

test('kafkajs levels map onto pino methods and back', () => {
  assert.equal(pinoMethodFor(1), 'error')
  assert.equal(pinoMethodFor(2), 'warn')
  assert.equal(pinoMethodFor(4), 'info')
  assert.equal(pinoMethodFor(5), 'debug')
  assert.equal(kafkaLevelFor('silent'), 0)
  assert.equal(kafkaLevelFor('error'), 1)
  assert.equal(kafkaLevelFor('warn'), 2)
  assert.equal(kafkaLevelFor('info'), 4)
  assert.equal(kafkaLevelFor('debug'), 5)
  assert.equal(kafkaLevelFor('trace'), 5)
})

test('kafkajs log entries land in the pino stream with namespace and extra fields', () => {
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({ write (chunk, _enc, cb) { lines.push(JSON.parse(String(chunk))); cb() } })
  const log = pinoLogCreator(pino({ level: 'debug' }, sink))(4)
  log({ namespace: 'Consumer', level: 2, label: 'WARN', log: { timestamp: 'now', message: 'Group rebalancing', groupId: 'g1' } })
  assert.equal(lines.length, 1)
  assert.equal(lines[0]!.msg, 'Group rebalancing')
  assert.equal(lines[0]!.level, 40)
  assert.equal(lines[0]!.namespace, 'Consumer')
  assert.equal(lines[0]!.groupId, 'g1')
  assert.equal(lines[0]!.component, 'kafkajs')
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { infraScriptsDir, scriptOutputValue, tail } from '../../src/infra-scripts.ts'

test('the infra scripts are where the resolver runs them', () => {
  for (const script of ['fetch.sh', 'kafka.sh', 'opensearch.sh', 'up.sh', 'down.sh']) {
    assert.ok(existsSync(`${infraScriptsDir}${script}`), `${script} in ${infraScriptsDir}`)
  }
})

test('scriptOutputValue reads the NAME=value lines the scripts print', () => {
  const stdout = 'KAFKA_BROKERS=127.0.0.1:9092\nALREADY_RUNNING=1\n'
  assert.equal(scriptOutputValue(stdout, 'KAFKA_BROKERS'), '127.0.0.1:9092')
  assert.equal(scriptOutputValue(stdout, 'ALREADY_RUNNING'), '1')
  assert.equal(scriptOutputValue(stdout, 'OPENSEARCH_URL'), undefined)
  assert.equal(scriptOutputValue('', 'KAFKA_BROKERS'), undefined)
})

test('tail keeps the last lines, without the scripts\' timestamps', () => {
  assert.equal(tail('a\nb\nc\nd\n', 2), 'c\nd')
  assert.equal(tail('only'), 'only')
  assert.equal(tail('[infra 20:38:05] ERROR: no Java 17 at /x\n'), 'ERROR: no Java 17 at /x')
})

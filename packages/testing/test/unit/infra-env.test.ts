import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TopoflowError } from '@topoflow/core'
import { infraRequired, parseKafkaBrokers, parseOpenSearchUrl } from '../../src/index.ts'

const infraError = (pattern: RegExp) => (err: unknown): boolean =>
  TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_INFRA' && pattern.test(err.message)

test('parseKafkaBrokers splits, trims and keeps order', () => {
  assert.deepEqual(parseKafkaBrokers('127.0.0.1:9092'), ['127.0.0.1:9092'])
  assert.deepEqual(parseKafkaBrokers(' kafka-1:9092, kafka-2:19092 ,'), ['kafka-1:9092', 'kafka-2:19092'])
  assert.deepEqual(parseKafkaBrokers('[::1]:9092'), ['[::1]:9092'])
})

test('parseKafkaBrokers treats unset or blank as absent', () => {
  assert.equal(parseKafkaBrokers(undefined), undefined)
  assert.equal(parseKafkaBrokers('  '), undefined)
})

test('parseKafkaBrokers rejects what is not host:port', () => {
  assert.throws(() => parseKafkaBrokers('localhost'), infraError(/KAFKA_BROKERS: "localhost" is not host:port/))
  assert.throws(() => parseKafkaBrokers('http://x:9092'), infraError(/is not host:port/))
  assert.throws(() => parseKafkaBrokers('a:9092,b:99999'), infraError(/"b:99999"/))
  assert.throws(() => parseKafkaBrokers('a:0'), infraError(/"a:0"/))
})

test('parseOpenSearchUrl normalizes and drops the trailing slash', () => {
  assert.equal(parseOpenSearchUrl('http://127.0.0.1:9200'), 'http://127.0.0.1:9200')
  assert.equal(parseOpenSearchUrl('https://search.local:9200/'), 'https://search.local:9200')
  assert.equal(parseOpenSearchUrl(' http://h:9200/prefix/ '), 'http://h:9200/prefix')
  assert.equal(parseOpenSearchUrl(''), undefined)
  assert.equal(parseOpenSearchUrl(undefined), undefined)
})

test('parseOpenSearchUrl rejects non-URLs and other schemes', () => {
  assert.throws(() => parseOpenSearchUrl('127.0.0.1:9200x'), infraError(/OPENSEARCH_URL: .* is not a URL|must be http/))
  assert.throws(() => parseOpenSearchUrl('not a url'), infraError(/is not a URL/))
  assert.throws(() => parseOpenSearchUrl('ftp://h:9200'), infraError(/must be http:\/\/ or https:\/\//))
})

test('infraRequired reads TOPOFLOW_REQUIRE_INFRA', () => {
  assert.equal(infraRequired({ TOPOFLOW_REQUIRE_INFRA: '1' }), true)
  assert.equal(infraRequired({ TOPOFLOW_REQUIRE_INFRA: 'true' }), true)
  assert.equal(infraRequired({ TOPOFLOW_REQUIRE_INFRA: '0' }), false)
  assert.equal(infraRequired({}), false)
})

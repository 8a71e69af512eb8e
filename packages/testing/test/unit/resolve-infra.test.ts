import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TopoflowError } from '@topoflow/core'
import { infraUnavailableReason, resolveInfra } from '../../src/index.ts'

// Only the paths that touch no server: the environment, and a Docker socket that does not exist.

test('resolveInfra takes KAFKA_BROKERS and OPENSEARCH_URL as they are', async () => {
  const infra = await resolveInfra({ env: { KAFKA_BROKERS: 'k1:9092,k2:9092', OPENSEARCH_URL: 'http://os:9200/' } })
  assert.deepEqual(infra, { kafkaBrokers: ['k1:9092', 'k2:9092'], opensearchUrl: 'http://os:9200' })
})

test('resolveInfra gives null and a skip reason when nothing is found', async () => {
  const infra = await resolveInfra({ env: {}, strategies: ['env'] })
  assert.equal(infra, null)
  assert.equal(infraUnavailableReason(), 'no Kafka or OpenSearch: env: KAFKA_BROKERS and OPENSEARCH_URL unset')
})

test('resolveInfra names only the missing service', async () => {
  const infra = await resolveInfra({ env: { KAFKA_BROKERS: '127.0.0.1:9092' }, strategies: ['env'] })
  assert.equal(infra, null)
  assert.match(infraUnavailableReason() ?? '', /^no OpenSearch: env: OPENSEARCH_URL unset$/)
})

test('resolveInfra says which Docker engine it asked', async () => {
  const infra = await resolveInfra({ env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' }, strategies: ['env', 'docker'] })
  assert.equal(infra, null)
  assert.match(infraUnavailableReason() ?? '', /docker: no engine answers at unix:\/\/\/nonexistent\/docker\.sock/)
})

test('resolveInfra throws TOPOFLOW_ERR_INFRA instead of skipping when TOPOFLOW_REQUIRE_INFRA=1', async () => {
  await assert.rejects(resolveInfra({ env: { TOPOFLOW_REQUIRE_INFRA: '1' }, strategies: ['env'] }), (err: unknown) => {
    assert.ok(TopoflowError.is(err))
    assert.equal(err.code, 'TOPOFLOW_ERR_INFRA')
    assert.match(err.message, /^no Kafka or OpenSearch: env: KAFKA_BROKERS and OPENSEARCH_URL unset\. TOPOFLOW_REQUIRE_INFRA=1 forbids skipping/)
    assert.match(err.message, /scripts\/infra\/up\.sh/)
    return true
  })
})

test('resolveInfra rejects a malformed KAFKA_BROKERS even when infra is optional', async () => {
  await assert.rejects(resolveInfra({ env: { KAFKA_BROKERS: 'nonsense', OPENSEARCH_URL: 'http://os:9200' } }),
    (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_INFRA' && /KAFKA_BROKERS/.test(err.message))
})

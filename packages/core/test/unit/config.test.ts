import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { loadConfig, parseListen, TopoflowError } from '@topoflow/core'

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/config/${name}`, import.meta.url))

test('defaults fill an empty config', () => {
  const c = loadConfig({ env: {} })
  assert.equal(c.analyzer.listen, '0.0.0.0:8082')
  assert.equal(c.flow.expire, 600)
  assert.equal(c.flow.update, 60)
  assert.equal(c.flow.max_entries, 500000)
  assert.ok(c.host_id.length > 0)
})

test('a skydive.yml-shaped file loads with its values', () => {
  const c = loadConfig({ file: fixture('skydive-like.yml'), env: {} })
  assert.equal(c.host_id, 'node-1')
  assert.equal(c.analyzer.listen, '127.0.0.1:18082')
  assert.equal(c.analyzer.startup.capture_bpf, 'port 80')
  assert.equal(c.analyzer.topology.fabric.length, 2)
  assert.deepEqual(c.auth.mybasic, { type: 'basic', users: { admin: 'password' } })
  assert.equal(c.agent.metadata.info, 'This is compute node')
})

test('a bad file lists every error with its path', () => {
  let err: unknown
  try { loadConfig({ file: fixture('typo.yml'), env: {} }) } catch (e) { err = e }
  assert.ok(TopoflowError.is(err))
  assert.equal(err.code, 'TOPOFLOW_ERR_CONFIG')
  assert.match(err.message, /analyzer\.listne: unknown key/)
  assert.match(err.message, /flow\.expire: must be integer/)
  assert.match(err.message, /flow\.default_layer_key_mode: must be one of L2, L3/)
  assert.equal((err.context.problems as string[]).length, 3)
})

test('environment overrides win over the file, with types coerced', () => {
  const c = loadConfig({
    file: fixture('skydive-like.yml'),
    env: { TOPOFLOW_ANALYZER_LISTEN: '0.0.0.0:9999', TOPOFLOW_FLOW_EXPIRE: '30', KAFKA_BROKERS: 'a:9092, b:9092', TOPOFLOW_HOST_ID: 'h2' }
  })
  assert.equal(c.analyzer.listen, '0.0.0.0:9999')
  assert.equal(c.flow.expire, 30)
  assert.deepEqual(c.kafka.brokers, ['a:9092', 'b:9092'])
  assert.equal(c.host_id, 'h2')
})

test('a wrongly typed environment override is reported like a file error', () => {
  assert.throws(() => loadConfig({ env: { TOPOFLOW_FLOW_UPDATE: 'soon' } }), /flow\.update: must be integer/)
})

test('unreadable and non-YAML files fail clearly', () => {
  assert.throws(() => loadConfig({ file: '/nonexistent/topoflow.yml' }), /Cannot read config file/)
})

test('parseListen', () => {
  assert.deepEqual(parseListen('127.0.0.1:8082'), { host: '127.0.0.1', port: 8082 })
  assert.deepEqual(parseListen(':8082'), { host: '0.0.0.0', port: 8082 })
  assert.deepEqual(parseListen('[::1]:80'), { host: '::1', port: 80 })
  assert.throws(() => parseListen('host:99999'), /port from 0 to 65535/)
})

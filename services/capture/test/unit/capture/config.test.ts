import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loadConfig } from '@topoflow/core'
import { defaultRuntimeConfig, runtimeConfig } from '../../../src/capture/config.ts'

/** The capture agent's key for socket scans on new connections (wired in app.ts). */

test('agent.topology.socketinfo.on_connect_min_interval: 0.5 s by default, any non-negative number of seconds, from the file or the environment', () => {
  assert.equal(loadConfig().agent.topology.socketinfo.on_connect_min_interval, 0.5)
  assert.equal(loadConfig().agent.topology.socketinfo.host_update, 10)
  assert.equal(loadConfig({ overrides: { 'agent.topology.socketinfo.on_connect_min_interval': 0 } }).agent.topology.socketinfo.on_connect_min_interval, 0)
  assert.equal(loadConfig({ overrides: { 'agent.topology.socketinfo.on_connect_min_interval': 1.5 } }).agent.topology.socketinfo.on_connect_min_interval, 1.5)
  const fromEnv = loadConfig({ env: { TOPOFLOW_AGENT_TOPOLOGY_SOCKETINFO_ON_CONNECT_MIN_INTERVAL: '0.05' } })
  assert.equal(fromEnv.agent.topology.socketinfo.on_connect_min_interval, 0.05)
})

test('a negative or non-numeric on_connect_min_interval fails at start with its path', () => {
  assert.throws(() => loadConfig({ overrides: { 'agent.topology.socketinfo.on_connect_min_interval': -1 } }),
    /agent\.topology\.socketinfo\.on_connect_min_interval: must be >= 0/)
  assert.throws(() => loadConfig({ env: { TOPOFLOW_AGENT_TOPOLOGY_SOCKETINFO_ON_CONNECT_MIN_INTERVAL: 'soon' } }),
    /agent\.topology\.socketinfo\.on_connect_min_interval: must be number/)
})

test('agent.capture.buffer_timeout_ms: 10 ms by default, 0 for immediate mode, reaches the capture runtime; a negative one fails at start', () => {
  assert.equal(loadConfig().agent.capture.buffer_timeout_ms, 10)
  assert.equal(runtimeConfig(loadConfig()).bufferTimeoutMs, 10)
  assert.equal(defaultRuntimeConfig.bufferTimeoutMs, 10)
  assert.equal(runtimeConfig(loadConfig({ overrides: { 'agent.capture.buffer_timeout_ms': 0 } })).bufferTimeoutMs, 0)
  assert.equal(runtimeConfig(loadConfig({ env: { TOPOFLOW_AGENT_CAPTURE_BUFFER_TIMEOUT_MS: '50' } })).bufferTimeoutMs, 50)
  assert.throws(() => loadConfig({ overrides: { 'agent.capture.buffer_timeout_ms': -1 } }), /agent\.capture\.buffer_timeout_ms: must be >= 0/)
})

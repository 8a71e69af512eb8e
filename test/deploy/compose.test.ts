import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

const root = fileURLToPath(new URL('../..', import.meta.url))

test('docker-compose.yml validates and every service has a healthcheck', () => {
  // Debian's docker-compose validates and normalizes the file without a Docker engine.
  const normalized = execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: root, encoding: 'utf8' })
  const services = (parse(normalized) as { services: Record<string, { healthcheck?: { test?: unknown } }> }).services
  assert.deepEqual(Object.keys(services).sort(), ['api', 'capture', 'dashboards', 'enricher', 'graph-builder', 'kafka', 'opensearch'])
  for (const [name, svc] of Object.entries(services)) {
    assert.ok(svc.healthcheck?.test !== undefined, `${name} has no healthcheck`)
  }
})

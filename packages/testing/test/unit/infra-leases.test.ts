import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isStartedByTests, markStartedByTests, releaseLease, takeLease } from '../../src/infra-leases.ts'

function withCache (body: (env: NodeJS.ProcessEnv, dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'topoflow-leases-'))
  try {
    body({ TOPOFLOW_INFRA_CACHE: dir }, dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

// A pid that surely belongs to no process: one that just exited.
function deadPid (): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  return Number(child.stdout)
}

test('the last lease holder gets the servers tests started, and only those', () => {
  withCache((env) => {
    takeLease(env)
    markStartedByTests(env, 'kafka')
    assert.deepEqual(releaseLease(env), ['kafka'])
    assert.equal(isStartedByTests(env, 'kafka'), false, 'the marker goes with the stop')
    assert.equal(isStartedByTests(env, 'opensearch'), false)
  })
})

test('no one stops servers while another live process holds a lease', () => {
  withCache((env) => {
    const other = process.ppid
    takeLease(env)
    takeLease(env, other)
    markStartedByTests(env, 'kafka')
    markStartedByTests(env, 'opensearch')
    assert.deepEqual(releaseLease(env), [])
    assert.equal(isStartedByTests(env, 'kafka'), true)
    assert.deepEqual(releaseLease(env, other), ['kafka', 'opensearch'])
  })
})

test('leases of dead processes are swept and do not hold servers up', () => {
  withCache((env, dir) => {
    const dead = deadPid()
    takeLease(env, dead)
    takeLease(env)
    markStartedByTests(env, 'opensearch')
    assert.deepEqual(releaseLease(env), ['opensearch'])
    assert.deepEqual(readdirSync(join(dir, 'run', 'leases')), [])
  })
})

test('servers started by hand (no marker) are never handed out to stop', () => {
  withCache((env, dir) => {
    takeLease(env)
    assert.deepEqual(releaseLease(env), [])
    assert.equal(existsSync(join(dir, 'run', 'leases', String(process.pid))), false)
  })
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dockerEndpoints, dockerPing } from '../../src/index.ts'

test('dockerEndpoints follows DOCKER_HOST', () => {
  assert.deepEqual(dockerEndpoints({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' }), [{ socketPath: '/run/user/1000/docker.sock' }])
  assert.deepEqual(dockerEndpoints({ DOCKER_HOST: 'tcp://10.0.0.5:2375' }), [{ host: '10.0.0.5', port: 2375 }])
  assert.deepEqual(dockerEndpoints({ DOCKER_HOST: 'ssh://me@host' }), [])
})

test('dockerEndpoints without DOCKER_HOST tries the usual sockets, system one first', () => {
  assert.deepEqual(dockerEndpoints({ HOME: '/home/me', XDG_RUNTIME_DIR: '/run/user/1000' }), [
    { socketPath: '/var/run/docker.sock' },
    { socketPath: '/run/user/1000/docker.sock' },
    { socketPath: '/home/me/.docker/run/docker.sock' }
  ])
})

// A stand-in engine on a unix socket in a temporary directory: local IPC, no network.
async function withEngine (handler: Parameters<typeof createServer>[1], body: (socketPath: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'topoflow-docker-'))
  const socketPath = join(dir, 'docker.sock')
  const server: Server = createServer(handler)
  await new Promise<void>((resolve) => { server.listen(socketPath, resolve) })
  try {
    await body(socketPath)
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => { server.close(resolve) })
    rmSync(dir, { recursive: true, force: true })
  }
}

test('dockerPing is true for an engine that answers OK', async () => {
  await withEngine((req, res) => { res.end(req.url === '/_ping' ? 'OK' : 'no') }, async (socketPath) => {
    assert.equal(await dockerPing({ socketPath }), true)
  })
})

test('dockerPing is false for an engine in trouble', async () => {
  await withEngine((_req, res) => { res.statusCode = 500; res.end('Internal Server Error') }, async (socketPath) => {
    assert.equal(await dockerPing({ socketPath }), false)
  })
})

test('dockerPing gives up on a silent socket within its timeout', async () => {
  await withEngine(() => { /* never answers */ }, async (socketPath) => {
    const started = Date.now()
    assert.equal(await dockerPing({ socketPath }, 100), false)
    assert.ok(Date.now() - started < 2000)
  })
})

test('dockerPing is false when there is no socket at all', async () => {
  assert.equal(await dockerPing({ socketPath: '/nonexistent/docker.sock' }), false)
})

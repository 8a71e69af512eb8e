import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { main, commands } from '../../src/cli.ts'

function io (): { stdout: PassThrough, stderr: PassThrough, env: NodeJS.ProcessEnv, out: () => string, err: () => string } {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const chunks = { out: '', err: '' }
  stdout.on('data', (b: Buffer) => { chunks.out += b.toString() })
  stderr.on('data', (b: Buffer) => { chunks.err += b.toString() })
  return { stdout, stderr, env: {}, out: () => chunks.out, err: () => chunks.err }
}

test('help lists every command', async () => {
  const t = io()
  assert.equal(await main(['--help'], t), 0)
  for (const name of Object.keys(commands)) assert.match(t.out(), new RegExp(`^  ${name} `, 'm'))
})

test('an unknown command fails with usage', async () => {
  const t = io()
  assert.equal(await main(['frobnicate'], t), 2)
  assert.match(t.err(), /unknown command "frobnicate"/)
})

test('a command whose issue has not landed says so and exits non-zero', async () => {
  const pending = Object.entries(commands).filter(([, c]) => c.run === undefined)
  for (const [name, c] of pending) {
    const t = io()
    assert.equal(await main([name], t), 3)
    assert.match(t.err(), new RegExp(`not available yet; it arrives with issue #${c.pendingIssue ?? ''}`))
  }
})

test('a service that leaves a handle behind on shutdown still exits, a few seconds after SIGTERM', { timeout: 30_000 }, async () => {
  const { spawn } = await import('node:child_process')
  const { fileURLToPath } = await import('node:url')
  const script = fileURLToPath(new URL('../fixtures/lingering-service.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] })
  // Services log JSON on stdout.
  let stdout = ''
  await new Promise<void>((resolve) => child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); if (stdout.includes('started')) resolve() }))
  const t0 = Date.now()
  child.kill('SIGTERM')
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  assert.equal(code, 0)
  assert.ok(Date.now() - t0 < 10_000, `exited after ${Date.now() - t0} ms`)
  assert.match(stdout, /Still running after shutdown; exiting/)
})

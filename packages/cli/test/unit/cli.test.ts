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

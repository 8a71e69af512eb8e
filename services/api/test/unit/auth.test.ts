import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '@topoflow/core'
import bcrypt from 'bcryptjs'
import { apr1, basicToken, createAuthenticator, parseHtpasswd, requestToken } from '../../src/auth.ts'

test('apr1 matches `openssl passwd -apr1`', () => {
  // openssl passwd -apr1 -salt abcdefgh secret
  assert.equal(apr1('secret', 'abcdefgh'), '$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/')
})

// OpenBSD's own bcrypt test vector (password "U*U"), and "secret" at cost 5 as `htpasswd -B` writes it ($2y$)
const bcryptVector = '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW'
const bcryptSecret = '$2y$05$YApD6/w3HtsGC2Jcev7utehf/D1hTx.2A6pZVqA3AS6MSM/A4Snli'

test('htpasswd files accept bcrypt, MD5 and SHA1 entries and refuse the rest clearly', () => {
  const users = parseHtpasswd(`# comment\nalice:$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/\nbob:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\ncarol:${bcryptVector}\ndave:${bcryptSecret}\n`, 'x')
  assert.equal(users.get('alice')?.('secret'), true)
  assert.equal(users.get('alice')?.('wrong'), false)
  assert.equal(users.get('bob')?.('secret'), true)
  assert.equal(users.get('carol')?.('U*U'), true)
  assert.equal(users.get('carol')?.('U*V'), false)
  assert.equal(users.get('dave')?.('secret'), true)
  assert.equal(users.get('dave')?.('Secret'), false)
  assert.throws(() => parseHtpasswd('carol:$2y$05$abc', 'pw.txt'), /pw\.txt:1: malformed bcrypt hash/)
  assert.throws(() => parseHtpasswd('erin:plaintext', 'pw.txt'), /pw\.txt:1: unknown password hash format; use "htpasswd -B"/)
  assert.throws(() => parseHtpasswd('nocolon', 'pw.txt'), /pw\.txt:1: expected user:hash/)
})

test('a bcrypt user is checked once, then its token is remembered', () => {
  const dir = mkdtempSync(join(tmpdir(), 'topoflow-auth-'))
  const file = join(dir, 'htpasswd')
  // cost 10, what `htpasswd -B` uses by default: tens of ms per check
  writeFileSync(file, `dave:${bcrypt.hashSync('secret', 10)}\n`)
  const auth = createAuthenticator(loadConfig({ overrides: { 'analyzer.auth.api.backend': 'b', auth: { b: { type: 'basic', file } } } }))
  const token = basicToken('dave', 'secret')
  const t0 = performance.now()
  assert.equal(auth.verify(token), 'dave')
  const first = performance.now() - t0
  const t1 = performance.now()
  for (let i = 0; i < 100; i++) assert.equal(auth.verify(token), 'dave')
  const hundred = performance.now() - t1
  assert.ok(hundred < first, `100 remembered checks (${hundred.toFixed(1)} ms) cost less than one bcrypt check (${first.toFixed(1)} ms)`)
  assert.equal(auth.verify(basicToken('dave', 'wrong')), null)
})

test('the basic backend logs in users from config and from a file; tokens are base64(user:password)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'topoflow-auth-'))
  const file = join(dir, 'htpasswd')
  writeFileSync(file, 'alice:$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/\n')
  const auth = createAuthenticator(loadConfig({ overrides: { 'analyzer.auth.api.backend': 'b', auth: { b: { type: 'basic', users: { admin: 'pw' }, file } } } }))
  assert.equal(auth.enabled, true)
  assert.equal(auth.login('admin', 'pw'), basicToken('admin', 'pw'))
  assert.equal(auth.login('admin', 'nope'), null)
  assert.equal(auth.login('alice', 'secret'), Buffer.from('alice:secret').toString('base64'))
  assert.equal(auth.verify(basicToken('alice', 'secret')), 'alice')
  assert.equal(auth.verify(basicToken('alice', 'x')), null)
  assert.equal(auth.verify('garbage'), null)
  assert.equal(createAuthenticator(loadConfig()).enabled, false)
  assert.throws(() => createAuthenticator(loadConfig({ overrides: { 'analyzer.auth.api.backend': 'missing' } })), /auth\.missing is not defined/)
})

test('the token comes from the cookie, then Authorization, then X-Auth-Token, then the query', () => {
  assert.equal(requestToken({ headers: { authorization: 'Basic abc' }, cookies: { authtoken: 'fromcookie' } }), 'fromcookie')
  assert.equal(requestToken({ headers: { authorization: 'Basic abc' }, cookies: {} }), 'abc')
  assert.equal(requestToken({ headers: { authorization: 'rawtoken' } }), 'rawtoken')
  assert.equal(requestToken({ headers: { 'x-auth-token': 't' } }), 't')
  assert.equal(requestToken({ headers: {}, query: { 'x-auth-token': 'q' } }), 'q')
  assert.equal(requestToken({ headers: {} }), undefined)
})

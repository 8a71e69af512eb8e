import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRegistry, InProcessBus, loadConfig, silentLogger } from '@topoflow/core'
import { MemoryGraph } from '@topoflow/gremlin'
import { basicToken } from '../../src/auth.ts'
import { runApiService } from '../../src/service.ts'
import { compacted } from '../helpers.ts'

/** A self-signed certificate for 127.0.0.1, made by openssl for this run. */
function selfSigned (): { certFile: string, keyFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'topoflow-tls-'))
  const certFile = join(dir, 'cert.pem')
  const keyFile = join(dir, 'key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' })
  return { certFile, keyFile }
}

interface Answer { status: number, body: string }

async function call (send: typeof httpsRequest | typeof httpRequest, url: string, opts: { ca?: Buffer, method?: string, body?: string, headers?: Record<string, string> }): Promise<Answer> {
  return await new Promise((resolve, reject) => {
    const req = send(url, { method: opts.method ?? 'GET', headers: opts.headers, ...(opts.ca === undefined ? {} : { ca: opts.ca }) }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => { body += d.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

test('with analyzer.tls the API speaks HTTPS only, and auth still applies', { timeout: 60_000 }, async (t) => {
  const { certFile, keyFile } = selfSigned()
  const config = loadConfig({
    overrides: {
      host_id: 'analyzer-tls',
      'analyzer.tls.cert_file': certFile,
      'analyzer.tls.key_file': keyFile,
      'analyzer.auth.api.backend': 'b',
      auth: { b: { type: 'basic', users: { admin: 'secret' } } }
    }
  })
  const svc = await runApiService({
    config, bus: new InProcessBus({ compactedTopics: compacted }), graph: new MemoryGraph(), logger: silentLogger(),
    registry: createRegistry('api-tls', { processMetrics: false }), listen: { host: '127.0.0.1', port: 0 }
  })
  t.after(async () => { await svc.close() })
  const ca = readFileSync(certFile)
  const base = `https://127.0.0.1:${svc.port}`
  const headers = { 'x-auth-token': basicToken('admin', 'secret'), 'content-type': 'application/json' }

  const info = await call(httpsRequest, `${base}/api`, { ca, headers })
  assert.equal(info.status, 200)
  assert.deepEqual(JSON.parse(info.body), { Host: 'analyzer-tls', Version: '0.1.0', Service: 'analyzer' })
  const count = await call(httpsRequest, `${base}/api/topology`, { ca, headers, method: 'POST', body: JSON.stringify({ GremlinQuery: 'G.V().Count()' }) })
  assert.deepEqual(count, { status: 200, body: '0' })
  assert.equal((await call(httpsRequest, `${base}/api`, { ca })).status, 401)
  // a client that does not trust the certificate is refused by TLS itself
  await assert.rejects(call(httpsRequest, `${base}/api`, { headers }), /self-signed certificate|unable to verify/)
  // plain HTTP on the same port gets no API answer
  await assert.rejects(call(httpRequest, `http://127.0.0.1:${svc.port}/api`, { headers }), /socket hang up|ECONNRESET|Parse Error/)
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Client } from '@opensearch-project/opensearch'
import type { TopoflowError } from '@topoflow/core'
import { readFixture, type EnrichedFlow } from '@topoflow/schemas'
import { BulkIndexer, count, ensureTemplates, flowDocument, type BulkDoc } from '../../src/index.ts'
import { useOpenSearch } from './helpers.ts'

const base: EnrichedFlow = readFixture('topoflow.flows.enriched.v1')

/** Flow i of a synthetic day: distinct UUIDs, ports and addresses, same day. */
function flowNumber (i: number): EnrichedFlow {
  return {
    ...base,
    UUID: `flow-${String(i).padStart(5, '0')}`,
    Network: { Protocol: 'IPV4', A: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, B: '10.255.0.1', ID: 0 },
    Transport: { Protocol: 'TCP', A: 1024 + (i % 60_000), B: 443, ID: 0 },
    Start: base.Start + i,
    Last: base.Start + i + 1000
  }
}

test('10,000 flow documents bulk-indexed twice give a count of 10,000', async (t) => {
  const os = await useOpenSearch(t, 'bulk')
  if (os === null) return
  const { client, prefix } = os
  const { names } = await ensureTemplates(client, { prefix, replicas: 0 })
  const docs: BulkDoc[] = Array.from({ length: 10_000 }, (_, i) => {
    const flow = flowNumber(i)
    return { index: names.flows(flow.Start), id: flow.UUID, doc: flowDocument(flow) }
  })
  const letters: string[] = []
  const indexer = new BulkIndexer({ client, flushDocs: 2000, onDeadLetter: (d) => { letters.push(d.id) } })
  for (let pass = 0; pass < 2; pass++) {
    await Promise.all(docs.map(async (d) => { await indexer.add(d) }))
  }
  await indexer.close()
  assert.deepEqual(letters, [])
  await client.indices.refresh({ index: names.patterns.flows })
  assert.equal(await count(client, names.patterns.flows), 10_000)
  assert.equal(await count(client, names.patterns.flows, { term: { 'destination.port': 443 } }), 10_000)
  assert.equal(await count(client, names.patterns.flows, { term: { 'source.ip': '10.0.1.2' } }), 1)
})

test('a document with a wrongly typed field goes to the dead-letter callback while the rest are indexed', async (t) => {
  const os = await useOpenSearch(t, 'dlq')
  if (os === null) return
  const { client, prefix } = os
  const { names } = await ensureTemplates(client, { prefix, replicas: 0 })
  const docs: BulkDoc[] = Array.from({ length: 50 }, (_, i) => {
    const flow = flowNumber(i)
    return { index: names.flows(flow.Start), id: flow.UUID, doc: flowDocument(flow) }
  })
  const bad = docs[17]!
  ;(bad.doc.source as Record<string, unknown>).ip = 'not-an-address'
  const letters: Array<[BulkDoc, TopoflowError]> = []
  const indexer = new BulkIndexer({ client, refresh: 'wait_for', onDeadLetter: (d, err) => { letters.push([d, err]) } })
  await Promise.all(docs.map(async (d) => { await indexer.add(d) }))
  await indexer.close()
  assert.equal(letters.length, 1)
  assert.equal(letters[0]![0].id, bad.id)
  assert.equal(letters[0]![1].code, 'TOPOFLOW_ERR_SINK_REJECTED')
  assert.match(letters[0]![1].message, /mapper_parsing_exception/)
  assert.match(letters[0]![1].message, /source\.ip/)
  assert.equal(await count(client, names.patterns.flows), 49)
})

/** Answers 429 to the first `refusals` bulk requests, forwards everything else to OpenSearch. */
async function refusingProxy (target: string, refusals: number): Promise<{ url: string, refused: () => number, forwarded: () => number, close: () => Promise<void> }> {
  let refused = 0
  let forwarded = 0
  const upstream = new URL(target)
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.includes('_bulk') === true && refused < refusals) {
      refused++
      req.resume()
      res.writeHead(429, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: { type: 'es_rejected_execution_exception', reason: 'rejected execution (queue capacity 0)' }, status: 429 }))
      return
    }
    forwarded++
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers)
      up.pipe(res)
    })
    out.on('error', () => { res.writeHead(502).end() })
    req.pipe(out)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    refused: () => refused,
    forwarded: () => forwarded,
    close: async () => { await new Promise((resolve) => server.close(resolve)) }
  }
}

test('bulk requests answered 429 are retried with backoff until OpenSearch takes them', async (t) => {
  const os = await useOpenSearch(t, 'retry')
  if (os === null) return
  const { client, url, prefix } = os
  const { names } = await ensureTemplates(client, { prefix, replicas: 0 })
  const proxy = await refusingProxy(url, 3)
  const viaProxy = new Client({ node: proxy.url, maxRetries: 0 })
  t.after(async () => {
    await viaProxy.close()
    await proxy.close()
  })
  let retried = 0
  const indexer = new BulkIndexer({ client: viaProxy, flushDocs: 100, minRetryDelayMs: 20, maxRetryDelayMs: 200, refresh: 'wait_for', metrics: { retried: (n) => { retried += n } } })
  const docs = Array.from({ length: 100 }, (_, i) => {
    const flow = flowNumber(i)
    return { index: names.flows(flow.Start), id: flow.UUID, doc: flowDocument(flow) }
  })
  await Promise.all(docs.map(async (d) => { await indexer.add(d) }))
  await indexer.close()
  assert.equal(proxy.refused(), 3)
  assert.equal(retried, 300, 'three retries of the 100-document request')
  assert.equal(await count(client, names.patterns.flows), 100)
})

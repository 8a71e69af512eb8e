import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Client } from '@opensearch-project/opensearch'
import type { TopoflowError } from '@topoflow/core'
import { runLifecycleConformance } from '@topoflow/testing'
import { BulkIndexer, itemError, toNdjson, type BulkDoc, type LazyBulkDoc } from '../../src/bulk-indexer.ts'

type Item = { status: number, error?: unknown }
type Sent = { action: Record<string, { _id: string }>, source: unknown }

/** A client whose bulk answers come from `respond`; records the NDJSON bodies. */
function fakeClient (respond: (docs: Sent[], call: number) => Item[] | Error): { client: Client, bodies: string[] } {
  const bodies: string[] = []
  const client = {
    bulk: async (params: { body: Buffer | string }) => {
      const body = String(params.body)
      bodies.push(body)
      const lines = body.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, { _id: string }>)
      const docs: Sent[] = []
      for (let i = 0; i < lines.length; i += 2) docs.push({ action: lines[i]!, source: lines[i + 1] })
      const answer = respond(docs, bodies.length)
      if (answer instanceof Error) throw answer
      return { body: { errors: answer.some((a) => a.status >= 300), items: answer.map((a, i) => ({ [Object.keys(docs[i]!.action)[0]!]: { _id: Object.values(docs[i]!.action)[0]!._id, ...a } })) } }
    }
  } as unknown as Client
  return { client, bodies }
}

const doc = (id: string, extra: Record<string, unknown> = {}): BulkDoc => ({ index: 'i', id, doc: { n: id, ...extra } })

function responseError (status: number): Error {
  return Object.assign(new Error(`Response Error`), { name: 'ResponseError', meta: { statusCode: status, body: { error: { type: 'es_rejected_execution_exception', reason: 'queue full' } } } })
}

test('documents are written in one request per flush and every add() resolves', async () => {
  const { client, bodies } = fakeClient((docs) => docs.map(() => ({ status: 201 })))
  const indexer = new BulkIndexer({ client, flushDocs: 3, flushIntervalMs: 60_000 })
  await Promise.all(['a', 'b', 'c'].map(async (id) => { await indexer.add(doc(id)) }))
  assert.equal(bodies.length, 1)
  assert.equal(bodies[0], '{"index":{"_index":"i","_id":"a"}}\n{"n":"a"}\n{"index":{"_index":"i","_id":"b"}}\n{"n":"b"}\n{"index":{"_index":"i","_id":"c"}}\n{"n":"c"}\n')
  const last = indexer.add(doc('d'))
  await indexer.close()
  await last
  assert.equal(bodies.length, 2)
})

test('a refused document goes to the dead-letter callback while the others are indexed', async () => {
  const { client } = fakeClient((docs) => docs.map((d) => (d.source as { n: string }).n === 'bad'
    ? { status: 400, error: { type: 'mapper_parsing_exception', reason: "failed to parse field [source.ip] of type [ip] in document with id 'bad'" } }
    : { status: 201 }))
  const letters: Array<[string, TopoflowError]> = []
  const indexer = new BulkIndexer({ client, flushDocs: 3, onDeadLetter: (d, err) => { letters.push([d.id, err]) } })
  await Promise.all(['ok1', 'bad', 'ok2'].map(async (id) => { await indexer.add(doc(id)) }))
  assert.equal(letters.length, 1)
  assert.equal(letters[0]![0], 'bad')
  assert.equal(letters[0]![1].code, 'TOPOFLOW_ERR_SINK_REJECTED')
  assert.equal(letters[0]![1].retriable, false)
  assert.match(letters[0]![1].message, /mapper_parsing_exception: failed to parse field \[source\.ip\]/)
  await indexer.close()
})

test('without a dead-letter callback the refused document rejects its own add()', async () => {
  const { client } = fakeClient((docs) => docs.map((d) => ({ status: (d.source as { n: string }).n === 'bad' ? 400 : 200 })))
  const indexer = new BulkIndexer({ client, flushDocs: 2 })
  const [good, bad] = await Promise.allSettled([indexer.add(doc('good')), indexer.add(doc('bad'))])
  assert.equal(good!.status, 'fulfilled')
  assert.equal(bad!.status, 'rejected')
  await indexer.close()
})

test('items refused with 429 are retried alone, in order, with backoff', async () => {
  const { client, bodies } = fakeClient((docs, call) => docs.map((d) => ({ status: call === 1 && (d.source as { n: string }).n !== 'a' ? 429 : 201 })))
  const indexer = new BulkIndexer({ client, flushDocs: 3, minRetryDelayMs: 1, maxRetryDelayMs: 2 })
  await Promise.all(['a', 'b', 'c'].map(async (id) => { await indexer.add(doc(id)) }))
  assert.equal(bodies.length, 2)
  assert.deepEqual(bodies[1]!.trimEnd().split('\n').filter((_, i) => i % 2 === 1), ['{"n":"b"}', '{"n":"c"}'])
  await indexer.close()
})

test('a whole request answered 429 or 503 is retried; exhausted retries reject with a retriable error', async () => {
  let fails = 2
  const flaky = fakeClient((docs) => (fails-- > 0 ? responseError(fails === 1 ? 429 : 503) : docs.map(() => ({ status: 200 }))))
  const indexer = new BulkIndexer({ client: flaky.client, flushDocs: 1, minRetryDelayMs: 1, maxRetryDelayMs: 2 })
  await indexer.add(doc('a'))
  assert.equal(flaky.bodies.length, 3)
  await indexer.close()

  const down = fakeClient(() => Object.assign(new Error('connect ECONNREFUSED'), { name: 'ConnectionError' }))
  const giveUp = new BulkIndexer({ client: down.client, flushDocs: 1, retries: 2, minRetryDelayMs: 1, maxRetryDelayMs: 2 })
  await assert.rejects(giveUp.add(doc('a')), (err: TopoflowError) => {
    assert.equal(err.code, 'TOPOFLOW_ERR_OPENSEARCH')
    assert.equal(err.retriable, true)
    assert.match(err.message, /ConnectionError/)
    return true
  })
  assert.equal(down.bodies.length, 3)
  await giveUp.close()
})

test('add() waits while the buffer is full', async () => {
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  const bodies: string[] = []
  const client = { bulk: async (params: { body: Buffer }) => { const body = String(params.body); bodies.push(body); await gate; return { body: { items: body.trimEnd().split('\n').filter((_, i) => i % 2 === 0).map(() => ({ index: { status: 201 } })) } } } } as unknown as Client
  const indexer = new BulkIndexer({ client, flushDocs: 2, maxBufferedDocs: 2, flushIntervalMs: 1 })
  const first = [indexer.add(doc('a')), indexer.add(doc('b'))]
  let thirdIn = false
  const third = indexer.add(doc('c')).then(() => { thirdIn = true })
  await new Promise((resolve) => setTimeout(resolve, 20))
  assert.equal(indexer.pending, 2, 'the third document waits outside the buffer')
  assert.equal(thirdIn, false)
  release()
  await Promise.all([...first, third])
  assert.equal(bodies.length, 2)
  await indexer.close()
})

test('addAll() settles a whole batch at once: indexed, dead-lettered, in order, across requests', async () => {
  const { client, bodies } = fakeClient((docs) => docs.map((d) => ({ status: (d.source as { n: string }).n === 'bad' ? 400 : 201 })))
  const letters: string[] = []
  const indexer = new BulkIndexer({ client, flushDocs: 2, maxBufferedDocs: 3, flushIntervalMs: 5, onDeadLetter: (d) => { letters.push(d.id) } })
  await indexer.addAll(['a', 'b', 'bad', 'c', 'd', 'unserializable'].map((id) => doc(id, id === 'unserializable' ? { n: 1n } : {})))
  assert.deepEqual(letters.sort(), ['bad', 'unserializable'])
  assert.deepEqual(bodies.map((b) => b.trimEnd().split('\n').filter((_, i) => i % 2 === 0).map((l) => JSON.parse(l).index._id)), [['a', 'b'], ['bad', 'c'], ['d']])
  await indexer.addAll([])
  await indexer.close()
  await assert.rejects(indexer.addAll([doc('late')]), /bulk indexer is closed/)
})

test('addAll() rejects with the first refusal when there is no dead-letter callback; the rest still settle', async () => {
  const { client, bodies } = fakeClient((docs) => docs.map((d) => ({ status: (d.source as { n: string }).n === 'bad' ? 400 : 201 })))
  const indexer = new BulkIndexer({ client, flushDocs: 3, flushIntervalMs: 60_000 })
  await assert.rejects(indexer.addAll([doc('a'), doc('bad'), doc('c')]), (err: TopoflowError) => err.code === 'TOPOFLOW_ERR_SINK_REJECTED' && /document bad/.test(err.message))
  await indexer.flush()
  assert.equal(indexer.pending, 0)
  assert.equal(bodies.length, 1)
  await indexer.close()
})

test('bulk requests ask only for what settles each document', async () => {
  const params: Array<Record<string, unknown>> = []
  const client = { bulk: async (p: Record<string, unknown>) => { params.push(p); return { body: { errors: false, items: [{ index: { status: 201 } }] } } } } as unknown as Client
  const indexer = new BulkIndexer({ client, flushDocs: 1 })
  await indexer.add(doc('a'))
  assert.equal(params[0]!.filter_path, 'error,errors,items.*.status,items.*.error')
  await indexer.close()
})

test('lazy documents are built when their request is, and reach the dead-letter callback built', async () => {
  const { client, bodies } = fakeClient((docs) => docs.map((d) => ({ status: Object.values(d.action)[0]!._id === 'bad' ? 400 : 201 })))
  const letters: BulkDoc[] = []
  const indexer = new BulkIndexer({ client, flushDocs: 2, flushIntervalMs: 60_000, onDeadLetter: (d) => { letters.push(d) } })
  let builds = 0
  const lazy = (id: string, action?: 'update'): LazyBulkDoc => ({ index: 'i', id, ...(action === undefined ? {} : { action }), build: () => { builds++; return { n: id } } })
  const eager = doc('e')
  const done = indexer.addAll([lazy('a'), lazy('bad', 'update'), eager, lazy('c')])
  assert.equal(builds, 2, 'the first request is built at once, the rest only once it is sent')
  await done
  assert.equal(bodies.length, 2)
  assert.equal(bodies[0], '{"index":{"_index":"i","_id":"a"}}\n{"n":"a"}\n{"update":{"_index":"i","_id":"bad","retry_on_conflict":3}}\n{"doc":{"n":"bad"},"doc_as_upsert":true}\n')
  assert.deepEqual(letters, [{ index: 'i', id: 'bad', action: 'update', doc: { n: 'bad' } }])
  await indexer.close()
})

test('a lazy document that cannot be built fails its own add(), not its neighbours', async () => {
  const { client, bodies } = fakeClient((docs) => docs.map(() => ({ status: 201 })))
  const indexer = new BulkIndexer({ client, flushDocs: 2, onDeadLetter: () => { throw new Error('not for unbuilt documents') } })
  const broken = indexer.add({ index: 'i', id: 'x', build: () => { throw new TypeError('no Metric') } })
  const fine = indexer.add(doc('ok'))
  await assert.rejects(broken, (err: TopoflowError) => err.code === 'TOPOFLOW_ERR_SINK_REJECTED' && /x for i cannot be serialized: no Metric/.test(err.message))
  await fine
  assert.equal(bodies.length, 1)
  await indexer.close()
})

test('update actions merge into the document, creating it when absent', () => {
  assert.equal(toNdjson({ index: 'i', id: '1', action: 'update', doc: { a: 1 } }), '{"update":{"_index":"i","_id":"1","retry_on_conflict":3}}\n{"doc":{"a":1},"doc_as_upsert":true}\n')
})

test('per-item statuses: overload and conflicts retry, the rest are permanent', () => {
  assert.equal(itemError(doc('x'), { status: 429 }).retriable, true)
  assert.equal(itemError(doc('x'), { status: 503 }).retriable, true)
  assert.equal(itemError(doc('x'), { status: 409 }).retriable, true)
  assert.equal(itemError(doc('x'), { status: 400, error: { type: 'mapper_parsing_exception', reason: 'r' } }).retriable, false)
  assert.equal(itemError(doc('x'), { status: 403 }).retriable, false)
})

test('a document that cannot be serialized is dead-lettered at once', async () => {
  const { client, bodies } = fakeClient((docs) => docs.map(() => ({ status: 201 })))
  const letters: string[] = []
  const indexer = new BulkIndexer({ client, onDeadLetter: (d, err) => { letters.push(`${d.id}: ${err.code}`) } })
  await indexer.add(doc('big', { n: 1n }))
  assert.deepEqual(letters, ['big: TOPOFLOW_ERR_SINK_REJECTED'])
  assert.equal(bodies.length, 0)
  await indexer.close()
  await assert.rejects(indexer.add(doc('late')), /bulk indexer is closed/)
})

test('lifecycle: close before start, start then close, close twice', async (t) => {
  const { client } = fakeClient((docs) => docs.map(() => ({ status: 201 })))
  await runLifecycleConformance(t, () => new BulkIndexer({ client }))
})

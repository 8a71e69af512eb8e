import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { indexFields, indexNames } from '@topoflow/opensearch'
import { repoRoot } from './validators.ts'

const ndjsonPath = join(repoRoot, 'deploy/dashboards/topoflow.ndjson')
const ndjson = readFileSync(ndjsonPath, 'utf8')

interface SavedObject {
  id: string
  type: string
  attributes: Record<string, unknown>
  references: Array<{ id: string, name: string, type: string }>
  migrationVersion?: Record<string, string>
}
interface Agg { id: string, type: string, schema: string, params: { field?: string } }

const objects: SavedObject[] = ndjson.split('\n').filter((l) => l.trim() !== '').map((line, i) => {
  try {
    return JSON.parse(line) as SavedObject
  } catch (err) {
    throw new Error(`topoflow.ndjson line ${i + 1} is not JSON: ${(err as Error).message}`)
  }
})
const ofType = (type: string): SavedObject[] => objects.filter((o) => o.type === type)
const names = indexNames()

/** The fields of the index template behind each index pattern, by pattern title. */
const fieldsByPattern: Record<string, Record<string, string>> = {
  [names.patterns.flows]: indexFields.flows,
  [names.patterns.flowMetrics]: indexFields.flowMetrics,
  [names.patterns.topologyArchive]: indexFields.topology
}

/** Field types each aggregation accepts (OpenSearch mapping types). */
const aggFieldTypes: Record<string, string[]> = {
  sum: ['long', 'integer', 'double', 'float'],
  avg: ['long', 'integer', 'double', 'float'],
  max: ['long', 'integer', 'double', 'float', 'date'],
  min: ['long', 'integer', 'double', 'float', 'date'],
  cardinality: ['keyword', 'ip', 'long', 'integer', 'date'],
  terms: ['keyword', 'ip', 'long', 'integer', 'boolean'],
  date_histogram: ['date']
}

function jsonAttr (o: SavedObject, key: string): unknown {
  const raw = o.attributes[key]
  assert.equal(typeof raw, 'string', `${o.id}: ${key} must be a JSON string`)
  return JSON.parse(raw as string)
}

function searchSourceOf (o: SavedObject): Record<string, unknown> {
  const meta = o.attributes.kibanaSavedObjectMeta as { searchSourceJSON?: string } | undefined
  assert.ok(meta?.searchSourceJSON !== undefined, `${o.id} has no searchSourceJSON`)
  return JSON.parse(meta.searchSourceJSON) as Record<string, unknown>
}

/** The index pattern a visualization reads, through its reference. */
function patternOf (vis: SavedObject): SavedObject {
  const refName = searchSourceOf(vis).indexRefName
  const ref = vis.references.find((r) => r.name === refName)
  assert.ok(ref !== undefined && ref.type === 'index-pattern', `${vis.id}: indexRefName ${String(refName)} has no index-pattern reference`)
  const pattern = ofType('index-pattern').find((p) => p.id === ref.id)
  assert.ok(pattern !== undefined, `${vis.id} refers to index pattern ${ref.id}, which is not in the file`)
  return pattern
}

test('the file is saved-object ndjson: one object a line, unique ids, types Dashboards 2.x imports', () => {
  assert.ok(ndjson.endsWith('\n'))
  const ids = objects.map((o) => `${o.type}:${o.id}`)
  assert.equal(new Set(ids).size, ids.length, 'duplicate ids')
  const migrations: Record<string, string> = { 'index-pattern': '7.6.0', visualization: '7.10.0', dashboard: '7.9.3' }
  for (const o of objects) {
    assert.ok(Object.hasOwn(migrations, o.type), `unexpected type ${o.type}`)
    assert.deepEqual(o.migrationVersion, { [o.type]: migrations[o.type] }, o.id)
    assert.match(o.id, /^[a-z0-9-]+$/)
    assert.equal(typeof o.attributes.title, 'string', o.id)
    assert.ok(Array.isArray(o.references), o.id)
  }
})

test('the index patterns are the flows, flow metrics and topology archive indices, each with its time field', () => {
  const patterns = ofType('index-pattern')
  assert.deepEqual(patterns.map((p) => p.attributes.title).sort(),
    [names.patterns.flowMetrics, names.patterns.flows, names.patterns.topologyArchive].sort())
  for (const p of patterns) {
    const fields = fieldsByPattern[p.attributes.title as string]
    assert.ok(fields !== undefined)
    const time = p.attributes.timeFieldName as string
    assert.equal(fields[time], 'date', `${p.id}: time field ${time} is not a date in the index template`)
  }
  assert.deepEqual(Object.fromEntries(patterns.map((p) => [p.attributes.title, p.attributes.timeFieldName])), {
    'topoflow-flows-*': '@timestamp',
    'topoflow-flowmetrics-*': '@timestamp',
    'topoflow-topology-archive-*': 'ArchivedAt'
  })
})

test('every field a visualization uses exists in its index template, with a type its aggregation accepts', () => {
  const visualizations = ofType('visualization')
  assert.ok(visualizations.length >= 5)
  let checked = 0
  for (const vis of visualizations) {
    const fields = fieldsByPattern[patternOf(vis).attributes.title as string]
    assert.ok(fields !== undefined)
    const state = jsonAttr(vis, 'visState') as { title: string, type: string, aggs: Agg[] }
    assert.equal(state.title, vis.attributes.title)
    assert.ok(['table', 'line', 'area', 'histogram', 'horizontal_bar', 'pie', 'metric'].includes(state.type), `${vis.id}: ${state.type}`)
    assert.ok(state.aggs.some((a) => a.schema === 'metric'), `${vis.id} has no metric`)
    for (const agg of state.aggs) {
      const accepted = aggFieldTypes[agg.type]
      if (agg.type === 'count') { assert.equal(agg.params.field, undefined); continue }
      assert.ok(accepted !== undefined, `${vis.id}: aggregation ${agg.type} is not covered by this test`)
      const field = agg.params.field
      assert.ok(field !== undefined, `${vis.id}: ${agg.type} has no field`)
      const type = fields[field]
      assert.ok(type !== undefined, `${vis.id}: field ${field} is not in the index template of ${String(patternOf(vis).attributes.title)}`)
      assert.ok(accepted.includes(type), `${vis.id}: ${agg.type} on ${field}, a ${type}`)
      checked++
    }
    jsonAttr(vis, 'uiStateJSON')
  }
  assert.ok(checked >= 15, `only ${checked} fields checked`)
})

test('the visualizations asked for are there: top talkers, flows over time, traffic by process and pod, topology changes', () => {
  const byId = (id: string): { type: string, fields: string[], pattern: string } => {
    const vis = ofType('visualization').find((v) => v.id === id)
    assert.ok(vis !== undefined, `no visualization ${id}`)
    const state = jsonAttr(vis, 'visState') as { type: string, aggs: Agg[] }
    return { type: state.type, fields: state.aggs.flatMap((a) => a.params.field ?? []), pattern: patternOf(vis).attributes.title as string }
  }
  const talkers = byId('topoflow-top-talkers')
  assert.ok(talkers.fields.includes('source.ip') && talkers.fields.includes('destination.ip') && talkers.fields.includes('network.bytes'))
  const flows = byId('topoflow-flows-over-time')
  assert.equal(flows.pattern, names.patterns.flowMetrics)
  assert.ok(flows.fields.includes('@timestamp') && flows.fields.includes('flow.id'))
  assert.ok(byId('topoflow-traffic-by-process').fields.includes('process.name'))
  assert.ok(byId('topoflow-traffic-by-pod').fields.includes('kubernetes.pod.name'))
  const changes = byId('topoflow-topology-changes')
  assert.equal(changes.pattern, names.patterns.topologyArchive)
  assert.ok(changes.fields.includes('ArchivedAt'))
})

test('the dashboard shows every visualization, each reference resolves and no panels overlap', () => {
  const [dashboard, ...others] = ofType('dashboard')
  assert.ok(dashboard !== undefined && others.length === 0)
  const panels = jsonAttr(dashboard, 'panelsJSON') as Array<{ panelRefName: string, panelIndex: string, gridData: { x: number, y: number, w: number, h: number, i: string } }>
  const shown = panels.map((p) => {
    const ref = dashboard.references.find((r) => r.name === p.panelRefName)
    assert.ok(ref !== undefined, `panel ${p.panelIndex}: no reference ${p.panelRefName}`)
    assert.equal(ref.type, 'visualization')
    assert.ok(ofType('visualization').some((v) => v.id === ref.id), `panel ${p.panelIndex} shows ${ref.id}, which is not in the file`)
    return ref.id
  })
  assert.deepEqual([...shown].sort(), ofType('visualization').map((v) => v.id).sort())
  jsonAttr(dashboard, 'optionsJSON')
  searchSourceOf(dashboard)

  const cells = new Set<string>()
  for (const { gridData: g } of panels) {
    assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 48 && g.y >= 0 && g.h > 0, `panel ${g.i} leaves the 48-column grid`)
    for (let x = g.x; x < g.x + g.w; x++) {
      for (let y = g.y; y < g.y + g.h; y++) {
        assert.ok(!cells.has(`${x},${y}`), `panel ${g.i} overlaps another at ${x},${y}`)
        cells.add(`${x},${y}`)
      }
    }
  }
})

interface Received { method: string, url: string, headers: IncomingHttpHeaders, body: string }

/** A stand-in for Dashboards' import endpoint that records what import.sh sends. */
async function withFakeDashboards (reply: { status: number, body: string }, fn: (url: string, received: Received[]) => Promise<void>): Promise<void> {
  const received: Received[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, received)
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

function importScript (url: string): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', [join(repoRoot, 'deploy/dashboards/import.sh'), url], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr })
    })
  })
}

test('import.sh posts the ndjson to /api/saved_objects/_import?overwrite=true with the osd-xsrf header', async () => {
  await withFakeDashboards({ status: 200, body: JSON.stringify({ success: true, successCount: objects.length }) }, async (url, received) => {
    const result = await importScript(`${url}/`)
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, new RegExp(`Imported ${objects.length} saved objects`))
    assert.equal(received.length, 1)
    const [req] = received
    assert.ok(req !== undefined)
    assert.equal(req.method, 'POST')
    assert.equal(req.url, '/api/saved_objects/_import?overwrite=true')
    assert.equal(req.headers['osd-xsrf'], 'true')
    assert.match(req.headers['content-type'] ?? '', /^multipart\/form-data; boundary=/)
    assert.match(req.body, /Content-Disposition: form-data; name="file"; filename="topoflow\.ndjson"/)
    assert.ok(req.body.includes(ndjson), 'the upload is not the ndjson file')
  })
})

test('import.sh fails with the reason when Dashboards refuses objects', async () => {
  const refusal = { success: false, successCount: 0, errors: [{ id: 'topoflow-flows', type: 'index-pattern', error: { type: 'conflict' } }] }
  await withFakeDashboards({ status: 200, body: JSON.stringify(refusal) }, async (url) => {
    const result = await importScript(url)
    assert.notEqual(result.code, 0)
    assert.match(result.stderr, /refused some objects: .*"conflict"/)
  })
  await withFakeDashboards({ status: 400, body: '{"statusCode":400,"message":"bad request"}' }, async (url) => {
    const result = await importScript(url)
    assert.notEqual(result.code, 0)
    assert.match(result.stderr, /failed: .*bad request/)
  })
})

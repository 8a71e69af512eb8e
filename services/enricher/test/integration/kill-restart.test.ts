import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { topics } from '@topoflow/schemas'
import { resolveInfraOrSkip, waitFor, type Infra } from '@topoflow/testing'
import { allIds, countDocs, flowUpdates, groupProgress, metricId, publishFlows, sandbox, type Sandbox } from './helpers.ts'

const script = fileURLToPath(new URL('./enricher-process.ts', import.meta.url))
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url))

interface EnricherProcess { child: ChildProcess, output: () => string, exited: Promise<number | null> }

/** Starts the enricher in a process of its own and resolves once it consumes. */
async function startEnricher (infra: Infra, box: Sandbox): Promise<EnricherProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      ...process.env,
      KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      OPENSEARCH_URL: infra.opensearchUrl,
      TF_TOPIC_PREFIX: box.topicPrefix,
      TF_INDEX_PREFIX: box.prefix,
      TF_GROUP: box.group
    }
  })
  let output = ''
  child.stdout?.on('data', (d: Buffer) => { output += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { output += d.toString() })
  let exitCode: number | null | undefined
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => { exitCode = code; resolve(code) }))
  await waitFor(() => {
    if (exitCode !== undefined) throw new Error(`enricher process exited (${String(exitCode)}): ${output}`)
    return output.includes('ready\n')
  }, { timeout: 60_000, what: 'the enricher process to start' })
  return { child, output: () => output, exited }
}

test('enricher SIGKILLed in the middle of a stream and restarted: every flow update in OpenSearch, none twice', { timeout: 300_000 }, async (t) => {
  const infra = await resolveInfraOrSkip(t)
  if (infra === null) return
  const box = await sandbox(t, infra, 'enr-kill')
  const flows = 300
  const updates = 5
  const stream = flowUpdates(flows, updates)
  const metricsPattern = box.names.patterns.flowMetrics
  const flowsPattern = box.names.patterns.flows
  const rawTopic = box.topicPrefix + topics.flowsRaw

  let first = await startEnricher(infra, box)
  t.after(() => { first.child.kill('SIGKILL') })

  // The capture side publishes at its own pace, whatever happens to the enricher.
  let published = 0
  const publishing = (async () => {
    for (let i = 0; i < stream.length; i += 100) {
      await publishFlows(box.bus, stream.slice(i, i + 100))
      published = Math.min(stream.length, i + 100)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()

  // Kill it once it is well into the stream, without any chance to flush or commit.
  await waitFor(async () => await countDocs(box.client, metricsPattern) >= 300, { timeout: 60_000, interval: 20, what: 'the first 300 updates indexed' })
  first.child.kill('SIGKILL')
  const publishedAtKill = published
  assert.equal(await first.exited, null, 'killed by the signal')
  const atKill = await countDocs(box.client, metricsPattern)
  await publishing
  assert.ok(atKill < stream.length, `killed mid-stream (${atKill} of ${stream.length} indexed)`)

  first = await startEnricher(infra, box)
  await waitFor(async () => {
    const progress = await groupProgress(infra.kafkaBrokers, box.group, rawTopic)
    return progress.end === stream.length && progress.committed === progress.end
  }, { timeout: 120_000, interval: 200, what: 'the restarted enricher to commit the whole stream' })

  // Exactly one flowmetrics document per update and one flow document per flow, by their ids.
  const expectedMetrics = [...new Set(stream.map(metricId))].sort()
  assert.equal(expectedMetrics.length, flows * updates)
  assert.equal(await countDocs(box.client, metricsPattern), flows * updates)
  assert.deepEqual((await allIds(box.client, metricsPattern)).sort(), expectedMetrics)
  assert.equal(await countDocs(box.client, flowsPattern), flows)
  assert.deepEqual((await allIds(box.client, flowsPattern)).sort(), [...new Set(stream.map((f) => f.UUID))].sort())

  // Each flow document holds the flow's last update, although some updates were replayed.
  const last = await box.client.search({ index: flowsPattern, body: { size: flows, version: true, query: { match_all: {} } } })
  const hits = (last.body as { hits: { hits: Array<{ _version: number, _source: { flow: { metric: { ab_packets: number }, finish_type: string } } }> } }).hits.hits
  assert.equal(hits.length, flows)
  for (const h of hits) {
    assert.equal(h._source.flow.metric.ab_packets, 10 * updates)
    assert.equal(h._source.flow.finish_type, 'TCP_FIN')
  }
  // Updates indexed before the kill but not committed were indexed again: same _id, a new version.
  const versions = await box.client.search({ index: metricsPattern, body: { size: flows * updates, version: true, _source: false, query: { match_all: {} } } })
  const rewritten = (versions.body as { hits: { hits: Array<{ _version: number }> } }).hits.hits.filter((h) => h._version > 1).length
  t.diagnostic(`killed with ${atKill}/${stream.length} updates indexed (${publishedAtKill} published by then); after restart all ${flows * updates} present once, ${rewritten} overwritten by the replay`)
  first.child.kill('SIGKILL')
  await first.exited
})

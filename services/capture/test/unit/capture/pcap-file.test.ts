import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '@topoflow/core'
import type { FlowInput } from '@topoflow/schemas'
import { CaptureSession } from '../../../src/capture/index.ts'
import { flowsFromPcap, type Flow } from '../../../src/flow/index.ts'
import { PcapFileSource } from '../../../src/sources/index.ts'
import { corpusDir, waitFor } from './helpers.ts'

const file = join(corpusDir, 'mptcp-v0.pcap')

function summary (flows: Array<Flow | FlowInput>): string[] {
  return flows.map((f) => `${f.UUID} ${f.Metric.ABPackets}/${f.Metric.BAPackets} ${f.Metric.ABBytes}/${f.Metric.BABytes} ${f.Start}-${f.Last}`).sort()
}

async function session (path: string): Promise<{ flows: FlowInput[], s: CaptureSession }> {
  const flows: FlowInput[] = []
  const source = new PcapFileSource(path)
  const s = new CaptureSession({ captureId: 'c', nodeId: 'n', nodeTID: 't', host: 'h', type: 'pcap', source, table: {}, onFlows: (f) => flows.push(...f), logger: silentLogger() })
  await s.start()
  return { flows, s }
}

test('a pcap file through the capture session gives the same flows as `topoflow pcap` (packet clock)', async () => {
  const reference: Flow[] = []
  for await (const f of flowsFromPcap(file, { nodeTID: 't', captureID: 'c' })) reference.push(f)
  const { flows, s } = await session(file)
  await waitFor('the end of the file', () => flows.length >= reference.length || undefined)
  s.tick(Date.now()) // a file's flows follow its own clock, not the wall clock
  await s.stop()
  assert.deepEqual(summary(flows), summary(reference))
  assert.equal(s.status('h', 0).PacketsReceived, 264)
})

test('a missing file fails the start; a truncated one ends in State error after its packets', async () => {
  const { s } = await session(join(corpusDir, 'does-not-exist.pcap'))
  assert.equal(s.state, 'error')
  assert.match(s.error ?? '', /does-not-exist\.pcap/)
  const dir = mkdtempSync(join(tmpdir(), 'tf-pcapfile-'))
  try {
    const bytes = readFileSync(file)
    const cut = join(dir, 'cut.pcap')
    writeFileSync(cut, bytes.subarray(0, bytes.length - 7))
    const t = await session(cut)
    await waitFor('the truncation error', () => t.s.state === 'error' || undefined)
    assert.match(t.s.error ?? '', /Truncated capture/)
    assert.ok(t.flows.length > 0, 'the flows read before the cut are emitted')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

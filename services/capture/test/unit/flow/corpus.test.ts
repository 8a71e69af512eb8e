import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { TopoflowError } from '@topoflow/core'
import { flowsFromPcap, type PcapRunSummary } from '../../../src/flow/index.ts'
import { corpusDir, pcap } from './helpers.ts'

test('every capture of the corpus goes through reader, decoders and flow table without an escaping exception', async (t) => {
  const files = readdirSync(corpusDir).filter(f => /\.pcap(ng)?$/.test(f)).sort()
  assert.ok(files.length >= 800, `corpus has ${files.length} captures`)
  const started = performance.now()
  let flows = 0; let packets = 0; let formatErrors = 0; let decodeProblems = 0
  for (const file of files) {
    let summary: PcapRunSummary | undefined
    try {
      for await (const f of flowsFromPcap(pcap(file), { onSummary: (s) => { summary = s } })) {
        flows++
        assert.ok(f.UUID !== '' && f.Metric.ABPackets + f.Metric.BAPackets > 0, `${file}: flow with identity and packets`)
      }
    } catch (err) {
      // the only acceptable failure: a malformed or truncated capture file, reported cleanly
      assert.ok(TopoflowError.is(err), `${file}: ${String(err)}`)
      assert.equal(err.code, 'TOPOFLOW_ERR_PCAP_FORMAT', `${file}: ${err.message}`)
      formatErrors++
    }
    assert.ok(summary !== undefined, `${file}: summary reported`)
    packets += summary.packets
    decodeProblems += Object.values(summary.decodeErrors).reduce((a, b) => a + b, 0)
  }
  const seconds = (performance.now() - started) / 1000
  assert.ok(seconds < 60, `took ${seconds.toFixed(1)} s`)
  t.diagnostic(`${files.length} files, ${packets} packets, ${flows} flows, ${formatErrors} unreadable files, ${decodeProblems} decode problems, ${seconds.toFixed(1)} s`)
  assert.ok(packets > 10000 && flows > 1500, `${packets} packets, ${flows} flows`)
  assert.ok(formatErrors < files.length / 10, `${formatErrors} unreadable files`)
  assert.ok(decodeProblems > 0, 'malformed packets of the corpus are counted')
})

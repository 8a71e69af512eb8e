import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import { TopoflowError } from '@topoflow/core'
import { seededRandom } from '@topoflow/testing/seeded-random'
import { FlowTable, flowsFromPcap, LinkType, PacketDecoder, type Flow } from '../../../src/flow/index.ts'
import { capturePackets, corpusDir } from './helpers.ts'

// Mutation fuzzing of the decoders and the flow table: the corpus's packets with bytes flipped,
// cut short, grown with garbage or given another link type. Whatever comes out, no exception may
// escape, the decoders' safety net (which counts an exception of their own as `decoder-…`) must
// never be needed, and every flow must still be well formed.

interface Sample { linkType: number, data: Buffer }

function corpusPackets (): Sample[] {
  return readdirSync(corpusDir).filter(f => /\.pcap(ng)?$/.test(f)).sort()
    .flatMap((file) => capturePackets(readFileSync(`${corpusDir}/${file}`), true))
}

const linkTypes = [LinkType.ETHERNET, LinkType.RAW, LinkType.IPV4, LinkType.IPV6, LinkType.LINUX_SLL, LinkType.LINUX_SLL2, LinkType.PPP, LinkType.NULL, LinkType.LOOP]

function mutate (s: Sample, random: () => number): Sample {
  const pick = (n: number): number => Math.floor(random() * n)
  let data = Buffer.from(s.data)
  let linkType = s.linkType
  const kind = pick(5)
  if (kind === 0 || kind === 4) {
    // Flip a few bytes, mostly in the headers where the decoders look.
    const flips = 1 + pick(4)
    for (let i = 0; i < flips && data.length > 0; i++) data[pick(Math.min(data.length, 96))] = pick(256)
  }
  if (kind === 1 || kind === 4) data = data.subarray(0, pick(data.length + 1))
  if (kind === 2) data = Buffer.concat([data, Buffer.from(Array.from({ length: 1 + pick(64) }, () => pick(256)))])
  if (kind === 3) linkType = linkTypes[pick(linkTypes.length)] as number
  return { linkType, data }
}

function assertWellFormed (f: Flow): void {
  // Skydive's hex digests are not zero-padded.
  assert.match(f.UUID, /^[0-9a-f]{1,16}$/)
  assert.ok(f.LayersPath.length > 0)
  const m = f.Metric
  for (const v of [m.ABPackets, m.ABBytes, m.BAPackets, m.BABytes, m.Start, m.Last]) assert.ok(Number.isFinite(v) && v >= 0, JSON.stringify(m))
  assert.ok(m.ABPackets + m.BAPackets > 0)
  assert.ok(m.Last >= m.Start)
  JSON.parse(JSON.stringify(f))
}

test('mutated corpus packets: no exception escapes, none is caught by the decoders\' safety net, every flow is well formed', (t) => {
  const samples = corpusPackets()
  assert.ok(samples.length > 10000, `${samples.length} corpus packets`)
  const random = seededRandom(0xf022)
  const decoder = new PacketDecoder()
  let flows = 0
  // L2 and L3 keys, with TCPMetric: every path of the table.
  const tables = [
    new FlowTable({ extraTcpMetric: true, maxEntries: 5000, onFlows: (batch) => { for (const f of batch) { assertWellFormed(f); flows++ } } }),
    new FlowTable({ layerKeyMode: 'L3', maxEntries: 5000, onFlows: (batch) => { for (const f of batch) { assertWellFormed(f); flows++ } } })
  ]
  const rounds = 200_000
  for (let i = 0; i < rounds; i++) {
    const s = mutate(samples[Math.floor(random() * samples.length)] as Sample, random)
    const pkt = decoder.decode(s.linkType, s.data, s.data.length)
    // A packet every 10 ms: updates and expiry run along the way.
    if (pkt !== undefined) for (const table of tables) table.processPacket(pkt, 1_700_000_000 + Math.floor(i / 100), (i % 100) * 10_000_000)
  }
  for (const table of tables) table.flush()
  const errors = Object.fromEntries(decoder.stats.errors)
  t.diagnostic(`${rounds} mutated packets: ${decoder.stats.decoded} decoded, ${decoder.stats.skipped} skipped, ${flows} flows; ${JSON.stringify(errors)}`)
  assert.equal(errors['decoder-exception'], undefined)
  assert.equal(errors['decoder-range-error'], undefined)
  assert.equal(decoder.stats.decoded + decoder.stats.skipped, rounds)
  assert.ok(flows > 1000, `${flows} flows`)
})

test('mutated corpus files: a pcap or pcapng file damaged anywhere reads to its end or stops with TOPOFLOW_ERR_PCAP_FORMAT, and never hangs', async (t) => {
  const files = readdirSync(corpusDir).filter(f => /\.pcap(ng)?$/.test(f)).sort().map(f => readFileSync(`${corpusDir}/${f}`)).filter(b => b.length < 64 * 1024)
  const random = seededRandom(0xf11e)
  const pick = (n: number): number => Math.floor(random() * n)
  const outcomes = { read: 0, formatError: 0 }
  const started = performance.now()
  const rounds = 10_000
  for (let i = 0; i < rounds; i++) {
    const file = Buffer.from(files[pick(files.length)] as Buffer)
    // Block and record headers are where a reader can be misled: damage the start more often.
    const flips = 1 + pick(6)
    for (let f = 0; f < flips; f++) file[pick(2) === 0 ? pick(Math.min(file.length, 64)) : pick(file.length)] = pick(256)
    const cut = pick(4) === 0 ? file.subarray(0, pick(file.length + 1)) : file
    try {
      for await (const flow of flowsFromPcap(Readable.from([cut]))) assertWellFormed(flow)
      outcomes.read++
    } catch (err) {
      assert.ok(TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_PCAP_FORMAT', String(err))
      outcomes.formatError++
    }
  }
  const seconds = (performance.now() - started) / 1000
  t.diagnostic(`${rounds} damaged files in ${seconds.toFixed(1)} s: ${JSON.stringify(outcomes)}`)
  assert.ok(outcomes.read > 0 && outcomes.formatError > 0)
})

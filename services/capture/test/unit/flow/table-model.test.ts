import { test } from 'node:test'
import assert from 'node:assert/strict'
import { seededRandom } from '@topoflow/testing/seeded-random'
import { FlowTable, PacketDecoder, type Flow } from '../../../src/flow/index.ts'
import { frame } from './helpers.ts'

// The flow table against a plain model on random traffic: a Map from the unordered pair of
// endpoints to counters, in least-recently-seen order, where the oldest is dropped when the table
// is full. The table's own machinery (hashed index with backward-shift deletion, slot reuse,
// recency stamps renumbered when they run out, growth) must give exactly the model's flows.

interface ModelFlow { a: string, abPackets: number, abBytes: number, baPackets: number, baBytes: number }

const T0 = 1_700_000_000

for (const seed of [1, 2, 3]) {
  test(`random traffic ${seed}: the table's flows, counters and drops are the model's, through evictions and renumbered stamps`, () => {
    const random = seededRandom(seed)
    const pick = (n: number): number => Math.floor(random() * n)
    const maxEntries = 40
    const flows: Flow[] = []
    const table = new FlowTable({ maxEntries, stampLimit: 97, layerKeyMode: 'L3', onFlows: (batch) => { flows.push(...batch) } })
    const decoder = new PacketDecoder()
    const model = new Map<string, ModelFlow>()
    let dropped = 0
    const hosts = Array.from({ length: 12 }, (_, i) => `10.0.${i >> 2}.${(i & 3) + 1}`)
    const packets = 20_000
    for (let i = 0; i < packets; i++) {
      // A skewed choice of endpoints, so that some flows stay busy while others come and go.
      const x = pick(hosts.length); let y = pick(hosts.length)
      if (y === x) y = (y + 1) % hosts.length
      const proto = pick(3) === 0 ? 6 : 17
      const [sport, dport] = [1000 + pick(random() < 0.7 ? 2 : 40), 80 + pick(3)]
      const forward = random() < 0.5
      const src = forward ? hosts[x] as string : hosts[y] as string
      const dst = forward ? hosts[y] as string : hosts[x] as string
      const [sp, dp] = forward ? [sport, dport] : [dport, sport]
      const data = frame({ src, dst, proto, sport: sp, dport: dp, flags: 0x10, payload: pick(200) })
      const pkt = decoder.decode(1, data, data.length)
      assert.ok(pkt !== undefined)
      // All within one update period: no tick, only the table's own bound removes flows.
      table.processPacket(pkt, T0 + Math.floor(i / 1000), (i % 1000) * 1_000_000)

      const ends = [`${src}:${sp}`, `${dst}:${dp}`].sort()
      const key = `${proto}|${ends[0] as string}|${ends[1] as string}`
      let f = model.get(key)
      if (f === undefined) f = { a: `${src}:${sp}`, abPackets: 0, abBytes: 0, baPackets: 0, baBytes: 0 }
      model.delete(key)
      model.set(key, f)
      if (`${src}:${sp}` === f.a) { f.abPackets++; f.abBytes += data.length } else { f.baPackets++; f.baBytes += data.length }
      if (model.size > maxEntries) {
        model.delete(model.keys().next().value as string)
        dropped++
      }
      assert.equal(table.size, model.size, `after packet ${i}`)
    }
    table.flush()
    assert.equal(table.counters.flowsDropped, dropped)
    assert.ok(dropped > 1000, `${dropped} flows dropped`)
    const got = new Map<string, ModelFlow>()
    for (const f of flows) {
      const a = `${f.Network?.A as string}:${f.Transport?.A as number}`
      const b = `${f.Network?.B as string}:${f.Transport?.B as number}`
      const ends = [a, b].sort()
      const key = `${f.Transport?.Protocol === 'TCP' ? 6 : 17}|${ends[0] as string}|${ends[1] as string}`
      assert.ok(!got.has(key), `one flow for ${key}`)
      got.set(key, { a, abPackets: f.Metric.ABPackets, abBytes: f.Metric.ABBytes, baPackets: f.Metric.BAPackets, baBytes: f.Metric.BABytes })
    }
    assert.deepEqual(new Map([...got].sort()), new Map([...model].sort()))
    // Flushed least recently seen first, as the model orders them.
    assert.deepEqual(flows.map((f) => `${f.Network?.A as string}:${f.Transport?.A as number}`), [...model.values()].map((f) => f.a))
  })
}

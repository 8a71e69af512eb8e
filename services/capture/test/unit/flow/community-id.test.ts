import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isIP } from 'node:net'
import { communityId, hex64, icmpPorts, StreamingXXH64, xxh64Into } from '../../../src/flow/index.ts'

function addr (s: string): Uint8Array {
  if (isIP(s) === 4) return Uint8Array.from(s.split('.').map(Number))
  const [head = '', tail = ''] = s.split('::')
  const h = head === '' ? [] : head.split(':')
  const t = s.includes('::') ? (tail === '' ? [] : tail.split(':')) : []
  const groups = s.includes('::') ? [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t] : s.split(':')
  const out = new Uint8Array(16)
  groups.forEach((g, i) => { const v = parseInt(g, 16); out[i * 2] = v >> 8; out[i * 2 + 1] = v & 0xff })
  return out
}

// corelight/community-id-spec baseline/baseline_deflt.json and baseline_seed1.json. For ICMP the
// baseline gives the port equivalents already mapped (type, counter-type or code).
const baseline: Array<[number, string, string, number | null, number | null, string, string]> = [
  [58, 'fe80::200:86ff:fe05:80da', 'fe80::260:97ff:fe07:69ea', 135, 136, '1:dGHyGvjMfljg6Bppwm3bg0LO8TY=', '1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY='],
  [58, 'fe80::260:97ff:fe07:69ea', 'fe80::200:86ff:fe05:80da', 136, 135, '1:dGHyGvjMfljg6Bppwm3bg0LO8TY=', '1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY='],
  [58, 'fe80::260:97ff:fe07:69ea', 'fe80::200:86ff:fe05:80da', 135, 136, '1:zavyT/cezQr1fmImYCwYnMXbgck=', '1:2hSqmsDZ2kdcY9kbiUzOEBic0iM='],
  [58, 'fe80::200:86ff:fe05:80da', 'fe80::260:97ff:fe07:69ea', 136, 135, '1:zavyT/cezQr1fmImYCwYnMXbgck=', '1:2hSqmsDZ2kdcY9kbiUzOEBic0iM='],
  [58, '3ffe:501:1800:2345::2', '3ffe:507:0:1:200:86ff:fe05:80da', 3, 0, '1:2ObVBgIn28oZvibYZhZMBgh7WdQ=', '1:lVEtCZpYu84Xqaa++3lXFyuu2n4='],
  [58, '3ffe:501:410:0:2c0:dfff:fe47:33e', '3ffe:507:0:1:200:86ff:fe05:80da', 1, 4, '1:hLZd0XGWojozrvxqE0dWB1iM6R0=', '1:W8MHwXpWzpoSTD+cGcaJr4u0ys8='],
  [58, '3ffe:507:0:1:200:86ff:fe05:80da', '3ffe:501:0:1001::2', 128, 129, '1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=', '1:GfZxjAkDk2MkegpBYHV6tadtFXQ='],
  [58, '3ffe:501:0:1001::2', '3ffe:507:0:1:200:86ff:fe05:80da', 129, 128, '1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=', '1:GfZxjAkDk2MkegpBYHV6tadtFXQ='],
  [58, 'fe80::200:86ff:fe05:80da', 'ff02::2', 133, 134, '1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=', '1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8='],
  [58, 'fe80::260:97ff:fe07:69ea', 'ff02::1', 134, 133, '1:pkvHqCL88/tg1k4cPigmZXUtL00=', '1:K/ee5UCqAMAQXDorP5nSa2CGLjc='],
  [1, '192.168.0.89', '192.168.0.1', 8, 0, '1:X0snYXpgwiv9TZtqg64sgzUn6Dk=', '1:03g6IloqVBdcZlPyX8r0hgoE7kA='],
  [1, '192.168.0.1', '192.168.0.89', 0, 8, '1:X0snYXpgwiv9TZtqg64sgzUn6Dk=', '1:03g6IloqVBdcZlPyX8r0hgoE7kA='],
  [1, '10.0.0.1', '10.0.0.2', 11, 0, '1:YHxtAirCG//0OzkcVAukqKQN9xM=', '1:XjUibYHaafLQ3pxQeiMI8g25q20='],
  [6, '2001:470:e5bf:dead:4957:2174:e82c:4887', '2607:f8b0:400c:c03::1a', 63943, 25, '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=', '1:eJYTW6AOzFLlSUoESovMjnu7rMw='],
  [6, '2607:f8b0:400c:c03::1a', '2001:470:e5bf:dead:4957:2174:e82c:4887', 25, 63943, '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=', '1:eJYTW6AOzFLlSUoESovMjnu7rMw='],
  [132, '192.168.170.8', '192.168.170.56', 7, 7, '1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=', '1:5w3ZRjeKBzqT3zsaEECDGjUbYeg='],
  [132, '192.168.170.56', '192.168.170.8', 7, 7, '1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=', '1:5w3ZRjeKBzqT3zsaEECDGjUbYeg='],
  [6, '128.232.110.120', '66.35.250.204', 34855, 80, '1:LQU9qZlK+B5F3KDmev6m5PMibrg=', '1:3V71V58M3Ksw/yuFALMcW0LAHvc='],
  [6, '66.35.250.204', '128.232.110.120', 80, 34855, '1:LQU9qZlK+B5F3KDmev6m5PMibrg=', '1:3V71V58M3Ksw/yuFALMcW0LAHvc='],
  [17, '192.168.1.52', '8.8.8.8', 54585, 53, '1:d/FP5EW3wiY1vCndhwleRRKHowQ=', '1:Q9We8WO3piVF8yEQBNJF4uiSVrI='],
  [17, '8.8.8.8', '192.168.1.52', 53, 54585, '1:d/FP5EW3wiY1vCndhwleRRKHowQ=', '1:Q9We8WO3piVF8yEQBNJF4uiSVrI='],
  [46, '10.1.12.1', '10.1.12.2', null, null, '1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=', '1:rYir8gphR31noO9iDRQmF/BteEI='],
  [46, '10.1.12.2', '10.1.12.1', null, null, '1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=', '1:rYir8gphR31noO9iDRQmF/BteEI=']
]

test('Community ID v1 reproduces the spec\'s published baselines (seed 0 and seed 1)', () => {
  for (const [proto, s, d, sport, dport, seed0, seed1] of baseline) {
    const icmp = proto === 1 || proto === 58
    // one-way ICMP types keep their direction: the baseline's entries are type/code pairs then
    const oneWay = icmp && icmpPorts(proto, sport ?? 0, 0).oneWay
    const tuple = { proto, saddr: addr(s), daddr: addr(d), sport: sport ?? undefined, dport: dport ?? undefined, oneWay }
    assert.equal(communityId(tuple), seed0, `${proto} ${s} ${d} ${sport} ${dport}`)
    assert.equal(communityId({ ...tuple, seed: 1 }), seed1, `seed 1: ${proto} ${s} ${d}`)
  }
})

test('ICMP types map to the spec\'s port equivalents', () => {
  assert.deepEqual(icmpPorts(1, 8, 0), { sport: 8, dport: 0, oneWay: false })
  assert.deepEqual(icmpPorts(1, 0, 0), { sport: 0, dport: 8, oneWay: false })
  assert.deepEqual(icmpPorts(1, 11, 1), { sport: 11, dport: 1, oneWay: true })
  assert.deepEqual(icmpPorts(58, 135, 0), { sport: 135, dport: 136, oneWay: false })
  assert.deepEqual(icmpPorts(58, 1, 4), { sport: 1, dport: 4, oneWay: true })
  // from raw type/code, as the table calls it: a neighbor solicitation and its advertisement agree
  const ns = icmpPorts(58, 135, 0); const na = icmpPorts(58, 136, 0)
  const x = addr('fe80::200:86ff:fe05:80da'); const y = addr('fe80::260:97ff:fe07:69ea')
  assert.equal(communityId({ proto: 58, saddr: x, daddr: y, ...ns }), communityId({ proto: 58, saddr: y, daddr: x, ...na }))
})

test('XXH64 matches the reference digests', () => {
  const out = new Uint32Array(2)
  const cases: Array<[string, number, string]> = [
    ['', 0, 'ef46db3751d8e999'],
    ['a', 0, 'd24ec4f1a98c6e5b'],
    ['abc', 0, '44bc2cf5ad770999'],
    ['Nobody inspects the spammish repetition', 0, 'fbcea83c8a378bf1']
  ]
  for (const [s, seed, hex] of cases) {
    const b = Buffer.from(s)
    xxh64Into(b, b.length, 0, seed, out)
    assert.equal(hex64(out[0] as number, out[1] as number), hex, JSON.stringify(s))
  }
})

test('streaming XXH64 reproduces the Go package\'s side effect of intermediate sums', () => {
  const data = Buffer.alloc(64, 7)
  const out = new Uint32Array(2)
  const h = new StreamingXXH64()
  h.reset(0, 0)
  h.sum(data, 40, out)
  const first = hex64(out[0] as number, out[1] as number)
  xxh64Into(data, 40, 0, 0, out)
  assert.equal(first, hex64(out[0] as number, out[1] as number), 'a first sum is standard XXH64')
  h.sum(data, 40, out)
  assert.notEqual(hex64(out[0] as number, out[1] as number), first, 'a second sum over the same bytes differs, as in Skydive')
})

test('XXH64 over 32-bit halves: seeds, 32-byte stripes and tails, high bytes, and a stream of growing prefixes', () => {
  // Digests of the previous implementation, itself checked against the reference digests above.
  const data = new Uint8Array(130)
  for (let i = 0; i < data.length; i++) data[i] = (i * 167 + 255) & 255
  const out = new Uint32Array(2)
  const cases: Array<[number, number, number, string]> = [
    [0, 0, 0, 'ef46db3751d8e999'],
    [5, 0, 1, 'a2a3b4f8b2d04714'],
    [8, 0, 0, 'd03102f86faaf3d2'],
    [31, -1, -1, 'a0aea48b76470419'],
    [32, 0, 0, 'f3b12acacf8b91d2'],
    [33, 0x12345678, 0x9abcdef0, '38b5f460198bbe6b'],
    [64, 0, 0, '4bc32e66fa978d89'],
    [100, -1, 0, 'c8b18d328484cd53'],
    [130, 0x7fffffff, -2, '916fd18fb88e341c']
  ]
  for (const [len, seedHi, seedLo, hex] of cases) {
    xxh64Into(data, len, seedHi, seedLo, out)
    assert.equal(hex64(out[0] as number, out[1] as number), hex, `length ${len}`)
  }
  const h = new StreamingXXH64()
  h.reset(0, 0)
  const stream = [28, 48, 48, 61, 96, 130].map((len) => { h.sum(data, len, out); return hex64(out[0] as number, out[1] as number) })
  assert.deepEqual(stream, ['c2cb293867728600', 'af6a756b5db93fe7', 'eb15ec980e845e9d', '9583161fb4c6d470', '336730453638d43f', '7b2dc18b29ff8a16'])
})

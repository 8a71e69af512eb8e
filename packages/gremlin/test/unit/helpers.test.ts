import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseGoDuration, parseRfc1123, resolveTimeSpec, splitMetric, sumMetrics } from '../../src/index.ts'
import { cidrContains, ipv4InRange, parseIPv4Cidr, sameIP } from '../../src/ip.ts'
import { compileAnchoredRegex } from '../../src/regex.ts'

test('Go durations', () => {
  assert.equal(parseGoDuration('-1m'), -60_000)
  assert.equal(parseGoDuration('1h30m'), 5_400_000)
  assert.equal(parseGoDuration('1.5h'), 5_400_000)
  assert.equal(parseGoDuration('+90s'), 90_000)
  assert.equal(parseGoDuration('250ms'), 250)
  assert.equal(parseGoDuration('1500us'), 1.5)
  assert.equal(parseGoDuration('0'), 0)
  for (const bad of ['', '5', 'm', '1d', '1h 30m', '--1m', 'abc']) assert.equal(parseGoDuration(bad), undefined, bad)
})

test('RFC1123 dates with named and numeric zones', () => {
  assert.equal(parseRfc1123('Tue, 14 Nov 2023 22:13:20 GMT'), 1_700_000_000_000)
  assert.equal(parseRfc1123('Tue, 14 Nov 2023 22:13:20 UTC'), 1_700_000_000_000)
  assert.equal(parseRfc1123('Tue, 14 Nov 2023 14:13:20 PST'), 1_700_000_000_000)
  assert.equal(parseRfc1123('Tue, 14 Nov 2023 23:43:20 +0130'), 1_700_000_000_000)
  assert.equal(parseRfc1123('Tue, 31 Feb 2023 22:13:20 GMT'), undefined)
  assert.equal(parseRfc1123('14 Nov 2023 22:13:20 GMT'), undefined)
})

test('time specs resolve against the clock', () => {
  assert.deepEqual(resolveTimeSpec({ at: { kind: 'relative', offsetMs: -60_000 } }, 1_000_000), { at: 940_000 })
  assert.deepEqual(resolveTimeSpec({ at: { kind: 'now' }, window: { kind: 'forever' } }, 1_000_000), { at: 1_000_000, duration: 1_000_000 })
  assert.deepEqual(resolveTimeSpec({ at: { kind: 'absolute', ms: 5 }, window: { kind: 'duration', ms: 3 } }, 9), { at: 5, duration: 3 })
})

test('IP helpers', () => {
  const r = parseIPv4Cidr('10.1.2.3/16')
  assert.deepEqual(r, { first: 10 * 2 ** 24 + 1 * 2 ** 16, last: 10 * 2 ** 24 + 1 * 2 ** 16 + 65535 })
  assert.ok(r !== undefined && ipv4InRange('10.1.200.4/24', r) && ipv4InRange('10.1.0.0', r) && !ipv4InRange('10.2.0.1', r))
  assert.equal(parseIPv4Cidr('10.0.0.256/8'), undefined)
  assert.equal(parseIPv4Cidr('10.0.0.1/33'), undefined)
  assert.ok(sameIP('10.0.0.1', '::ffff:10.0.0.1'))
  assert.ok(sameIP('2001:db8::1', '2001:0db8:0:0:0:0:0:1'))
  assert.ok(!sameIP('10.0.0.1', '10.0.0.2'))
  assert.ok(cidrContains('2001:db8::/32', '2001:db8:ffff::1'))
  assert.ok(!cidrContains('2001:db8::/32', '10.0.0.1'))
  assert.ok(cidrContains('10.0.0.0/8', '10.255.0.1'))
  assert.ok(!cidrContains('10.0.0.0/8', '2001:db8::1'))
})

test('anchored regexes and the refusal of explosive ones', () => {
  assert.ok(compileAnchoredRegex('a|b').test('b'))
  assert.ok(!compileAnchoredRegex('a|b').test('ab'))
  assert.ok(compileAnchoredRegex('(ab)+c').test('ababc'))
  assert.ok(compileAnchoredRegex('[(+]+').test('(+'))
  assert.throws(() => compileAnchoredRegex('(a*)*'), /nested quantifiers/)
  assert.throws(() => compileAnchoredRegex('((a|b)+c)+'), /nested quantifiers/)
  assert.throws(() => compileAnchoredRegex('x'.repeat(600)), /longer than/)
})

test('metrics split in proportion to time and sum', () => {
  const m = { ABBytes: 100, ABPackets: 10, BABytes: 0, BAPackets: 0, Start: 0, Last: 100 }
  const [a, b] = splitMetric(m, 25)
  assert.deepEqual(a, { ABBytes: 25, ABPackets: 2, BABytes: 0, BAPackets: 0, Start: 0, Last: 25 })
  assert.deepEqual(b, { ABBytes: 75, ABPackets: 8, BABytes: 0, BAPackets: 0, Start: 25, Last: 100 })
  assert.deepEqual(splitMetric(m, 0), [undefined, m])
  assert.deepEqual(sumMetrics([m, { ...m, Start: 50, Last: 200 }]), { ABBytes: 200, ABPackets: 20, BABytes: 0, BAPackets: 0, Start: 0, Last: 200 })
  assert.equal(sumMetrics([]), null)
})

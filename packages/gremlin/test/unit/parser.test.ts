import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TopoflowError } from '@topoflow/core'
import { parseGremlin, tokenize } from '../../src/index.ts'
import type { Predicate } from '../../src/index.ts'

function syntaxErrorOf (query: string): TopoflowError {
  try {
    parseGremlin(query)
  } catch (err) {
    assert.ok(TopoflowError.is(err), `expected a TopoflowError for ${query}, got ${String(err)}`)
    assert.equal(err.code, 'TOPOFLOW_ERR_GREMLIN_SYNTAX')
    return err
  }
  assert.fail(`expected a syntax error for ${query}`)
}

test('lexer: identifiers, strings in both quotes, numbers, punctuation, with offsets', () => {
  const tokens = tokenize(`G.V().Has("Name", 'eth0', 1500, 1.5)`)
  assert.deepEqual(tokens.map((t) => [t.kind, t.text, t.start]), [
    ['ident', 'G', 0], ['dot', '.', 1], ['ident', 'V', 2], ['lparen', '(', 3], ['rparen', ')', 4], ['dot', '.', 5],
    ['ident', 'Has', 6], ['lparen', '(', 9], ['string', 'Name', 10], ['comma', ',', 16], ['string', 'eth0', 18],
    ['comma', ',', 24], ['number', '1500', 26], ['comma', ',', 30], ['number', '1.5', 32], ['rparen', ')', 35], ['eof', '', 36]
  ])
})

test('lexer: a string ends at its own quote, so the other quote can be inside', () => {
  const [, , str] = tokenize(`G("O'Brien")`)
  assert.equal(str?.text, 'O\'Brien')
  const [, , str2] = tokenize(`G('say "hi"')`)
  assert.equal(str2?.text, 'say "hi"')
})

test('lexer: identifiers are upper-cased for keyword matching, original text kept', () => {
  const [t] = tokenize('hasEither')
  assert.equal(t?.upper, 'HASEITHER')
  assert.equal(t?.text, 'hasEither')
})

test('lexer errors: unterminated string, signed number, letter after digits, stray character', () => {
  assert.match(syntaxErrorOf(`G.V('abc`).message, /column 5: unterminated string/)
  assert.match(syntaxErrorOf('G.V().Has(\'MTU\', -1)').message, /column 18: signed numbers are not supported/)
  assert.match(syntaxErrorOf('G.At(5m)').message, /column 7: a number cannot be followed by a letter/)
  assert.match(syntaxErrorOf('G.V().Has(\'a\', 1.2.3)').message, /malformed number/)
  assert.match(syntaxErrorOf('G.V()@').message, /column 6: unexpected character.*found "@"/)
  assert.match(syntaxErrorOf('G.V().Has(\'a\' ; 1)').message, /column 15: unexpected character/)
})

test('parser: keywords and step names are case-insensitive', () => {
  for (const q of ['G.V().Has("Type", "host")', 'g.v().has("Type", "host")', 'G.v().HAS("Type", "host")']) {
    const query = parseGremlin(q)
    assert.equal(query.steps.length, 2)
    assert.deepEqual(query.steps.map((s) => s.name), ['V', 'Has'])
    assert.deepEqual(query.steps[1]?.params, ['Type', 'host'])
  }
})

test('parser: G alone, whitespace and newlines between tokens', () => {
  assert.deepEqual(parseGremlin('G').steps, [])
  const query = parseGremlin('  G\n  .V()\n\t.Out( "Type" ,\t"netns" )  ')
  assert.deepEqual(query.steps.map((s) => [s.name, s.params]), [['V', []], ['Out', ['Type', 'netns']]])
})

test('parser: literals TRUE/FALSE, numbers (int and float), keywords', () => {
  const [step] = parseGremlin('G.V().Has("a", TRUE, "b", false, "c", 42, "d", 2.5)').steps.slice(1)
  assert.deepEqual(step?.params, ['a', true, 'b', false, 'c', 42, 'd', 2.5])
  const sort = parseGremlin('G.V().Sort(desc, "Name")').steps[1]
  assert.deepEqual(sort?.params[0], { kind: 'keyword', word: 'DESC' })
})

test('parser: every predicate and its arguments', () => {
  const params = parseGremlin(`G.V().Has(
    'a', NE('x'), 'b', NEE(3), 'c', LT(1), 'd', GT(2), 'e', LTE(3), 'f', GTE('4'),
    'g', INSIDE(1, 5), 'h', OUTSIDE(1, 5), 'i', BETWEEN(1, 5), 'j', WITHIN('x', 2, TRUE),
    'k', WITHOUT('y'), 'l', REGEX('eth[0-9]+'), 'm', IPV4RANGE('10.0.0.0/8'))`).steps[1]?.params ?? []
  const preds = params.filter((_, i) => i % 2 === 1) as Predicate[]
  assert.deepEqual(preds.map((p) => p.name), ['NE', 'NEE', 'LT', 'GT', 'LTE', 'GTE', 'INSIDE', 'OUTSIDE', 'BETWEEN', 'WITHIN', 'WITHOUT', 'REGEX', 'IPV4RANGE'])
  assert.deepEqual(preds[5], { kind: 'predicate', name: 'GTE', value: 4 })
  assert.deepEqual(preds[6], { kind: 'predicate', name: 'INSIDE', from: 1, to: 5 })
  assert.deepEqual(preds[9], { kind: 'predicate', name: 'WITHIN', values: ['x', 2, true] })
  const regex = preds[11]
  assert.ok(regex?.name === 'REGEX' && regex.regex.test('eth12') && !regex.regex.test('xeth1'))
})

test('parser: Metadata(...) for ShortestPathTo', () => {
  const step = parseGremlin('G.V().ShortestPathTo(Metadata("Type", "host", "Name", Regex("h.*")), Metadata("RelationType", "layer2"))').steps[1]
  assert.equal(step?.name, 'ShortestPathTo')
  const [target, edges] = step?.params as Array<{ kind: string, pairs: unknown[][] }>
  assert.equal(target?.kind, 'metadata')
  assert.equal(target?.pairs[0]?.[1], 'host')
  assert.deepEqual(edges?.pairs, [['RelationType', 'layer2']])
})

test('parser: extension steps and aliases (Node = CaptureNode)', () => {
  const q = parseGremlin('G.Flows().Has("Network", "10.0.0.1").Node().Descendants().Ascendants(2).Neighbors("RelationType", "layer2", 3)')
  assert.deepEqual(q.steps.map((s) => s.name), ['Flows', 'Has', 'CaptureNode', 'Descendants', 'Ascendants', 'Neighbors'])
  assert.deepEqual(parseGremlin('G.Flows().Metrics().Aggregates(10)').steps.map((s) => s.name), ['Flows', 'Metrics', 'Aggregates'])
  assert.deepEqual(parseGremlin('G.Flows().Group().MoreThan("2")').steps.map((s) => s.name), ['Flows', 'Group', 'MoreThan'])
  assert.deepEqual(parseGremlin('G.V().Sockets()').steps.map((s) => s.name), ['V', 'Sockets'])
  assert.deepEqual(parseGremlin('G.V().NextHop("10.0.0.1")').steps.map((s) => s.name), ['V', 'NextHop'])
})

test('time context: all forms of At/Context', () => {
  assert.deepEqual(parseGremlin('G.At("-1m").V()').time, { at: { kind: 'relative', offsetMs: -60_000 } })
  assert.deepEqual(parseGremlin('G.Context("-1h30m", 60).V()').time, { at: { kind: 'relative', offsetMs: -5_400_000 }, window: { kind: 'duration', ms: 60_000 } })
  assert.deepEqual(parseGremlin('G.At(1700000000).V()').time, { at: { kind: 'absolute', ms: 1_700_000_000_000 } })
  assert.deepEqual(parseGremlin('G.At(1700000000123).V()').time, { at: { kind: 'absolute', ms: 1_700_000_000_123 } })
  assert.deepEqual(parseGremlin('G.At(NOW, FOREVER).V()').time, { at: { kind: 'now' }, window: { kind: 'forever' } })
  assert.deepEqual(parseGremlin('G.At("now", "5m")').time, { at: { kind: 'now' }, window: { kind: 'duration', ms: 300_000 } })
  assert.deepEqual(parseGremlin('G.At("Tue, 14 Nov 2023 22:13:20 GMT")').time, { at: { kind: 'absolute', ms: 1_700_000_000_000 } })
  assert.deepEqual(parseGremlin('G.At("Tue, 14 Nov 2023 23:13:20 +0100")').time, { at: { kind: 'absolute', ms: 1_700_000_000_000 } })
  assert.deepEqual(parseGremlin('G.At("2023-11-14T22:13:20Z")').time, { at: { kind: 'absolute', ms: 1_700_000_000_000 } })
  assert.deepEqual(parseGremlin('g.at("2023-11-14T23:13:20.500+01:00", "1.5s")').time, { at: { kind: 'absolute', ms: 1_700_000_000_500 }, window: { kind: 'duration', ms: 1500 } })
  // the last of several contexts wins, as in Skydive
  assert.deepEqual(parseGremlin('G.At("-1m").At("-2m").V()').time, { at: { kind: 'relative', offsetMs: -120_000 } })
})

test('time context errors', () => {
  assert.match(syntaxErrorOf('G.V().At("-1m")').message, /column 7: At\(\) must come right after G/)
  assert.match(syntaxErrorOf('G.At()').message, /At least one parameter must be provided to 'At'/)
  assert.match(syntaxErrorOf('G.Context(1, 2, 3)').message, /At most two parameters must be provided to 'Context'/)
  assert.match(syntaxErrorOf('G.At("yesterday")').message, /column 6: Time must be in RFC1123 or in Go Duration format/)
  assert.match(syntaxErrorOf('G.At("-1m", "soon")').message, /column 13: the duration must be a Go duration/)
  assert.match(syntaxErrorOf('G.At("-1m", "-5m")').message, /the duration cannot be negative/)
  assert.match(syntaxErrorOf('G.At(1.5)').message, /must be either an integer or a string/)
  assert.match(syntaxErrorOf('G.At(FOREVER)').message, /must be either an integer or a string/)
  assert.match(syntaxErrorOf('G.At(NOW, NOW)').message, /must be either an integer or a string/)
  assert.match(syntaxErrorOf('G.At("Mon, 32 Jan 2006 15:04:05 MST")').message, /RFC1123/)
})

test('syntax errors say where and what was expected', () => {
  const e1 = syntaxErrorOf('V().Has("a")')
  assert.match(e1.message, /column 1: a query starts with G, expected `G`, found 'V'/)
  assert.equal(e1.context.position, 0)
  const e2 = syntaxErrorOf('G.V().Foo()')
  assert.match(e2.message, /column 7: Expected step function, got: Foo/)
  assert.equal(e2.context.column, 7)
  assert.match(syntaxErrorOf('G.V()Has()').message, /column 6: steps are separated by dots, expected `\.`, found 'Has'/)
  assert.match(syntaxErrorOf('G.V').message, /column 4: 'V' must be followed by parentheses, expected `\(`, found end of query/)
  assert.match(syntaxErrorOf('G.V(').message, /column 5: missing argument/)
  assert.match(syntaxErrorOf('G.V("a" "b")').message, /column 9: unfinished arguments of 'V', expected `,` or `\)`, found string 'b'/)
  assert.match(syntaxErrorOf('G.V().Has("a",)').message, /column 15: missing argument/)
  assert.match(syntaxErrorOf('G.V().').message, /column 7: missing step name, expected a step name, found end of query/)
  assert.match(syntaxErrorOf('G.V().Has("a", foo)').message, /column 16: unknown argument 'foo'/)
  assert.match(syntaxErrorOf('G.V().Has("a", CONTAINS("x"))').message, /unknown argument 'CONTAINS'/)
  const multi = syntaxErrorOf('G.V()\n  .Foo()')
  assert.match(multi.message, /line 2, column 4/)
})

test('argument checks of steps and predicates', () => {
  const cases: Array<[string, RegExp]> = [
    ['G.V(1)', /V parameter must be a string/],
    ['G.V("a", "b", "c")', /params should be a list of key,value/],
    ['G.V().Has()', /At least one parameter must be provided/],
    ['G.V().Has(1)', /key must be a string/],
    ['G.V().Has("a", "b", "c")', /params should be a list of key,value/],
    ['G.V().Has(1, 2)', /keys should be of string type/],
    ['G.V().Has("a", Metadata("b", 1))', /a value must be a string, a number, a boolean or a predicate/],
    ['G.V().HasKey()', /HasKey accepts only one parameter of type string/],
    ['G.V().HasNot(1)', /HasNot accepts only one parameter of type string/],
    ['G.V().Count(1)', /Count accepts no parameter/],
    ['G.V().Range(1)', /Range requires 2 parameters/],
    ['G.V().Range(0, 1.5)', /1.5 is not an integer/],
    ['G.V().Limit("a")', /a is not an integer/],
    ['G.V().Sort("a", "b")', /Use ASC or DESC predicate/],
    ['G.V().Sort(ASC, 1)', /Second sort parameter has to be a string key/],
    ['G.V().Sort(1)', /Sort parameter has to be a string key/],
    ['G.V().Values()', /Values requires 1 parameter/],
    ['G.V().ValueMap()', /ValueMap requires at least one key/],
    ['G.V().Dedup(1)', /Dedup parameters have to be string keys/],
    ['G.V().ShortestPathTo("a")', /ShortestPathTo parameters have to be Metadata/],
    ['G.V().ShortestPathTo()', /accepts only 1 or 2 parameters/],
    ['G.V().Metrics("Foo")', /Metric field unknown/],
    ['G.V().Metrics().Aggregates(0)', /Aggregates parameter has to be a positive number/],
    ['G.Flows("Network")', /at least two parameters/],
    ['G.V().Descendants("a", "b", "c")', /last argument must be the maximum depth/],
    ['G.V().NextHop("nope")', /NextHop parameter have to be a valid IP address/],
    ['G.Flows().Group().MoreThan("x")', /MoreThan parameter must be a positive integer/],
    ['G.V().Has("a", NE())', /NE takes one parameter/],
    ['G.V().Has("a", INSIDE(1))', /INSIDE takes 2 parameters/],
    ['G.V().Has("a", LT("x"))', /LT values should be of int64 type/],
    ['G.V().Has("a", WITHIN())', /WITHIN takes at least one value/],
    ['G.V().Has("a", WITHIN(NE(1)))', /WITHIN takes a string, a number or a boolean/],
    ['G.V().Has("a", REGEX(1))', /REGEX predicate expects a string/],
    ['G.V().Has("a", REGEX("^eth"))', /Regex are anchored by default/],
    ['G.V().Has("a", REGEX("eth$"))', /Regex are anchored by default/],
    ['G.V().Has("a", REGEX("eth("))', /invalid regex/],
    ['G.V().Has("a", REGEX("(a+)+"))', /nested quantifiers/],
    ['G.V().Has("a", REGEX("(a)\\1"))', /back-references/],
    ['G.V().Has("a", IPV4RANGE("10.0.0.1"))', /invalid CIDR address: 10.0.0.1/],
    ['G.V().Has("a", IPV4RANGE(10))', /Ipv4Range value has to be a string/],
    ['G.V().ShortestPathTo(Metadata("a"))', /pairs of key, value/]
  ]
  for (const [query, expected] of cases) {
    assert.match(syntaxErrorOf(query).message, expected, query)
  }
})

test('bad input never throws anything but a syntax TopoflowError', () => {
  const alphabet = ['G', '.', 'V', '(', ')', '\'', '"', ',', ' ', 'Has', 'At', '1', '-', 'x', 'NE', 'Metadata', '\n', '\\', '$', 'é']
  let seed = 42
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed / 2147483648
  }
  for (let i = 0; i < 3000; i++) {
    let query = random() < 0.5 ? 'G' : ''
    const length = Math.floor(random() * 20)
    for (let j = 0; j < length; j++) query += alphabet[Math.floor(random() * alphabet.length)]
    try {
      parseGremlin(query)
    } catch (err) {
      assert.ok(TopoflowError.is(err), `non-Topoflow error for ${JSON.stringify(query)}: ${String(err)}`)
      assert.equal(err.code, 'TOPOFLOW_ERR_GREMLIN_SYNTAX')
      assert.equal(typeof err.context.column, 'number')
    }
  }
  assert.equal(syntaxErrorOf(undefined as unknown as string).code, 'TOPOFLOW_ERR_GREMLIN_SYNTAX')
  assert.match(syntaxErrorOf('G' + '.V()'.repeat(20_000)).message, /longer than/)
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { generateTypes, generatedTypesPath } from '../../src/typegen.ts'

test('the committed generated types match the schemas (run npm run -w schemas gen:types)', () => {
  assert.equal(readFileSync(generatedTypesPath, 'utf8'), generateTypes())
})

test('generated types declare a value and an input type for every topic', () => {
  const source = generateTypes()
  assert.match(source, /export interface TopicValues \{\n {2}'topoflow\.topology\.events\.v1': TopologyEvent\n/)
  assert.match(source, /'topoflow\.flows\.raw\.v1': FlowInput\n/)
  assert.match(source, /export type FlowProtocol = 'ETHERNET' \| 'IPV4' \| 'TCP' \| 'UDP' \| 'SCTP' \| 'IPV6' \| 'ICMPV4' \| 'ICMPV6'\n/)
  // decoded values have every field; inputs may leave out fields with defaults
  assert.match(source, /export interface FlowMetric \{[^}]*\n {2}RTT: number\n/)
  assert.match(source, /export interface FlowMetricInput \{[^}]*\n {2}RTT\?: number\n/)
  assert.match(source, /export interface Node \{[^}]*\n {2}Metadata: Record<string, unknown>\n/)
  assert.match(source, /export interface DeadLetter \{[^}]*\n {2}OriginalKey: Buffer \| null\n/)
  // one declaration per shared type
  assert.equal(source.match(/export interface Node \{/g)?.length, 1)
  assert.equal(source.match(/export interface FlowLayer \{/g)?.length, 1)
})

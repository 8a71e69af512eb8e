import { codecFor, readFixture, topics, type Flow } from '@topoflow/schemas'
import { opsPerSecond, type Comparison } from '../src/report.ts'

/** Avro single-object encode/decode of a raw flow record against JSON.stringify/parse of the same record. */
export function avroVsJson (): Comparison[] {
  const codec = codecFor(topics.flowsRaw)
  const flow = readFixture(topics.flowsRaw)
  const avroBytes = codec.encode(flow)
  const jsonText = JSON.stringify(flow)
  const jsonBytes = Buffer.from(jsonText)
  let sink = 0
  const encodeAvro = opsPerSecond(() => { sink += codec.encode(flow).length })
  const encodeJson = opsPerSecond(() => { sink += Buffer.from(JSON.stringify(flow)).length })
  const decodeAvro = opsPerSecond(() => { sink += (codec.decode(avroBytes) as Flow).Start })
  const decodeJson = opsPerSecond(() => { sink += (JSON.parse(jsonBytes.toString()) as Flow).Start })
  if (sink === 0) throw new Error('unreachable: keeps the work from being optimised away')
  const size = `${avroBytes.length} B vs ${jsonBytes.length} B`
  return [
    { scenario: 'flow record encode', ours: 'Avro (avsc)', reference: 'JSON', unit: 'records/s', oursRate: encodeAvro, referenceRate: encodeJson, note: size },
    { scenario: 'flow record decode', ours: 'Avro (avsc)', reference: 'JSON', unit: 'records/s', oursRate: decodeAvro, referenceRate: decodeJson }
  ]
}

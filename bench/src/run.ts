import { avroVsJson } from '../codec/avro-vs-json.bench.ts'
import { apiBenchmarks } from '../api/api.bench.ts'
import { liveCaptureBackends } from '../capture/live.bench.ts'
import { zeroDropRates } from '../capture/zero-drop.bench.ts'
import { enricherThroughput } from '../enricher/enricher.bench.ts'
import { graphBuilderThroughput } from '../graph-builder/graph-builder.bench.ts'
import { producerVsPerfTool } from '../kafka/producer.bench.ts'
import { topologyBench } from '../topology/topology.bench.ts'
import { flowTableMemory } from '../pcap/flow-memory.bench.ts'
import { pcapVsTcpdump } from '../pcap/pcap-vs-tcpdump.bench.ts'
import { bpfVsTcpdump } from '../pcap/bpf-vs-tcpdump.bench.ts'
import { formatTable, type Comparison } from './report.ts'

/** Each scenario measures ours and a reference tool on the same input in this one run. */
const scenarios: Record<string, () => Comparison[] | Promise<Comparison[]>> = {
  codec: avroVsJson,
  pcap: pcapVsTcpdump,
  bpf: bpfVsTcpdump,
  flows1m: flowTableMemory,
  kafka: producerVsPerfTool,
  capture: liveCaptureBackends,
  'capture-rate': zeroDropRates,
  api: apiBenchmarks,
  enricher: enricherThroughput,
  'graph-builder': graphBuilderThroughput,
  topology: topologyBench
}

const wanted = process.argv.slice(2)
const rows: Comparison[] = []
const failed: string[] = []
for (const [name, run] of Object.entries(scenarios)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue
  process.stderr.write(`Running ${name}...\n`)
  try {
    rows.push(...await run())
  } catch (err) {
    failed.push(`${name}: ${(err as Error).message}`)
  }
}
process.stdout.write(formatTable(rows) + '\n')
for (const f of failed) process.stdout.write(`not measured: ${f}\n`)
process.exitCode = failed.length === 0 ? 0 : 1

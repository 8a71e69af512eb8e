import { avroVsJson } from '../codec/avro-vs-json.bench.ts'
import { pcapVsTcpdump } from '../pcap/pcap-vs-tcpdump.bench.ts'
import { formatTable, type Comparison } from './report.ts'

/** Each scenario measures ours and a reference tool on the same input in this one run. */
const scenarios: Record<string, () => Comparison[] | Promise<Comparison[]>> = {
  codec: avroVsJson,
  pcap: pcapVsTcpdump
}

const wanted = process.argv.slice(2)
const rows: Comparison[] = []
for (const [name, run] of Object.entries(scenarios)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue
  process.stderr.write(`Running ${name}...\n`)
  rows.push(...await run())
}
process.stdout.write(formatTable(rows) + '\n')

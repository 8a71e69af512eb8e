/** One line of the benchmark table: ours against a reference on the same input, in the same run. */
export interface Comparison {
  scenario: string
  ours: string
  reference: string
  /** unit of the two rates, e.g. 'records/s' */
  unit: string
  oursRate: number
  referenceRate: number
  note?: string
}

export function formatTable (rows: Comparison[]): string {
  const header = ['scenario', 'ours', 'reference', 'ours rate', 'reference rate', 'ratio']
  const lines = rows.map((r) => [
    r.scenario,
    r.ours,
    r.reference,
    `${fmt(r.oursRate)} ${r.unit}`,
    `${fmt(r.referenceRate)} ${r.unit}`,
    `${(r.oursRate / r.referenceRate).toFixed(2)}x${r.note === undefined ? '' : ` (${r.note})`}`
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)))
  const row = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')
  return [row(header), row(widths.map((w) => '-'.repeat(w))), ...lines.map(row)].join('\n')
}

function fmt (n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(1)
}

/** Runs fn repeatedly for about `ms` after a warm-up and returns operations per second. */
export function opsPerSecond (fn: () => void, ms = 1000): number {
  for (let i = 0; i < 2000; i++) fn()
  let ops = 0
  const start = process.hrtime.bigint()
  const budget = BigInt(ms) * 1_000_000n
  while (process.hrtime.bigint() - start < budget) {
    for (let i = 0; i < 100; i++) fn()
    ops += 100
  }
  return ops / (Number(process.hrtime.bigint() - start) / 1e9)
}

/**
 * Splits text holding several concatenated JSON values (what `ip -json -batch` prints, one value per
 * command) into the values' source texts, by tracking nesting depth outside of strings. Only arrays
 * and objects count as values; stray text between them is ignored.
 */
export function splitJsonValues (text: string): string[] {
  const values: string[] = []
  let depth = 0
  let start = -1
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
      continue
    }
    if (c === '"') {
      inString = true
    } else if (c === '[' || c === '{') {
      if (depth === 0) start = i
      depth++
    } else if (c === ']' || c === '}') {
      depth--
      if (depth === 0 && start >= 0) {
        values.push(text.slice(start, i + 1))
        start = -1
      }
    }
  }
  return values
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit<T, R> (items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i] as T)
    }
  }
  const workers: Array<Promise<void>> = []
  for (let w = 0; w < Math.min(Math.max(1, limit), items.length); w++) workers.push(worker())
  await Promise.all(workers)
  return results
}

export function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function asNumber (value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value)
  return undefined
}

export function asString (value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

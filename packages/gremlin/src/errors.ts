import { TopoflowError } from '@topoflow/core'

/** Where in the query text something went wrong: 0-based offset plus 1-based line and column. */
export interface QueryPosition {
  offset: number
  line: number
  column: number
}

export function positionOf (query: string, offset: number): QueryPosition {
  const clamped = Math.max(0, Math.min(offset, query.length))
  let line = 1
  let lineStart = 0
  for (let i = 0; i < clamped; i++) {
    if (query.charCodeAt(i) === 10) {
      line++
      lineStart = i + 1
    }
  }
  return { offset: clamped, line, column: clamped - lineStart + 1 }
}

function describePosition (query: string, pos: QueryPosition): string {
  return query.includes('\n') ? `line ${pos.line}, column ${pos.column}` : `column ${pos.column}`
}

/**
 * A query that does not follow the dialect. The message says where (column, or line and column for
 * multi-line queries) and, when known, what was expected and what was found.
 */
export function syntaxError (query: string, offset: number, message: string, details: { expected?: string, found?: string } = {}): TopoflowError {
  const pos = positionOf(query, offset)
  const parts = [`Gremlin syntax error at ${describePosition(query, pos)}: ${message}`]
  if (details.expected !== undefined) parts.push(`expected ${details.expected}`)
  if (details.found !== undefined) parts.push(`found ${details.found}`)
  return new TopoflowError('TOPOFLOW_ERR_GREMLIN_SYNTAX', parts.join(', '), {
    context: { stage: 'gremlin-parse', position: pos.offset, line: pos.line, column: pos.column, ...details }
  })
}

/** A query that parsed but cannot run (unknown node, step on the wrong kind of input, bad value). */
export function evalError (message: string, context: Record<string, unknown> = {}): TopoflowError {
  return new TopoflowError('TOPOFLOW_ERR_GREMLIN_EVAL', message, { context: { stage: 'gremlin-eval', ...context } })
}

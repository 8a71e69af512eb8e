import { setOwn, TopoflowError } from '@topoflow/core'

/** One RFC 6902 operation. */
export interface PatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test'
  path: string
  value?: unknown
  from?: string
}

const ops = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test'])

function invalid (message: string): TopoflowError {
  return new TopoflowError('TOPOFLOW_ERR_INVALID_REQUEST', message)
}

/** Checks that `patch` is an array of well-formed operations; the message names the bad one. */
export function parsePatch (patch: unknown): PatchOperation[] {
  if (!Array.isArray(patch)) throw invalid('incorrect JSON patch: expected an array of operations, e.g. [{"op":"add","path":"/Metadata/Foo","value":1}]')
  return patch.map((raw, i) => {
    if (typeof raw !== 'object' || raw === null) throw invalid(`incorrect JSON patch: operation ${i} is not an object`)
    const o = raw as Record<string, unknown>
    if (typeof o.op !== 'string' || !ops.has(o.op)) throw invalid(`incorrect JSON patch: operation ${i} has op ${JSON.stringify(o.op)}, expected add, remove, replace, move, copy or test`)
    if (typeof o.path !== 'string') throw invalid(`incorrect JSON patch: operation ${i} (${o.op}) has no "path" string`)
    if ((o.op === 'add' || o.op === 'replace' || o.op === 'test') && !('value' in o)) throw invalid(`incorrect JSON patch: operation ${i} (${o.op}) has no "value"`)
    if ((o.op === 'move' || o.op === 'copy') && typeof o.from !== 'string') throw invalid(`incorrect JSON patch: operation ${i} (${o.op}) has no "from" string`)
    return o as unknown as PatchOperation
  })
}

function pointer (path: string): string[] {
  if (path === '') return []
  if (!path.startsWith('/')) throw invalid(`applying JSON patch: path "${path}" must start with "/"`)
  return path.slice(1).split('/').map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'))
}

type Container = Record<string, unknown> | unknown[]

function isContainer (v: unknown): v is Container {
  return typeof v === 'object' && v !== null
}

/** The parent container and last token of `path`; throws when an intermediate member is missing. */
function locate (doc: unknown, tokens: string[], path: string): { parent: Container, key: string } {
  let node: unknown = doc
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(t)]
    else if (isContainer(node) && Object.hasOwn(node, t)) node = (node as Record<string, unknown>)[t]
    else throw invalid(`applying JSON patch: path "${path}" does not exist`)
  }
  if (!isContainer(node)) throw invalid(`applying JSON patch: path "${path}" does not exist`)
  return { parent: node, key: tokens[tokens.length - 1] as string }
}

function arrayIndex (arr: unknown[], key: string, path: string, allowEnd: boolean): number {
  if (key === '-' && allowEnd) return arr.length
  if (!/^(0|[1-9]\d*)$/.test(key)) throw invalid(`applying JSON patch: "${key}" in "${path}" is not an array index`)
  const i = Number(key)
  if (i > arr.length || (!allowEnd && i === arr.length)) throw invalid(`applying JSON patch: index ${i} in "${path}" is out of range`)
  return i
}

function get (doc: unknown, path: string): unknown {
  let node: unknown = doc
  for (const t of pointer(path)) {
    if (Array.isArray(node)) node = node[Number(t)]
    else if (isContainer(node) && Object.hasOwn(node, t)) node = (node as Record<string, unknown>)[t]
    else throw invalid(`applying JSON patch: path "${path}" does not exist`)
    if (node === undefined) throw invalid(`applying JSON patch: path "${path}" does not exist`)
  }
  return node
}

function add (doc: unknown, path: string, value: unknown): unknown {
  const tokens = pointer(path)
  if (tokens.length === 0) return value
  const { parent, key } = locate(doc, tokens, path)
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, path, true), 0, value)
  else setOwn(parent, key, value)
  return doc
}

function remove (doc: unknown, path: string): unknown {
  const tokens = pointer(path)
  if (tokens.length === 0) throw invalid('applying JSON patch: cannot remove the whole document')
  const { parent, key } = locate(doc, tokens, path)
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, path, false), 1)
  else if (Object.hasOwn(parent, key)) Reflect.deleteProperty(parent, key)
  else throw invalid(`applying JSON patch: path "${path}" does not exist`)
  return doc
}

function equal (a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (!isContainer(a) || !isContainer(b) || Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  return ka.length === kb.length && ka.every((k) => equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}

/** Applies an RFC 6902 patch to a copy of `doc`; the original is left untouched. */
export function applyPatch<T> (doc: T, patch: PatchOperation[]): T {
  let out: unknown = structuredClone(doc)
  for (const op of patch) {
    switch (op.op) {
      case 'add': out = add(out, op.path, structuredClone(op.value)); break
      case 'remove': out = remove(out, op.path); break
      case 'replace':
        get(out, op.path)
        out = op.path === '' ? structuredClone(op.value) : add(remove(out, op.path), op.path, structuredClone(op.value))
        break
      case 'move': { const v = get(out, op.from as string); out = add(remove(out, op.from as string), op.path, v); break }
      case 'copy': out = add(out, op.path, structuredClone(get(out, op.from as string))); break
      case 'test':
        if (!equal(get(out, op.path), op.value)) throw invalid(`applying JSON patch: test of "${op.path}" failed`)
        break
    }
  }
  return out as T
}

export { equal as deepEqual }

#!/usr/bin/env node
// Runs node:test over the files matching the given globs. Node 20's test runner does not expand `**`
// itself, and shells differ in globstar support, so the expansion is done here, the same everywhere.
import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { spawnSync } from 'node:child_process'

const root = process.cwd()
const skip = new Set(['node_modules', '.git', '.cache', 'dist-types'])

function walk (dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skip.has(entry.name)) continue
    const path = join(dir, entry.name)
    if (entry.isDirectory()) walk(path, out)
    else out.push(relative(root, path))
  }
  return out
}

function toRegExp (glob) {
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]
    if (c === '*' && glob[i + 1] === '*') { re += '(?:.*/)?'; i += glob[i + 2] === '/' ? 2 : 1 } else if (c === '*') re += '[^/]*'
    else re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

const patterns = process.argv.slice(2).map(toRegExp)
const files = walk(root).filter((f) => patterns.some((p) => p.test(f))).sort()
if (files.length === 0) {
  console.error(`No test files match: ${process.argv.slice(2).join(' ')}`)
  process.exit(1)
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], { stdio: 'inherit' })
process.exit(result.status ?? 1)

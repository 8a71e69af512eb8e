// Writes schemas/src/generated/types.ts from the .avsc files. `--check` only compares, and exits 1 on
// drift (for CI). Usage: npm run -w schemas gen:types [-- --check]
import { readFileSync, writeFileSync } from 'node:fs'
import { generateTypes, generatedTypesPath } from '@topoflow/schemas/typegen'

const check = process.argv.includes('--check')
const fresh = generateTypes()
let current = ''
try {
  current = readFileSync(generatedTypesPath, 'utf8')
} catch {}

if (check) {
  if (current !== fresh) {
    console.error(`${generatedTypesPath} is out of date: run npm run -w schemas gen:types`)
    process.exit(1)
  }
  console.log(`${generatedTypesPath} is up to date`)
} else if (current === fresh) {
  console.log(`${generatedTypesPath} unchanged`)
} else {
  writeFileSync(generatedTypesPath, fresh)
  console.log(`Wrote ${generatedTypesPath}`)
}

#!/usr/bin/env node
// Topoflow runs its TypeScript sources directly: register tsx's loader, then hand over to the CLI.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../src/cli.ts')
process.exitCode = await main(process.argv.slice(2))

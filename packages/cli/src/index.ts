export { main, commands, usage } from './cli.ts'
export type { CliIO } from './cli.ts'

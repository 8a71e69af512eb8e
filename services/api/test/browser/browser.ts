// Shared by the browser tests: where chromium is, how to launch it, where screenshots go.

import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const webRoot = fileURLToPath(new URL('../../web', import.meta.url))
export const resultsDir = fileURLToPath(new URL('../../../../test-results', import.meta.url))

const haveChromium = existsSync(chromiumPath)

/**
 * The `skip` option for a browser suite: skipped locally without chromium, never in CI (CI=true),
 * where the suite's `before` then fails with {@link requireChromium}'s message.
 */
export const skipWithoutChromium: string | false = !haveChromium && process.env.CI !== 'true'
  ? `chromium not found at ${chromiumPath} (apt-get install -y chromium); with CI=true this is a failure`
  : false

export function requireChromium (): void {
  if (!haveChromium) throw new Error(`chromium is required when CI=true but ${chromiumPath} is missing: apt-get install -y chromium`)
}

export interface Browser {
  context: BrowserContext
  page: Page
  close: () => Promise<void>
}

/** Debian's chromium, headless, with a fresh profile that is removed on close. */
export async function launchBrowser (): Promise<Browser> {
  requireChromium()
  await mkdir(resultsDir, { recursive: true })
  const profile = await mkdtemp(join(tmpdir(), 'topoflow-ui-'))
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
      viewport: { width: 1440, height: 900 },
      timezoneId: 'UTC',
      locale: 'en-US'
    })
    const page = context.pages()[0] ?? await context.newPage()
    return {
      context,
      page,
      close: async () => {
        await context.close()
        await rm(profile, { recursive: true, force: true })
      }
    }
  } catch (err) {
    await rm(profile, { recursive: true, force: true })
    throw err
  }
}

/** Waits until `selector` matches exactly `n` elements; the error says how many there were. */
export async function waitForCount (p: Page, selector: string, n: number, timeout = 10_000): Promise<void> {
  try {
    await p.waitForFunction(`document.querySelectorAll(${JSON.stringify(selector)}).length === ${n}`, undefined, { timeout })
  } catch (err) {
    const have = await p.locator(selector).count()
    throw new Error(`expected ${n} × ${selector}, found ${have}`, { cause: err })
  }
}

export async function screenshot (p: Page, name: string): Promise<void> {
  await p.screenshot({ path: join(resultsDir, `ui-${name}.png`) })
}

// Headless Debian Chromium as the browser tests and the dashboard benchmark launch it. Apart
// from harness.mjs because the benchmark (e2e/bench/) runs without the test system's services.
import { chromium } from 'playwright-core';

export const DESKTOP_CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // Ingestion filters headless browsers as bots ("HeadlessChrome" in the User-Agent); the
      // tests stand in for a person, so they present a desktop Chrome's User-Agent.
      `--user-agent=${DESKTOP_CHROME}`],
  });
}

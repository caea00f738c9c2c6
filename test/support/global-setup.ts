// Runs once before the suite: the tests spawn the built CLI (dist/), so it must be current.
// `npm test` builds in `pretest`; this guards `npx vitest` runs that skipped it.
import { existsSync } from 'node:fs';

export default function setup(): void {
  if (!existsSync(new URL('../../dist/src/cli/main.js', import.meta.url))) {
    console.warn('[test] dist/ is missing: run `npm run build` (npm test does) before tests that spawn the CLI');
  }
}

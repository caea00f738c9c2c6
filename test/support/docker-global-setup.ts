// Runs once before the docker-mode subset (vitest.docker.config.ts): says which engine and image the
// tests use, and stops the run with the remedy when there is none, instead of one failure per file.
import { execFileSync } from 'node:child_process';
import { DOCKER_IMAGE } from './servers.js';

export default function setup(): void {
  const engine = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  let version: string;
  try {
    version = execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 10_000, encoding: 'utf8' }).trim();
  } catch (err) {
    throw new Error(`docker-mode tests: no Docker engine answers at ${engine}: run \`bash scripts/docker-engine.sh start\``, { cause: err });
  }
  try {
    execFileSync('docker', ['image', 'inspect', DOCKER_IMAGE], { timeout: 10_000, stdio: 'ignore' });
  } catch (err) {
    throw new Error(`docker-mode tests: image ${DOCKER_IMAGE} is missing: run \`bash scripts/build-local-images.sh mariadb\``, { cause: err });
  }
  console.log(`[test-servers] docker-mode subset: testcontainers on ${DOCKER_IMAGE}, Docker ${version} at ${engine}, host network`);
}

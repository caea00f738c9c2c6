/** The variables the shipped pipeline files (config/*.yaml) read for their source and target servers. */
import type { ServerEndpoint } from './mariadb-server.js';

export function connectionEnv(source: ServerEndpoint, target: ServerEndpoint): Record<string, string> {
  return {
    SOURCE_HOST: source.host,
    SOURCE_PORT: String(source.port),
    SOURCE_USER: source.user,
    SOURCE_PASSWORD: source.password,
    TARGET_HOST: target.host,
    TARGET_PORT: String(target.port),
    TARGET_USER: target.user,
    TARGET_PASSWORD: target.password,
  };
}

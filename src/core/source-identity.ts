/**
 * Which server a binlog position belongs to. A file:pos means something only on the server that wrote
 * it: on a replica that took over, or on a restored backup, the same file name and offset name other
 * events (or none). So the checkpoint records the server along with the position.
 *
 * MySQL names itself with `server_uuid`, unique per data directory. MariaDB has no server_uuid: its
 * identity is `server_id` plus `gtid_domain_id` (the domain its own transactions are logged in). Two
 * unrelated MariaDB servers can share a server_id (1 is common), so a same-looking identity is checked
 * further against the binlog itself (see source-continuity.ts).
 */

export type SourceIdentity =
  | { readonly flavor: 'mariadb'; readonly serverId: number; readonly domainId: number }
  | { readonly flavor: 'mysql'; readonly serverUuid: string; readonly serverId: number };

export class SourceIdentityParseError extends Error {
  override readonly name = 'SourceIdentityParseError';
}

export function sameSource(a: SourceIdentity, b: SourceIdentity): boolean {
  if (a.flavor === 'mysql' && b.flavor === 'mysql') return a.serverUuid.toLowerCase() === b.serverUuid.toLowerCase();
  if (a.flavor === 'mariadb' && b.flavor === 'mariadb') return a.serverId === b.serverId && a.domainId === b.domainId;
  return false;
}

/** For messages: `MariaDB server_id 11 (gtid_domain_id 0)`, `MySQL server_uuid 3e11fa47-… (server_id 1)`. */
export function describeSource(s: SourceIdentity): string {
  return s.flavor === 'mariadb' ? `MariaDB server_id ${s.serverId} (gtid_domain_id ${s.domainId})` : `MySQL server_uuid ${s.serverUuid} (server_id ${s.serverId})`;
}

/** A short text form (`mariadb:11:0`, `mysql:<uuid>:1`) for places where space counts (Kafka offset metadata). */
export function sourceKey(s: SourceIdentity): string {
  return s.flavor === 'mariadb' ? `mariadb:${s.serverId}:${s.domainId}` : `mysql:${s.serverUuid}:${s.serverId}`;
}

export function parseSourceKey(text: string): SourceIdentity {
  const maria = /^mariadb:(\d+):(\d+)$/.exec(text);
  if (maria) return { flavor: 'mariadb', serverId: Number(maria[1]), domainId: Number(maria[2]) };
  const my = /^mysql:([0-9a-fA-F-]{36}):(\d+)$/.exec(text);
  if (my) return { flavor: 'mysql', serverUuid: my[1]!, serverId: Number(my[2]) };
  throw new SourceIdentityParseError(`"${text}" is not a source identity (mariadb:SERVER_ID:DOMAIN_ID or mysql:SERVER_UUID:SERVER_ID)`);
}

/** The identity from the row `sourceIdentityStatement` (server-version.ts) returned. */
export function identityOfRow(flavor: 'mysql' | 'mariadb', row: Record<string, unknown> | undefined): SourceIdentity {
  const serverId = Number(row?.server_id);
  if (!row || !Number.isSafeInteger(serverId)) throw new SourceIdentityParseError(`the server did not say its server_id (${JSON.stringify(row)})`);
  if (flavor === 'mariadb') {
    const domainId = Number(row.gtid_domain_id);
    if (!Number.isSafeInteger(domainId)) throw new SourceIdentityParseError(`the server did not say its gtid_domain_id (${JSON.stringify(row)})`);
    return { flavor, serverId, domainId };
  }
  const uuid = row.server_uuid;
  if (typeof uuid !== 'string' || uuid === '') throw new SourceIdentityParseError(`the server did not say its server_uuid (${JSON.stringify(row)})`);
  return { flavor, serverUuid: uuid, serverId };
}

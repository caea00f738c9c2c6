/**
 * MariaDB GTID positions: for each replication domain, the last GTID (`domain-server-seq`) before a
 * point of a binlog, e.g. `0-11-7,1-12-40`. That is what `@@gtid_binlog_pos` and
 * `BINLOG_GTID_POS(file, pos)` answer and what a GTID-based binlog dump starts from; a place in one
 * server's binlog named this way can be found in another server's binlog that holds the same
 * transactions (a replica with log_slave_updates). Also the binlog state (`@@gtid_binlog_state`), which
 * keeps the last GTID of every (domain, server) pair, so it says which servers' transactions a binlog
 * holds. Sequence numbers are u64: kept as bigint. MySQL's GTID sets (`uuid:1-100`) are another thing
 * and are not handled here.
 */

export interface Gtid {
  readonly domain: number;
  readonly server: number;
  readonly seq: bigint;
}

export class GtidParseError extends Error {
  override readonly name = 'GtidParseError';
}

const GTID = /^(\d+)-(\d+)-(\d+)$/;

export function parseGtid(text: string): Gtid {
  const m = GTID.exec(text.trim());
  const domain = Number(m?.[1]);
  const server = Number(m?.[2]);
  if (!m || domain > 0xffffffff || server > 0xffffffff) throw new GtidParseError(`"${text}" is not a MariaDB GTID (domain-server-sequence, e.g. 0-1-100)`);
  return { domain, server, seq: BigInt(m[3]!) };
}

export function formatGtid(g: Gtid): string {
  return `${g.domain}-${g.server}-${g.seq}`;
}

/** A comma-separated list of GTIDs ('' is none), in the order given. */
export function parseGtidList(text: string): Gtid[] {
  const t = text.trim();
  return t === '' ? [] : t.split(',').map(parseGtid);
}

/** Whether `text` is a MariaDB GTID list (MySQL's `uuid:1-5` sets are not). */
export function isMariaDbGtidList(text: string): boolean {
  try {
    parseGtidList(text);
    return true;
  } catch {
    return false;
  }
}

/** A GTID position: one GTID per domain. A second entry for a domain is refused, as the server refuses it. */
export function parseGtidPosition(text: string): ReadonlyMap<number, Gtid> {
  const byDomain = new Map<number, Gtid>();
  for (const g of parseGtidList(text)) {
    if (byDomain.has(g.domain)) throw new GtidParseError(`"${text}" names domain ${g.domain} twice: a GTID position has one GTID per domain`);
    byDomain.set(g.domain, g);
  }
  return byDomain;
}

/** The position's canonical text: ordered by domain, as the server prints it. */
export function formatGtidPosition(position: ReadonlyMap<number, Gtid> | readonly Gtid[]): string {
  const list = Array.isArray(position) ? (position as readonly Gtid[]) : [...(position as ReadonlyMap<number, Gtid>).values()];
  return [...list].sort((a, b) => a.domain - b.domain).map(formatGtid).join(',');
}

/** Whether two GTID position texts name the same position (domain order does not matter). */
export function sameGtidPosition(a: string, b: string): boolean {
  return formatGtidPosition(parseGtidPosition(a)) === formatGtidPosition(parseGtidPosition(b));
}

/**
 * The position a binlog's GTID list event (or `@@gtid_binlog_state`) implies: the list holds the last
 * GTID of each (domain, server), the most recent of a domain last, so the last entry of each domain wins.
 */
export function gtidPositionOfList(list: readonly Gtid[]): string {
  const byDomain = new Map<number, Gtid>();
  for (const g of list) byDomain.set(g.domain, g);
  return formatGtidPosition(byDomain);
}

/**
 * The GTIDs of `position` whose transactions a binlog with state `binlogState` does not hold: for each,
 * the state must have a GTID of the same domain and server with a sequence number at least as high
 * (a server's transactions in a domain are binlogged in sequence order). A replica that took over
 * holds all of them; one that lagged, or diverged, misses some.
 */
export function missingFromBinlogState(binlogState: string, position: string): Gtid[] {
  const last = new Map<string, bigint>();
  for (const g of parseGtidList(binlogState)) {
    const key = `${g.domain}-${g.server}`;
    const seen = last.get(key);
    if (seen === undefined || g.seq > seen) last.set(key, g.seq);
  }
  return [...parseGtidPosition(position).values()].filter((g) => {
    const held = last.get(`${g.domain}-${g.server}`);
    return held === undefined || held < g.seq;
  });
}

/**
 * The GTID position while a binlog is read: seeded with the position where reading began, then each
 * event group's GTID replaces its domain's entry. The text is kept ready, as every transaction end
 * reads it; with one domain it is the last GTID itself.
 */
export class GtidPositionTracker {
  private readonly byDomain = new Map<number, string>();
  private domains: number[] = [];
  private current: string | undefined = undefined;

  /** `text` null: unknown (nothing is tracked until the next seed). */
  seed(text: string | null): void {
    this.byDomain.clear();
    this.domains = [];
    this.current = undefined;
    if (text === null) return;
    for (const g of parseGtidPosition(text).values()) this.byDomain.set(g.domain, formatGtid(g));
    this.domains = [...this.byDomain.keys()].sort((a, b) => a - b);
    this.current = this.render();
  }

  get known(): boolean {
    return this.current !== undefined;
  }

  /** The position now, or undefined when unknown. */
  get text(): string | undefined {
    return this.current;
  }

  /** An event group with `gtid` (as zongji names it, `domain-server-seq`) began. */
  apply(gtid: string): void {
    if (this.current === undefined) return;
    const dash = gtid.indexOf('-');
    const domain = Number(gtid.slice(0, dash));
    if (dash <= 0 || !Number.isInteger(domain)) throw new GtidParseError(`"${gtid}" is not a MariaDB GTID`);
    if (!this.byDomain.has(domain)) this.domains = [...this.domains, domain].sort((a, b) => a - b);
    this.byDomain.set(domain, gtid);
    this.current = this.domains.length === 1 ? gtid : this.render();
  }

  private render(): string {
    return this.domains.map((d) => this.byDomain.get(d)!).join(',');
  }
}

/**
 * Acknowledgement counts per source transaction, as runs: mutations arrive grouped by transaction, so
 * a run list is usually one or two entries even for thousands of mutations.
 */
export class AckCounts {
  private readonly seqs: number[] = [];
  private readonly counts: number[] = [];

  add(txSeq: number, n = 1): void {
    const last = this.seqs.length - 1;
    if (last >= 0 && this.seqs[last] === txSeq) this.counts[last]! += n;
    else {
      this.seqs.push(txSeq);
      this.counts.push(n);
    }
  }

  get total(): number {
    let t = 0;
    for (const c of this.counts) t += c;
    return t;
  }

  forEach(fn: (txSeq: number, count: number) => void): void {
    for (let i = 0; i < this.seqs.length; i++) fn(this.seqs[i]!, this.counts[i]!);
  }
}

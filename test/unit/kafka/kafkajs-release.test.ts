import { describe, expect, it } from 'vitest';
import { installedKafkajsRelease, kafkaFastPathChoice, KAFKAJS_FASTPATH_RELEASE } from '../../../connectors/kafka/kafkajs-release.js';

describe('kafkajs release under the fast paths', () => {
  it('is the release the fast paths replace internals of (an upgrade must re-check them first)', () => {
    expect(installedKafkajsRelease).toBe(KAFKAJS_FASTPATH_RELEASE);
  });

  it('stands aside for another release and when switched off, saying why', () => {
    expect(kafkaFastPathChoice({}, KAFKAJS_FASTPATH_RELEASE)).toEqual({ on: true, reason: `kafkajs ${KAFKAJS_FASTPATH_RELEASE}` });
    const other = kafkaFastPathChoice({}, '2.3.0');
    expect(other.on).toBe(false);
    expect(other.reason).toContain('kafkajs 2.3.0 is installed');
    expect(kafkaFastPathChoice({ BINLOG_SYNC_KAFKA_FASTPATH: '0' }, KAFKAJS_FASTPATH_RELEASE)).toEqual({ on: false, reason: 'BINLOG_SYNC_KAFKA_FASTPATH=0' });
  });
});

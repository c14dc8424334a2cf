import { ChannelReporter } from '../../src/status/channel_reporter';

test('without a bot or a status channel nothing is queued forever', async () => {
  const r = new ChannelReporter({
    client: () => undefined,
    channelId: async () => undefined,
    successes: () => 'each',
    log: () => undefined,
    retryMs: 10,
  });
  r.notice('hello');
  r.notice('again');
  expect(await r.flushed(2000)).toBe(true);
  expect(r.delivered).toEqual([]);
});

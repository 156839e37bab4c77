import { describe, expect, it } from 'vitest';
import { Metrics, TTFT_BUCKETS } from './metrics.js';

describe('Metrics', () => {
  it('renders counters, gauges and histograms in the Prometheus text format', () => {
    const metrics = new Metrics();
    metrics.inc('parley_requests_total', 'Requests.', { route: 'runs', status: '200' });
    metrics.inc('parley_requests_total', 'Requests.', { route: 'runs', status: '200' });
    metrics.gauge('parley_streams_open', 'Open streams.', {}, 1);
    metrics.observe('parley_ttft_seconds', 'TTFT.', 0.2, TTFT_BUCKETS);
    const text = metrics.render();
    expect(text).toContain('# TYPE parley_requests_total counter');
    expect(text).toContain('parley_requests_total{route="runs",status="200"} 2');
    expect(text).toContain('parley_streams_open 1');
    expect(text).toContain('parley_ttft_seconds_bucket{le="0.1"} 0');
    expect(text).toContain('parley_ttft_seconds_bucket{le="0.25"} 1');
    expect(text).toContain('parley_ttft_seconds_count 1');
  });

  it('cannot be made to emit a broken line through a label value', () => {
    const metrics = new Metrics();
    metrics.inc('x_total', 'X.', { code: 'a"\nb' });
    expect(metrics.render()).toContain('x_total{code="a__b"} 1');
  });
});

import {job} from '../tests/support/fake_bridge';

import {jobFraction, remainingMs} from './job_progress_math';

describe('job progress', () => {
    it('counts finished steps plus the running step’s fraction', () => {
        expect(jobFraction(job('x'))).toBeCloseTo((2 + 0.5) / 4);
        expect(jobFraction(job('x', {progress: undefined}))).toBeCloseTo(2 / 4);
        expect(jobFraction(job('x', {status: 'succeeded'}))).toBe(1);
        expect(jobFraction(job('x', {steps: []}))).toBe(0);
    });

    it('estimates the remaining time linearly, and not at all below 2% or after the end', () => {
        const start = Date.parse('2026-01-01T00:00:00Z');
        const j = job('x', {started_at: new Date(start).toISOString()});
        expect(remainingMs(j, start + 50_000)).toBeCloseTo(30_000);
        expect(
            remainingMs(
                job('x', {
                    steps: [{id: 'a', title: 'A', status: 'running'}],
                    progress: {step: 'a', done: 1, total: 100, unit: 'bytes'},
                }),
                Date.now(),
            ),
        ).toBeNull();
        expect(remainingMs(job('x', {status: 'succeeded'}), Date.now())).toBeNull();
    });
});

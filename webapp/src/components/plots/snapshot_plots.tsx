// Plots of the last snapshots (GET /v1/snapshots): size, new data, duration and downtime, one
// bar per snapshot, oldest on the left; and the point-in-time recovery window against the same
// snapshots when physical mode has one. Plain SVG drawn with the Mattermost theme's CSS variables
// (text in --center-channel-color, bars in --button-bg), so light and dark themes both read.

import React from 'react';
import {FormattedMessage, useIntl} from 'react-intl';

import type {PitrStatus, SnapshotListEntry} from '@mm-backup/api';
import {formatBytes, formatDuration} from 'src/format';

import {barHeight, niceMax} from './plot_scale';

/** How many of the newest snapshots are drawn. */
export const PLOTTED = 30;

const W = 320;
const H = 150;
const PAD = {left: 64, right: 8, top: 10, bottom: 28};
const TEXT = 'var(--center-channel-color, #3f4350)';
// Each plot sits on the theme's own background: the Console around it may keep a light panel
// in a dark theme, and the theme's text colour reads only on the theme's background.
const PANEL: React.CSSProperties = {
    margin: 0,
    padding: 8,
    borderRadius: 4,
    background: 'var(--center-channel-bg, #fff)',
    color: TEXT,
};
const GRID = 'rgba(var(--center-channel-color-rgb, 63, 67, 80), 0.24)';
const BAR = 'var(--button-bg, #1c58d9)';
const DOWNTIME = 'var(--error-text, #d24b4e)';

type Metric = {
    key: 'bytes' | 'new_bytes' | 'duration_ms' | 'downtime_ms';
    title: {id: string; defaultMessage: string};
    format: (n: number) => string;
    bytes: boolean;
    color: string;
};

const METRICS: Metric[] = [
    {
        key: 'bytes',
        title: {id: 'mattermost-backup.plots.size', defaultMessage: 'Size'},
        format: formatBytes,
        bytes: true,
        color: BAR,
    },
    {
        key: 'new_bytes',
        title: {id: 'mattermost-backup.plots.new_data', defaultMessage: 'New data'},
        format: formatBytes,
        bytes: true,
        color: BAR,
    },
    {
        key: 'duration_ms',
        title: {id: 'mattermost-backup.plots.duration', defaultMessage: 'Duration'},
        format: formatDuration,
        bytes: false,
        color: BAR,
    },
    {
        key: 'downtime_ms',
        title: {id: 'mattermost-backup.plots.downtime', defaultMessage: 'Downtime'},
        format: formatDuration,
        bytes: false,
        color: DOWNTIME,
    },
];

/** "12/2 03:00" (UTC): the day alone cannot tell apart snapshots of one day. */
function shortDate(iso: string): string {
    const d = new Date(iso);
    const two = (n: number) => String(n).padStart(2, '0');
    return Number.isNaN(d.getTime())
        ? iso
        : `${d.getUTCMonth() + 1}/${d.getUTCDate()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`;
}

function BarPlot({metric, list}: {metric: Metric; list: SnapshotListEntry[]}) {
    const {formatMessage} = useIntl();
    const title = formatMessage(metric.title);
    const values = list.map((s) => s[metric.key]);
    // At least 1 KB or 1 s, so an axis of zeros (no downtime at all) still reads as a real scale.
    const top = niceMax(Math.max(metric.bytes ? 1024 : 1000, ...values), metric.bytes);
    const plotW = W - PAD.left - PAD.right;
    const plotH = H - PAD.top - PAD.bottom;
    const slot = plotW / Math.max(1, list.length);
    const barW = Math.max(2, Math.min(24, slot * 0.7));
    return (
        <figure style={PANEL} data-testid={`plot-${metric.key}`}>
            <figcaption style={{fontWeight: 600, color: TEXT}}>{title}</figcaption>
            <svg
                role="img"
                aria-label={title}
                viewBox={`0 0 ${W} ${H}`}
                width={W}
                height={H}
                style={{color: TEXT, fontSize: 11, overflow: 'visible'}}
            >
                <line x1={PAD.left} x2={W - PAD.right} y1={PAD.top} y2={PAD.top} stroke={GRID} />
                <line x1={PAD.left} x2={W - PAD.right} y1={PAD.top + plotH} y2={PAD.top + plotH} stroke={GRID} />
                <text x={PAD.left - 6} y={PAD.top + 4} textAnchor="end" fill={TEXT} data-testid="plot-label">
                    {metric.format(top)}
                </text>
                <text x={PAD.left - 6} y={PAD.top + plotH} textAnchor="end" fill={TEXT} data-testid="plot-label">
                    {'0'}
                </text>
                {list.map((s, i) => {
                    const h = barHeight(s[metric.key], top, plotH);
                    return (
                        <rect
                            key={s.id}
                            data-testid="plot-mark"
                            data-snapshot={s.id}
                            x={PAD.left + i * slot + (slot - barW) / 2}
                            y={PAD.top + plotH - h}
                            width={barW}
                            height={h}
                            fill={metric.color}
                        >
                            <title>{`${s.id}: ${metric.format(s[metric.key])}`}</title>
                        </rect>
                    );
                })}
                {list.length > 0 && (
                    <>
                        <text x={PAD.left} y={H - 8} textAnchor="start" fill={TEXT} data-testid="plot-label">
                            {shortDate(list[0]?.started_at ?? '')}
                        </text>
                        <text x={W - PAD.right} y={H - 8} textAnchor="end" fill={TEXT} data-testid="plot-label">
                            {shortDate(list[list.length - 1]?.started_at ?? '')}
                        </text>
                    </>
                )}
            </svg>
        </figure>
    );
}

/** The recovery window as a band on the time axis of the plotted snapshots, each snapshot a tick. */
function WindowPlot({window: w, list}: {window: NonNullable<PitrStatus['window']>; list: SnapshotListEntry[]}) {
    const {formatMessage} = useIntl();
    const title = formatMessage({id: 'mattermost-backup.plots.window', defaultMessage: 'Recovery window'});
    const times = [...list.map((s) => Date.parse(s.started_at)), Date.parse(w.start), Date.parse(w.end)].filter(
        Number.isFinite,
    );
    const lo = Math.min(...times);
    const hi = Math.max(...times, lo + 1);
    const plotW = W * 2 - PAD.left - PAD.right;
    const x = (t: number) => PAD.left + ((t - lo) / (hi - lo)) * plotW;
    const y = PAD.top + 10;
    return (
        <figure style={PANEL} data-testid="plot-window">
            <figcaption style={{fontWeight: 600, color: TEXT}}>{title}</figcaption>
            <svg
                role="img"
                aria-label={title}
                viewBox={`0 0 ${W * 2} 60`}
                width={W * 2}
                height={60}
                style={{fontSize: 11}}
            >
                <rect
                    data-testid="plot-window-band"
                    x={x(Date.parse(w.start))}
                    y={y}
                    width={Math.max(2, x(Date.parse(w.end)) - x(Date.parse(w.start)))}
                    height={14}
                    fill={BAR}
                    opacity={0.5}
                />
                {list.map((s) => (
                    <line
                        key={s.id}
                        data-testid="plot-mark"
                        x1={x(Date.parse(s.started_at))}
                        x2={x(Date.parse(s.started_at))}
                        y1={y - 4}
                        y2={y + 18}
                        stroke={TEXT}
                    >
                        <title>{s.id}</title>
                    </line>
                ))}
                <text x={PAD.left} y={52} fill={TEXT} data-testid="plot-label">
                    {new Date(lo).toISOString().slice(0, 16).replace('T', ' ')}
                </text>
                <text x={W * 2 - PAD.right} y={52} textAnchor="end" fill={TEXT} data-testid="plot-label">
                    {new Date(hi).toISOString().slice(0, 16).replace('T', ' ')}
                </text>
            </svg>
        </figure>
    );
}

type Props = {
    /** Newest first, as GET /v1/snapshots lists them. */
    snapshots: SnapshotListEntry[];
    pitr?: PitrStatus | null;
};

export default function SnapshotPlots({snapshots, pitr}: Props) {
    // Safety snapshots (taken before a restore) are not the schedule's: they would skew the trend.
    const list = snapshots
        .filter((s) => s.trigger !== 'safety')
        .slice(0, PLOTTED)
        .reverse();
    if (list.length === 0) {
        return null;
    }
    return (
        <div className="mattermost-backup-plots" data-testid="snapshot-plots" style={PANEL}>
            <p style={{margin: '0 0 8px'}}>
                <FormattedMessage
                    id="mattermost-backup.plots.caption"
                    defaultMessage="The last {count, plural, one {snapshot} other {# snapshots}}, oldest on the left (UTC dates)."
                    values={{count: list.length}}
                />
            </p>
            <div style={{display: 'flex', flexWrap: 'wrap', gap: 24}}>
                {METRICS.map((m) => (
                    <BarPlot key={m.key} metric={m} list={list} />
                ))}
                {pitr?.window && <WindowPlot window={pitr.window} list={list} />}
            </div>
        </div>
    );
}

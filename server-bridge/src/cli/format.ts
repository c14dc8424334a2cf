/** Plain-text tables and sizes for terminal output. */
// The table lives in core so that an operation's CLI summary (operations/*) can use it too.
export { table } from '../core/text_table';
export { formatBytes as size, formatDuration as duration } from '../core/units';

/**
 * Plain text inside Mattermost Markdown. Posts and slash replies insert names we do not choose
 * (directories, databases, channels, buckets) and engine messages that quote them; a directory
 * named `*x*`, `[a](b)` or holding a backtick must show as written, not as emphasis, a link or code.
 */

/**
 * Characters that open or close Markdown anywhere in a line: emphasis, code, links and images
 * (an unescaped `[`…`]` is what makes `(b)` a target, so parentheses stay as they are), HTML and
 * entities, hashtags, tables, inline LaTeX.
 */
const INLINE = /[\\`*_~[\]<>#|&$]/g;
/** What only means something at the start of a line: a bullet, a setext underline, an ordered item. */
const BULLET = /^(\s*)([-+=])/gm;
const ORDERED = /^(\s*\d+)([.)])/gm;

/**
 * `text` escaped so that Mattermost renders it literally: a backslash before every Markdown
 * character (CommonMark's escapes, which Mattermost's renderer honours), and before a line's
 * leading list or heading marker. Newlines are kept, so a multi-line message stays readable.
 */
export function escapeMarkdown(text: string): string {
  return text.replace(INLINE, '\\$&').replace(BULLET, '$1\\$2').replace(ORDERED, '$1\\$2');
}

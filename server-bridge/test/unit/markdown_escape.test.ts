/**
 * escapeMarkdown: the one escape for names and engine messages put into status posts and slash
 * replies. CommonMark reads a backslash before ASCII punctuation as that character, literally;
 * the checks below undo exactly that and find the original text, with no markup left open.
 */
import { escapeMarkdown } from '../../src/status/markdown';

/** What a CommonMark renderer shows for backslash escapes: the punctuation itself. */
const unescape = (s: string) => s.replace(/\\([!-/:-@[-`{-~])/g, '$1');

test.each([
  ['*x*', '\\*x\\*'],
  ['_x_', '\\_x\\_'],
  ['a`b`c', 'a\\`b\\`c'],
  ['[a](b)', '\\[a\\](b)'],
  ['~~gone~~', '\\~\\~gone\\~\\~'],
  ['<b>&lt;', '\\<b\\>\\&lt;'],
  ['# heading', '\\# heading'],
  ['| a | b |', '\\| a \\| b \\|'],
  ['![img](u)', '!\\[img\\](u)'],
  ['#hashtag $x$', '\\#hashtag \\$x\\$'],
  ['C:\\dir', 'C:\\\\dir'],
  ['- item\n+ item\n= under\n1. first\n 2) second', '\\- item\n\\+ item\n\\= under\n1\\. first\n 2\\) second'],
  ['/var/opt/mattermost-backup/data.1', '/var/opt/mattermost-backup/data.1'],
])('%j is shown literally', (name, escaped) => {
  expect(escapeMarkdown(name)).toBe(escaped);
  expect(unescape(escapeMarkdown(name))).toBe(name);
});

test('every Markdown character is escaped, whatever surrounds it', () => {
  const all = 'dir *bold* _it_ `code` [link](http://x) ![i](y) <html> ~strike~ #h |t| &amp; $m$ \\';
  const out = escapeMarkdown(all);
  expect(unescape(out)).toBe(all);
  // No special character stands without its backslash.
  expect(out.replace(/\\[!-/:-@[-`{-~]/g, '')).not.toMatch(/[\\`*_~[\]<>#|&$]/);
});

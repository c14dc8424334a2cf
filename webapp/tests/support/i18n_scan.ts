// Finds the react-intl messages in the webapp's sources, and the visible text that
// bypasses react-intl, by walking each file's TypeScript syntax tree (the compiler API
// of the `typescript` package the typecheck uses; no extra dependency).
//
// A message is an object literal or a JSX element with a literal `id` and a literal
// `defaultMessage`: FormattedMessage props, formatMessage({id, defaultMessage}) and
// descriptor constants alike. Anything that looks like a message but whose id or text is
// not a literal (e.g. an id built with a template) is reported, since no tool can extract it.

import fs from 'node:fs';
import path from 'node:path';

import ts from 'typescript';

export type FoundMessage = {id: string; defaultMessage: string; where: string};
export type ScanResult = {messages: FoundMessage[]; problems: string[]};

/** Message ids follow `mattermost-backup.<area>.<name>`. */
const MESSAGE_ID = /^mattermost-backup\.[a-z0-9_]+\.[a-z0-9_.]+$/;
const LOOKS_LIKE_ID = /^mattermost-backup\./;

/** Attributes whose text is read out or shown: a literal with letters there bypasses react-intl. */
const TEXT_ATTRIBUTES = new Set([
    'aria-label',
    'aria-description',
    'aria-roledescription',
    'aria-valuetext',
    'aria-placeholder',
    'title',
    'alt',
    'label',
]);

/** A placeholder literal with letters is allowed only with a comment saying why (a format example). */
const PLACEHOLDER_EXCUSE = /format example|stays? literal/i;

/** Callees whose first argument is a descriptor and second the values. */
const FORMATTERS = new Set(['formatMessage', 't']);

const HAS_LETTERS = /[A-Za-z]/;

function propName(name: ts.PropertyName | ts.JsxAttributeName): string | null {
    if (ts.isIdentifier(name) || ts.isStringLiteral(name)) {
        return name.text;
    }
    if (ts.isJsxNamespacedName(name)) {
        return `${name.namespace.text}:${name.name.text}`;
    }
    return null;
}

/** The text of a literal string expression ('x', "x", `x` without substitutions), else null. */
function literalText(node: ts.Node | undefined): string | null {
    if (!node) {
        return null;
    }
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
        return node.text;
    }
    if (ts.isJsxExpression(node)) {
        return literalText(node.expression);
    }
    if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node)) {
        return literalText(node.expression);
    }
    return null;
}

/** Literal text fragments with letters that end up as the value of `node` (through ?:, &&, ||, ??, parentheses; not into calls or JSX). */
function wordyLiterals(node: ts.Node | undefined): string[] {
    if (!node) {
        return [];
    }
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
        return HAS_LETTERS.test(node.text) ? [node.text] : [];
    }
    if (ts.isTemplateExpression(node)) {
        const parts = [node.head.text, ...node.templateSpans.map((s) => s.literal.text)];
        return parts.some((p) => HAS_LETTERS.test(p)) ? [node.getText()] : [];
    }
    if (ts.isJsxExpression(node) || ts.isParenthesizedExpression(node) || ts.isAsExpression(node)) {
        return wordyLiterals(node.expression);
    }
    if (ts.isConditionalExpression(node)) {
        return [...wordyLiterals(node.whenTrue), ...wordyLiterals(node.whenFalse)];
    }
    if (
        ts.isBinaryExpression(node) &&
        [
            ts.SyntaxKind.AmpersandAmpersandToken,
            ts.SyntaxKind.BarBarToken,
            ts.SyntaxKind.QuestionQuestionToken,
        ].includes(node.operatorToken.kind)
    ) {
        return [...wordyLiterals(node.left), ...wordyLiterals(node.right)];
    }
    return [];
}

/** Scans one source text; `file` only names places in the report. */
export function scanSource(file: string, text: string): ScanResult {
    const isTsx = file.endsWith('.tsx');
    const sf = ts.createSourceFile(
        file,
        text,
        ts.ScriptTarget.Latest,
        true,
        isTsx ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
    );
    const messages: FoundMessage[] = [];
    const problems: string[] = [];
    const idLiterals = new Set<ts.Node>();
    const at = (node: ts.Node) => `${file}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`;

    /** Records a message from its id and defaultMessage initializers, or a problem when they are not literals. */
    const record = (node: ts.Node, idInit: ts.Node | undefined, msgInit: ts.Node | undefined, what: string) => {
        const id = literalText(idInit);
        const defaultMessage = literalText(msgInit);
        if (id === null || defaultMessage === null) {
            problems.push(
                `${at(node)}: ${what} needs a literal id and a literal defaultMessage (found ${idInit ? idInit.getText(sf) : 'no id'}, ${msgInit ? msgInit.getText(sf).slice(0, 60) : 'no defaultMessage'})`,
            );
            return;
        }
        if (!MESSAGE_ID.test(id)) {
            problems.push(`${at(node)}: message id "${id}" does not follow mattermost-backup.<area>.<name>`);
        }
        if (idInit) {
            idLiterals.add(ts.isJsxExpression(idInit) && idInit.expression ? idInit.expression : idInit);
        }
        messages.push({id, defaultMessage, where: at(node)});
    };

    const checkValues = (values: ts.Node | undefined) => {
        const obj = values && ts.isJsxExpression(values) ? values.expression : values;
        if (!obj || !ts.isObjectLiteralExpression(obj)) {
            return;
        }
        for (const p of obj.properties) {
            if (ts.isPropertyAssignment(p)) {
                for (const w of wordyLiterals(p.initializer)) {
                    problems.push(`${at(p)}: text ${w} passed as a message value; make it a message too`);
                }
            }
        }
    };

    const visit = (node: ts.Node) => {
        if (ts.isObjectLiteralExpression(node)) {
            const props = new Map<string, ts.ObjectLiteralElementLike>();
            for (const p of node.properties) {
                const name = p.name ? propName(p.name) : null;
                if (name) {
                    props.set(name, p);
                }
            }
            const idProp = props.get('id');
            const msgProp = props.get('defaultMessage');
            const idInit = idProp && ts.isPropertyAssignment(idProp) ? idProp.initializer : undefined;
            const idText = literalText(idInit);
            if (msgProp || (idText !== null && LOOKS_LIKE_ID.test(idText))) {
                record(
                    node,
                    idInit,
                    msgProp && ts.isPropertyAssignment(msgProp) ? msgProp.initializer : undefined,
                    'message descriptor',
                );
            }
        }

        if (ts.isJsxOpeningElement(node) || ts.isJsxSelfClosingElement(node)) {
            const attrs = new Map<string, ts.JsxAttribute>();
            let spread = false;
            for (const a of node.attributes.properties) {
                if (ts.isJsxAttribute(a)) {
                    const name = propName(a.name);
                    if (name) {
                        attrs.set(name, a);
                    }
                } else {
                    spread = true;
                }
            }
            const tag = node.tagName.getText(sf);
            if ((tag === 'FormattedMessage' && !(spread && !attrs.has('id'))) || attrs.has('defaultMessage')) {
                record(node, attrs.get('id')?.initializer, attrs.get('defaultMessage')?.initializer, `<${tag}>`);
            }
            if (tag === 'FormattedMessage') {
                checkValues(attrs.get('values')?.initializer);
            }
            for (const [name, a] of attrs) {
                const words = wordyLiterals(a.initializer);
                if (!words.length) {
                    continue;
                }
                if (TEXT_ATTRIBUTES.has(name)) {
                    problems.push(`${at(a)}: ${name}=${words[0]} is literal text; use formatMessage`);
                } else if (name === 'placeholder') {
                    const comments = ts.getLeadingCommentRanges(text, a.getFullStart()) ?? [];
                    if (!comments.some((c) => PLACEHOLDER_EXCUSE.test(text.slice(c.pos, c.end)))) {
                        problems.push(
                            `${at(a)}: placeholder=${words[0]} is literal text; use formatMessage, or say in a comment on it that it is a format example`,
                        );
                    }
                }
            }
        }

        if (ts.isJsxText(node) && HAS_LETTERS.test(node.text)) {
            problems.push(`${at(node)}: JSX text "${node.text.trim()}" bypasses react-intl`);
        }
        if (
            ts.isJsxExpression(node) &&
            node.parent &&
            (ts.isJsxElement(node.parent) || ts.isJsxFragment(node.parent))
        ) {
            for (const w of wordyLiterals(node.expression)) {
                problems.push(`${at(node)}: JSX child ${w} bypasses react-intl`);
            }
        }

        if (ts.isCallExpression(node)) {
            const callee = ts.isPropertyAccessExpression(node.expression)
                ? node.expression.name.text
                : ts.isIdentifier(node.expression)
                  ? node.expression.text
                  : '';
            if (FORMATTERS.has(callee)) {
                const [descriptor, values] = node.arguments;
                // An inline descriptor without defaultMessage and without a literal id (the object rule above takes the rest).
                if (descriptor && ts.isObjectLiteralExpression(descriptor)) {
                    const names = descriptor.properties.map((p) => (p.name ? propName(p.name) : null));
                    const idProp = descriptor.properties.find((p) => p.name && propName(p.name) === 'id');
                    const idText = literalText(
                        idProp && ts.isPropertyAssignment(idProp) ? idProp.initializer : undefined,
                    );
                    if (!names.includes('defaultMessage') && !(idText !== null && LOOKS_LIKE_ID.test(idText))) {
                        record(
                            descriptor,
                            idProp && ts.isPropertyAssignment(idProp) ? idProp.initializer : undefined,
                            undefined,
                            `${callee}() descriptor`,
                        );
                    }
                }
                checkValues(values);
            }
        }
        ts.forEachChild(node, visit);
    };
    visit(sf);

    // A message id anywhere else (e.g. looked up in a map by a computed key) escapes the checks above.
    const findStrays = (node: ts.Node) => {
        if (
            (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node)) &&
            LOOKS_LIKE_ID.test(node.text) &&
            !idLiterals.has(node)
        ) {
            problems.push(`${at(node)}: message id ${node.getText(sf)} outside a {id, defaultMessage} descriptor`);
        }
        ts.forEachChild(node, findStrays);
    };
    findStrays(sf);
    return {messages, problems};
}

/** The webapp's sources that are bundled: src/**\/*.ts(x) without tests and type declarations. */
export function sourceFiles(srcDir: string): string[] {
    const out: string[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, {withFileTypes: true})) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) {
                walk(full);
            } else if (
                /\.tsx?$/.test(entry.name) &&
                !/\.test\.tsx?$/.test(entry.name) &&
                !entry.name.endsWith('.d.ts')
            ) {
                out.push(full);
            }
        }
    };
    walk(srcDir);
    return out.sort();
}

/** Scans every source file under `srcDir`; places are relative to it. */
export function scanSources(srcDir: string): ScanResult {
    const all: ScanResult = {messages: [], problems: []};
    for (const file of sourceFiles(srcDir)) {
        const r = scanSource(path.relative(srcDir, file), fs.readFileSync(file, 'utf8'));
        all.messages.push(...r.messages);
        all.problems.push(...r.problems);
    }
    return all;
}

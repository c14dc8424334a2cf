// The Console's markup, which the host's styles lay out: a panel is config-section around the
// wrapper, content, header and body; a row is form-group with the label in col-sm-4 and the
// input, help text and error in col-sm-8 (setting.tsx).

import {render, screen} from '@testing-library/react';
import React from 'react';

import {ConsolePanel, SettingRow} from './console_layout';

describe('console layout', () => {
    it('draws a panel as the Console draws a plugin section', () => {
        const {container} = render(
            <ConsolePanel title="Retention" subtitle="What is kept" testId="p">
                <p>{'body'}</p>
            </ConsolePanel>,
        );
        const panel = container.querySelector(
            '.config-section > .admin-console__wrapper > .admin-console__content',
        ) as HTMLElement;
        expect(panel.querySelector('.section-header > .section-title')).toHaveTextContent('Retention');
        expect(panel.querySelector('.section-header > .section-subtitle')).toHaveTextContent('What is kept');
        expect(panel.querySelector('.section-body')).toHaveTextContent('body');
    });

    it('draws a setting with its label left and help text and error under the input', () => {
        const {container} = render(
            <SettingRow inputId="x" label="Label" helpText="Help" error="Wrong">
                <input id="x" />
            </SettingRow>,
        );
        const row = container.querySelector('.form-group.has-error') as HTMLElement;
        expect(row.querySelector(':scope > label.control-label.col-sm-4')).toHaveAttribute('for', 'x');
        const right = row.querySelector(':scope > .col-sm-8') as HTMLElement;
        expect([...right.children].map((c) => c.tagName + (c.className ? `.${c.className}` : ''))).toEqual([
            'INPUT',
            'DIV.help-text',
            'DIV.help-text error-text',
        ]);
        expect(screen.getByLabelText('Label')).toBe(right.querySelector('input'));
    });
});

// Shows a snapshot's manifest or a job's log as preformatted text.

import React from 'react';

import Modal from './modal';

export default function TextModal({title, text, onClose}: {title: string; text: string; onClose: () => void}) {
    return (
        <Modal title={title} onClose={onClose} testId="text-modal">
            <pre style={{maxHeight: '60vh', overflow: 'auto', fontSize: 12, whiteSpace: 'pre-wrap'}}>{text}</pre>
        </Modal>
    );
}

// Downloads a chat's transcript with the visitor's token in a header (never
// in a URL). Where the server has no transcript route yet, the widget
// writes the text file itself from the messages it holds.

import { t, lang } from '../i18n.js';

export async function downloadTranscript(ctx, chat, format) {
  const name = `chat-${chat.id.slice(0, 8)}.${format}`;
  try {
    const res = await fetch(`/api/v1/transcripts/${encodeURIComponent(chat.id)}?format=${format}`, {
      headers: { Authorization: `Bearer ${ctx.token()}` },
    });
    if (res.ok) {
      save(await res.blob(), name);
      return t('transcript.done');
    }
    if (res.status !== 404) return t('transcript.failed');
  } catch {
    return t('transcript.failed');
  }
  const lines = [`${t('widget.title')} — ${chat.id}`, ''];
  for (const m of chat.messages) {
    const who = m.from && m.from.kind === 'visitor' ? t('transcript.you') : (m.from && m.from.name) || t('chat.agent');
    const at = m.at ? new Date(m.at).toLocaleString(lang() === 'tr' ? 'tr-TR' : 'en-GB') : '';
    lines.push(`[${at}] ${who}: ${m.text}`);
  }
  save(new Blob([lines.join('\n') + '\n'], { type: 'text/plain;charset=utf-8' }), `chat-${chat.id.slice(0, 8)}.txt`);
  return t('transcript.local');
}

function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

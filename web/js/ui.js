// State shared by the shell and the pages: who is signed in, what they may do, page titles,
// and actions that change something on the server.
import { h, clear, message, announce } from './dom.js';

export const session = { who: null, flash: null, refresh: null };

// Roles that may do each operator action (the server checks them again).
export const can = {
  pause: () => ['admin', 'release'].includes(session.who && session.who.role),
  quarantine: () => !!session.who && session.who.role === 'admin',
  ack: () => ['admin', 'release', 'factory'].includes(session.who && session.who.role),
};

export function setTitle(text) {
  document.title = `${text} · fwseal`;
}

// Runs fn (a request that changes something); on success the page is drawn again with the
// message `done` at its top, on failure the error shows in statusEl and the button comes back.
export async function act(button, statusEl, fn, done) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  clear(statusEl);
  try {
    await fn();
    session.flash = done;
    if (session.refresh) await session.refresh();
  } catch (e) {
    statusEl.append(message('error', e.message || String(e)));
    announce(e.message || String(e));
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

export function flashInto(main) {
  if (!session.flash) return;
  const m = h('div', { class: 'msg ok', role: 'status' }, session.flash);
  const h1 = main.querySelector('h1');
  if (h1) h1.after(m);
  else main.prepend(m);
  announce(session.flash);
  session.flash = null;
}

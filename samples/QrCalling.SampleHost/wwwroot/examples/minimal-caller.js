// A chat call with nothing but QrCalling's JavaScript client module: scan a code link, start a chat, exchange messages.
import { QrCallingCaller } from '/js/qrcalling-client.js';

const $ = (id) => document.getElementById(id);
const caller = new QrCallingCaller({ signalR: window.signalR });
const say = (text) => { $('status').textContent = text; };
const log = (who, text) => $('log').append(
  Object.assign(document.createElement('li'), { className: who, textContent: `${who === 'me' ? 'You' : 'Owner'}: ${text}` }));
let call = null;
const ENDED = { hangup: 'The call ended.', rejected: 'The owner declined.', missed: 'No answer.', canceled: 'You hung up.' };

$('scan-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    const { label, media } = await caller.scan($('link').value);
    say(`${label || 'This code'} takes ${media.join(', ')}.`);
    $('start').hidden = !media.includes('chat');
  } catch (error) {
    say(error.code === 'unavailable' ? 'This code is not available.' : 'That code could not be read. Check the link and try again.');
  }
});

$('start').addEventListener('click', async () => {
  $('start').hidden = true;
  say('Calling…');
  try {
    // Listeners go in with the call: the owner may answer (and the keys be agreed) before `call` resolves.
    call = await caller.call($('link').value, 'chat', { on: {
      accepted: () => say('Answered. Setting up encryption…'),
      e2e: ({ detail, target }) => {
        call = target;
        if (detail.status === 'established') { say(`Encrypted. Check code: ${detail.checkCode}`); $('chat-form').hidden = false; }
        if (detail.status === 'failed') say('Encryption failed: someone may be interfering.');
      },
      chat: ({ detail }) => log('them', detail.text),
      ended: ({ detail }) => { say(ENDED[detail.reason] ?? 'The call ended.'); $('chat-form').hidden = true; },
    } });
  } catch {
    say('The call could not start. Try again in a moment.');
    $('start').hidden = false;
  }
});

$('chat-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = $('message').value.trim();
  if (!text || !call) return;
  try {
    await call.sendChat(text);
    $('message').value = '';
    log('me', text);
  } catch (error) {
    say('The message was not sent. Try again.');
  }
});
$('hangup').addEventListener('click', () => call?.hangup());

// How an incoming call reaches the owner while the page is open: a ring tone (WebAudio, once the page had a user
// gesture: browsers do not let a page play sound before), a system notification (only when the user allowed them from
// the button, never asked on load), and the page title / app badge.

/** A ring tone made with WebAudio: no audio file, nothing fetched. */
export class RingTone {
  constructor() {
    this.context = null;
    this.timer = null;
    this.mode = null;
    const unlock = () => this.unlock();
    for (const type of ['pointerdown', 'keydown', 'touchstart']) document.addEventListener(type, unlock, { capture: true, passive: true });
  }

  /** Creates/resumes the AudioContext; call from a user gesture (any click or key press does it). */
  unlock() {
    try {
      this.context ??= new AudioContext();
      if (this.context.state === 'suspended') this.context.resume().then(() => this.replay(), () => {});
    } catch { /* no WebAudio: silent */ }
  }

  /** True when the page may play sound now. */
  get audible() { return this.context?.state === 'running'; }

  get playing() { return this.mode !== null; }

  /** 'ring' (a normal incoming call) or 'waiting' (a short, quiet beep while already in a call). */
  start(mode = 'ring') {
    if (this.mode === mode) return;
    this.stop();
    this.mode = mode;
    this.replay();
  }

  replay() {
    clearInterval(this.timer);
    if (!this.mode || !this.audible) return;
    const cycle = this.mode === 'ring' ? () => this.ringCycle() : () => this.beep(440, 0, 0.15, 0.05);
    cycle();
    this.timer = setInterval(cycle, this.mode === 'ring' ? 3000 : 4000);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.mode = null;
  }

  ringCycle() {
    // Two short dual-tone bursts, like a phone.
    this.beep([440, 480], 0, 0.4, 0.12);
    this.beep([440, 480], 0.6, 0.4, 0.12);
  }

  beep(frequencies, offset, duration, volume) {
    const context = this.context;
    if (!context || context.state !== 'running') return;
    const start = context.currentTime + offset;
    const gain = context.createGain();
    gain.gain.setValueAtTime(0, start);
    gain.gain.linearRampToValueAtTime(volume, start + 0.02);
    gain.gain.setValueAtTime(volume, start + duration - 0.05);
    gain.gain.linearRampToValueAtTime(0, start + duration);
    gain.connect(context.destination);
    for (const frequency of [frequencies].flat()) {
      const oscillator = context.createOscillator();
      oscillator.frequency.value = frequency;
      oscillator.connect(gain);
      oscillator.start(start);
      oscillator.stop(start + duration);
    }
  }
}

/** System notifications for incoming calls, when the user allowed them. */
export class CallNotifier {
  constructor(onClick) {
    this.onClick = onClick;
    this.open = new Map();
  }

  get supported() { return 'Notification' in window; }

  get permission() { return this.supported ? Notification.permission : 'denied'; }

  /** Asks for permission; only ever from a button the user pressed. */
  async request() {
    if (!this.supported) return 'denied';
    try { return await Notification.requestPermission(); } catch { return 'denied'; }
  }

  /** Shows a notification when allowed and the page is not what the user is looking at. */
  show(callId, title, body) {
    if (this.permission !== 'granted' || (document.visibilityState === 'visible' && document.hasFocus())) return;
    try {
      const notification = new Notification(title, { body, tag: callId, requireInteraction: true, icon: '/favicon.svg' });
      notification.onclick = () => { window.focus(); notification.close(); this.onClick?.(callId); };
      this.open.set(callId, notification);
    } catch { /* some browsers allow notifications only from a service worker */ }
  }

  close(callId) {
    this.open.get(callId)?.close();
    this.open.delete(callId);
  }
}

/** The page title and the app badge: "(1) Incoming call — label" while ringing, "(2) Missed calls — …" after. */
export function showAttention(baseTitle, ringing, missed) {
  if (ringing.length > 0) {
    const latest = ringing[ringing.length - 1];
    document.title = `(${ringing.length}) Incoming call — ${latest.label || 'your code'}`;
  } else if (missed > 0) {
    document.title = `(${missed}) Missed call${missed === 1 ? '' : 's'} — ${baseTitle}`;
  } else {
    document.title = baseTitle;
  }
  const count = ringing.length + missed;
  if ('setAppBadge' in navigator) {
    (count > 0 ? navigator.setAppBadge(count) : navigator.clearAppBadge()).catch(() => {});
  }
}

/**
 * The top of the `%vigilo` live report on Colab and Kaggle, where that output
 * is the only screen (issue 19.4): the critical alerts that hold now and any
 * notification that cannot be delivered, above everything else; and an
 * opt-in sound / browser notification when a new critical alert appears.
 *
 * Where the sound and the notification work (docs/NOTIFY.md "The notebook speaks up"):
 * - JupyterLab / Notebook 7 / Kaggle: the output's script runs in a live session's
 *   trusted output; the browser notification needs the permission asked once by the button.
 * - Colab: outputs live in a cross-origin iframe. Chrome and Firefox refuse the
 *   notification permission there, so the button falls back to the sound, which plays
 *   once the user clicked the button in that output (the browser's autoplay rule).
 * - Anywhere scripts do not run (an untrusted notebook, nbviewer, a terminal): the
 *   banner alone, in text and HTML.
 */
import type { ActiveAlert } from '../shared/api';

export const BANNER_RULES_ALWAYS = new Set(['notify.failed']);

export interface Banner {
  text: string;
  html: string;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** The alerts that go on top: critical ones, and failed notifications; at most `max`, most severe first. */
export function bannerAlerts(active: ActiveAlert[], max = 3): ActiveAlert[] {
  const rank = { critical: 0, warning: 1, info: 2 } as const;
  return active
    .filter(a => a.severity === 'critical' || BANNER_RULES_ALWAYS.has(a.ruleId))
    .sort((a, b) => rank[a.severity] - rank[b.severity] || (a.updatedAt < b.updatedAt ? 1 : -1))
    .slice(0, max);
}

/**
 * The banner (empty strings when nothing is critical). The script compares the
 * newest critical alert's id with the last one it announced (localStorage of the
 * output's origin), so a report refreshed every heartbeat sounds once per alert.
 */
export function renderBanner(active: ActiveAlert[]): Banner {
  const shown = bannerAlerts(active);
  const critical = shown.find(a => a.severity === 'critical') ?? null;
  if (shown.length === 0) {
    return { text: '', html: alarmControl(null) };
  }
  const text = shown.map(a => `${a.severity === 'critical' ? '!!' : ' !'} ${a.message}`).join('\n') + '\n\n';
  const rows = shown
    .map(a => {
      const [color, tint] = a.severity === 'critical' ? ['#d9363e', 'rgba(217,54,62,0.10)'] : ['#d48806', 'rgba(212,136,6,0.10)'];
      return `<div style="margin:0 0 4px;padding:6px 10px;border-left:4px solid ${color};background:${tint};border-radius:3px;font-weight:600;color:${color}">${escapeHtml(a.message)}</div>`;
    })
    .join('');
  return { text, html: `<div class="vigilo-banner" role="alert" style="margin:0 0 8px;max-width:700px">${rows}</div>${alarmControl(critical)}` };
}

/** The opt-in button and the script that sounds / notifies once per new critical alert. */
function alarmControl(critical: ActiveAlert | null): string {
  const payload = critical ? JSON.stringify({ id: critical.id, title: 'Vigilo: critical', body: critical.message }) : 'null';
  // JSON inside a <script>: escape "<" so the message cannot close the tag.
  const data = payload.replace(/</g, '\\u003c');
  return (
    `<div class="vigilo-alarm" style="font-size:11px;opacity:.75;margin:0 0 6px">` +
    `<button type="button" class="vigilo-alarm-toggle" style="font-size:11px;padding:1px 6px;cursor:pointer;background:transparent;color:inherit;border:1px solid rgba(128,128,128,0.6);border-radius:3px">Sound on critical alerts: off</button></div>` +
    `<script>(function(){try{` +
    `var s=document.currentScript,box=s&&s.previousElementSibling,b=box&&box.querySelector('button'),K='vigilo-alarm',L='vigilo-alarm-last',alarm=${data};` +
    `var on=function(){try{return localStorage.getItem(K)==='1'}catch(e){return false}};` +
    `var beep=function(){try{var C=window.AudioContext||window.webkitAudioContext,c=new C(),o=c.createOscillator(),g=c.createGain();o.frequency.value=880;g.gain.value=0.08;o.connect(g);g.connect(c.destination);o.start();o.stop(c.currentTime+0.35)}catch(e){}};` +
    `var label=function(){if(b)b.textContent='Sound on critical alerts: '+(on()?'on':'off')+(on()&&window.Notification&&Notification.permission==='granted'?' (+ browser notification)':'')};` +
    `label();if(b)b.onclick=function(){var v=!on();try{localStorage.setItem(K,v?'1':'0')}catch(e){}if(v){beep();try{if(window.Notification&&Notification.permission==='default')Notification.requestPermission().then(label,label)}catch(e){}}label()};` +
    `if(alarm&&on()){var last=null;try{last=localStorage.getItem(L);localStorage.setItem(L,alarm.id)}catch(e){}if(last!==alarm.id){beep();try{if(window.Notification&&Notification.permission==='granted')new Notification(alarm.title,{body:alarm.body,tag:alarm.id})}catch(e){}}}` +
    `}catch(e){}})();</script>`
  );
}

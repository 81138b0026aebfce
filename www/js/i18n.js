// The page's language: English or Japanese, chosen from the browser's languages unless the reader picked
// one with the switch (kept in localStorage: a preference, not a secret). Every string of the demo and
// of the console is looked up here; dates go through Intl in the reader's locale.

import en from './lang/en.js';

// The languages, by name in their own tongue; a dictionary other than English is fetched only when chosen.
export const LANGS = { en: 'English', ja: '日本語' };
const LOADERS = { ja: () => import('./lang/ja.js') };
const KEY = 'scopegate.lang';

function stored() {
  try { return localStorage.getItem(KEY); } catch { return null; }
}

function detect() {
  const s = stored();
  if (s && s in LANGS) return s;
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const base = String(l).toLowerCase().split('-')[0];
    if (base in LANGS) return base;
  }
  return 'en';
}

export const lang = detect();
const dict = lang === 'en' ? en : (await LOADERS[lang]()).default;

// `t('key', {n: 3})`: the string for the key in the page's language, `{name}` replaced by its value. A key
// missing from Japanese falls back to English, and a missing key shows itself (a test looks for those).
export function t(key, vars) {
  let s = dict[key] ?? en[key];
  if (s === undefined) return key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

export const has = (key) => key in dict || key in en;

// The reader's locale for dates and numbers: the browser's own variant of the page's language when it has
// one (en-GB stays en-GB), else the language itself.
export const locale = (() => {
  for (const l of navigator.languages || []) if (String(l).toLowerCase().split('-')[0] === lang) return l;
  return lang === 'ja' ? 'ja-JP' : 'en';
})();

// Made on first use: building an Intl formatter loads locale data, which a page that shows no date (the
// demo) should not wait for.
const lazy = (make) => { let f = null; return () => (f ??= make()); };
const dateTimeFmt = lazy(() => new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }));
const dateFmt = lazy(() => new Intl.DateTimeFormat(locale, { dateStyle: 'medium' }));
const relFmt = lazy(() => new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }));
const numFmt = lazy(() => new Intl.NumberFormat(locale));

const toDate = (v) => (v instanceof Date ? v : typeof v === 'number' ? new Date(v * 1000) : new Date(v));
export const fmtDateTime = (v) => (v == null ? '' : dateTimeFmt().format(toDate(v)));
export const fmtDate = (v) => (v == null ? '' : dateFmt().format(toDate(v)));
export const fmtNumber = (n) => numFmt().format(n);

// "in 29 minutes", "3 days ago": the largest unit that fits.
export function fmtRelative(v, now = Date.now()) {
  const s = (toDate(v).getTime() - now) / 1000;
  const a = Math.abs(s);
  const f = relFmt();
  if (a < 60) return f.format(Math.round(s), 'second');
  if (a < 3600) return f.format(Math.round(s / 60), 'minute');
  if (a < 86400) return f.format(Math.round(s / 3600), 'hour');
  return f.format(Math.round(s / 86400), 'day');
}

// Static text in the HTML: `data-i18n="key"` sets the text, `data-i18n-html="key"` the markup (our own
// dictionary's, never data), `data-i18n-attr="placeholder:key aria-label:key"` attributes.
export function applyI18n(root = document) {
  if (root === document) document.documentElement.lang = lang;
  // The pages are written in English, the same as en.js (a browser test holds them equal).
  if (lang === 'en') return;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-html]')) el.innerHTML = t(el.dataset.i18nHtml);
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(/\s+/).filter(Boolean)) {
      const [attr, key] = pair.split(':');
      el.setAttribute(attr, t(key));
    }
  }
}

// The language switch: a labelled <select>; a change is remembered and the page reloads in the language
// (the demo's state is in the address bar and the console's session in sessionStorage, so both survive).
export function initLangSwitch(select) {
  select.replaceChildren(...Object.keys(LANGS).map((l) => {
    const o = document.createElement('option');
    o.value = l;
    o.lang = l;
    o.textContent = LANGS[l];
    return o;
  }));
  select.value = lang;
  select.addEventListener('change', () => {
    try { localStorage.setItem(KEY, select.value); } catch { /* private mode: this page only */ }
    location.reload();
  });
}

// A module message (English, from the policy module or the host) shown with its reason's translation
// first when the page is not in English.
export function explain(prefix, reason, message) {
  const key = `${prefix}.${reason}`;
  if (lang === 'en' || !(key in dict)) return [message];
  const span = document.createElement('span');
  span.lang = 'en';
  span.className = 'hint original';
  span.textContent = `(${message})`;
  return [dict[key], ' ', span];
}

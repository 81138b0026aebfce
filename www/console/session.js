// The signed-in admin credential: in this tab's sessionStorage only (never localStorage, a cookie or a
// URL), so it is gone when the tab closes, and removed at sign-out. Nothing else here reads storage.

const KEY = 'scopegate.console.credential';

export function credential() {
  try { return sessionStorage.getItem(KEY); } catch { return null; }
}

export function keep(secret) {
  sessionStorage.setItem(KEY, secret);
}

export function forget() {
  try { sessionStorage.removeItem(KEY); } catch { /* storage unavailable: nothing was kept */ }
}

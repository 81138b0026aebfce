export const $ = (sel, root = document) => root.querySelector(sel);

// Small element builder: h('li', {class: 'x', onclick}, 'text', child).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v == null) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// An empty list stays empty (the stylesheet shows a dash) so its items are exactly the scopes.
export function chips(ul, items, cls = '') {
  ul.replaceChildren(...items.map((s) => h('li', { class: `chip ${cls}` }, s)));
}

// The strings of the page in the chosen language. Each language is one
// table (strings/en.js, strings/tr.js); only the one in use is loaded.

export const LANGS = ['en', 'tr'];
let table = {};
let current = 'en';

export function pickLang(wanted) {
  const list = [wanted, ...(navigator.languages || [navigator.language || 'en'])];
  for (const l of list) {
    const base = String(l || '').toLowerCase().slice(0, 2);
    if (LANGS.includes(base)) return base;
  }
  return 'en';
}

export async function setLang(lang) {
  const l = LANGS.includes(lang) ? lang : 'en';
  const mod = await import(`./strings/${l}.js`);
  table = mod.default;
  current = l;
  document.documentElement.lang = l;
  return l;
}

export function lang() {
  return current;
}

// t looks a string up and fills {name} placeholders.
export function t(key, vars) {
  let s = table[key];
  if (s === undefined) s = key;
  if (typeof s === 'function') return s(vars || {});
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] === undefined ? m : String(vars[k])));
  return s;
}

// unitName names a unit for people, falling back to its id.
export function unitName(unit) {
  const s = table[`unit.${unit}`];
  return s === undefined ? unit : s;
}

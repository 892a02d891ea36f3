// The strings of the page in the chosen language. Each language is one
// table (strings/en.js, strings/tr.js) shared by the widget and the
// console; the console adds its own screens' table (strings/console-en.js),
// which the widget never loads. Only the language in use is loaded.

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

// setLang loads lang's table, and app's own on top of it when given
// ('console').
export async function setLang(lang, app) {
  const l = LANGS.includes(lang) ? lang : 'en';
  const mods = await Promise.all([import(`./strings/${l}.js`), ...(app ? [import(`./strings/${app}-${l}.js`)] : [])]);
  table = Object.assign({}, ...mods.map((m) => m.default));
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

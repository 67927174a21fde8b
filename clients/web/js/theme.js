// Themes: the preference is "system", "light", "dark" or "high-contrast" (the user setting
// `theme`); the page shows the resolved one in <html data-theme> (light, dark or high-contrast)
// and the preference in data-theme-pref.

export const THEMES = [
  ["system", "System"],
  ["light", "Light"],
  ["dark", "Dark"],
  ["high-contrast", "High contrast"],
];

let preference = "system";
const mqDark = globalThis.matchMedia ? matchMedia("(prefers-color-scheme: dark)") : null;
const mqMore = globalThis.matchMedia ? matchMedia("(prefers-contrast: more)") : null;

export function resolve(pref) {
  if (pref === "light" || pref === "dark" || pref === "high-contrast") return pref;
  if (mqMore && mqMore.matches) return "high-contrast";
  return mqDark && mqDark.matches ? "dark" : "light";
}

export function applyTheme(pref) {
  preference = THEMES.some(([v]) => v === pref) ? pref : "system";
  const root = document.documentElement;
  root.dataset.theme = resolve(preference);
  root.dataset.themePref = preference;
}

export function currentPreference() { return preference; }

const onSystemChange = () => { if (preference === "system") applyTheme("system"); };
mqDark?.addEventListener?.("change", onSystemChange);
mqMore?.addEventListener?.("change", onSystemChange);

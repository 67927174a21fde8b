// Small SVG charts, no library. Colours come from CSS custom properties (classes .s0 … .s5), so
// they follow the theme. Every chart is a <figure> with a caption, an SVG with role="img" and an
// aria-label summarising it, and <title> tooltips on points and bars.

const SVG = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function niceStep(range, count) {
  const raw = range / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw || 1)));
  const norm = raw / mag;
  const step = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10;
  return step * mag;
}

export function niceTicks(min, max, count = 4) {
  if (!(max > min)) { max = min + 1; }
  const step = niceStep(max - min, count);
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const ticks = [];
  for (let v = lo; v <= hi + step / 2; v += step) ticks.push(Number(v.toFixed(10)));
  return ticks;
}

const defaultFormat = (v) => {
  if (Math.abs(v) >= 1e9) return `${(v / 1e9).toFixed(1)}G`;
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (Math.abs(v) >= 1e4) return `${(v / 1e3).toFixed(0)}k`;
  if (Math.abs(v) >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(v < 1 ? 2 : 1);
};

function figure(title, svg, legend, id) {
  const fig = document.createElement("figure");
  fig.className = "chart";
  if (id) fig.dataset.chart = id;
  const cap = document.createElement("figcaption");
  cap.textContent = title;
  fig.append(cap, svg);
  if (legend) fig.append(legend);
  return fig;
}

function legendFor(series) {
  if (series.length < 2) return null;
  const ul = document.createElement("ul");
  ul.className = "legend";
  series.forEach((ser, i) => {
    const li = document.createElement("li");
    const sw = document.createElement("span");
    sw.className = `swatch s${i % 6}`;
    sw.setAttribute("aria-hidden", "true");
    li.append(sw, document.createTextNode(ser.name));
    ul.append(li);
  });
  return ul;
}

/**
 * A line chart. series: [{name, points: [{x: number|Date|string, y: number}]}].
 * options: {title, id, width=640, height=220, yFormat, xFormat, yMin, yMax, area, emptyText}
 * Returns {el, update(series)}.
 */
export function lineChart(series, options = {}) {
  const W = options.width || 640, H = options.height || 220;
  const M = { top: 12, right: 16, bottom: 28, left: 52 };
  const yFormat = options.yFormat || defaultFormat;
  const xFormat = options.xFormat || ((x) => (x instanceof Date ? x.toLocaleTimeString() : String(x)));
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart-svg", preserveAspectRatio: "xMidYMid meet" });
  const legendSlot = document.createElement("div");
  const el = figure(options.title || "", svg, legendSlot, options.id);

  function update(data) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    legendSlot.replaceChildren(...[legendFor(data)].filter(Boolean));
    const all = data.flatMap((d) => d.points);
    if (!all.length) {
      svg.append(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "chart-empty" }, options.emptyText || "No data yet"));
      svg.setAttribute("aria-label", `${options.title || "Chart"}: no data`);
      return;
    }
    const xs = all.map((p) => +p.x);
    const categorical = all.some((p) => typeof p.x === "string");
    const xKeys = categorical ? [...new Set(all.map((p) => String(p.x)))] : null;
    const xVal = (p) => (categorical ? xKeys.indexOf(String(p.x)) : +p.x);
    const x0 = categorical ? 0 : Math.min(...xs), x1 = categorical ? Math.max(1, xKeys.length - 1) : Math.max(...xs);
    const ysRaw = all.map((p) => p.y).filter((v) => Number.isFinite(v));
    const ticks = niceTicks(options.yMin ?? Math.min(0, ...ysRaw), options.yMax ?? Math.max(...ysRaw, options.yMinMax ?? 0));
    const y0 = ticks[0], y1 = ticks[ticks.length - 1];
    const px = (v) => M.left + ((v - x0) / ((x1 - x0) || 1)) * (W - M.left - M.right);
    const py = (v) => H - M.bottom - ((v - y0) / ((y1 - y0) || 1)) * (H - M.top - M.bottom);
    const grid = s("g", { class: "grid" });
    for (const t of ticks) {
      grid.append(s("line", { x1: M.left, x2: W - M.right, y1: py(t), y2: py(t) }));
      grid.append(s("text", { x: M.left - 6, y: py(t) + 4, "text-anchor": "end", class: "tick" }, yFormat(t)));
    }
    svg.append(grid);
    // x labels: first, middle, last
    const xl = s("g", { class: "xlabels" });
    const labelAt = categorical ? [0, Math.floor((xKeys.length - 1) / 2), xKeys.length - 1] : [x0, (x0 + x1) / 2, x1];
    [...new Set(labelAt)].forEach((v, i, arr) => {
      const anchor = arr.length === 1 ? "middle" : i === 0 ? "start" : i === arr.length - 1 ? "end" : "middle";
      const label = categorical ? xFormat(xKeys[v]) : xFormat(options.xIsTime === false ? v : new Date(v));
      xl.append(s("text", { x: px(v), y: H - 8, "text-anchor": anchor, class: "tick" }, label));
    });
    svg.append(xl);
    data.forEach((ser, i) => {
      const pts = ser.points.filter((p) => Number.isFinite(p.y));
      if (!pts.length) return;
      const d = pts.map((p, j) => `${j ? "L" : "M"}${px(xVal(p)).toFixed(1)},${py(p.y).toFixed(1)}`).join(" ");
      if (options.area && data.length === 1) {
        const area = `${d} L${px(xVal(pts[pts.length - 1])).toFixed(1)},${py(y0)} L${px(xVal(pts[0])).toFixed(1)},${py(y0)} Z`;
        svg.append(s("path", { d: area, class: `area s${i % 6}` }));
      }
      svg.append(s("path", { d, class: `line s${i % 6}` }, s("title", {}, ser.name)));
      const last = pts[pts.length - 1];
      const dots = s("g", { class: `dots s${i % 6}` });
      const every = pts.length > 40 ? null : pts; // dots only when sparse
      for (const p of every || [last]) {
        dots.append(s("circle", { cx: px(xVal(p)), cy: py(p.y), r: 3 }, s("title", {}, `${ser.name}: ${yFormat(p.y)} at ${categorical ? xFormat(p.x) : xFormat(new Date(+p.x))}`)));
      }
      svg.append(dots);
    });
    const summary = data.map((ser) => {
      const last = ser.points[ser.points.length - 1];
      return last ? `${ser.name} ${yFormat(last.y)}` : `${ser.name} no data`;
    }).join(", ");
    svg.setAttribute("aria-label", `${options.title || "Chart"}: latest ${summary}`);
  }
  update(series);
  return { el, update };
}

/**
 * A bar chart. items: [{label, value}]. options: {title, id, horizontal=true, valueFormat, width, emptyText}
 * Horizontal bars suit long labels (models, agents, users); vertical columns suit days.
 */
export function barChart(items, options = {}) {
  const horizontal = options.horizontal !== false;
  const fmt = options.valueFormat || defaultFormat;
  const W = options.width || 640;
  const max = Math.max(0, ...items.map((i) => i.value || 0));
  let svg;
  if (!items.length) {
    svg = s("svg", { viewBox: `0 0 ${W} 80`, role: "img", class: "chart-svg", "aria-label": `${options.title || "Chart"}: no data` },
      s("text", { x: W / 2, y: 44, "text-anchor": "middle", class: "chart-empty" }, options.emptyText || "No data for this period"));
    return { el: figure(options.title || "", svg, null, options.id) };
  }
  if (horizontal) {
    const row = 26, labelW = 150, right = 70;
    const H = items.length * row + 10;
    svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart-svg" });
    items.forEach((it, i) => {
      const y = 5 + i * row;
      const w = max ? ((it.value || 0) / max) * (W - labelW - right) : 0;
      const label = it.label.length > 22 ? `${it.label.slice(0, 21)}…` : it.label;
      svg.append(s("text", { x: labelW - 8, y: y + row / 2 + 4, "text-anchor": "end", class: "tick" }, label));
      svg.append(s("rect", { x: labelW, y: y + 3, width: Math.max(w, it.value ? 2 : 0), height: row - 8, rx: 3, class: `bar s${(options.colorIndex || 0) % 6}` },
        s("title", {}, `${it.label}: ${fmt(it.value || 0)}`)));
      svg.append(s("text", { x: labelW + w + 6, y: y + row / 2 + 4, class: "tick value" }, fmt(it.value || 0)));
    });
  } else {
    const H = options.height || 220;
    const M = { top: 12, right: 12, bottom: 28, left: 52 };
    svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart-svg" });
    const ticks = niceTicks(0, max || 1);
    const top = ticks[ticks.length - 1];
    const py = (v) => H - M.bottom - (v / top) * (H - M.top - M.bottom);
    const grid = s("g", { class: "grid" });
    for (const t of ticks) {
      grid.append(s("line", { x1: M.left, x2: W - M.right, y1: py(t), y2: py(t) }));
      grid.append(s("text", { x: M.left - 6, y: py(t) + 4, "text-anchor": "end", class: "tick" }, fmt(t)));
    }
    svg.append(grid);
    const slot = (W - M.left - M.right) / items.length;
    const bw = Math.max(2, Math.min(48, slot * 0.7));
    const every = Math.ceil(items.length / 8);
    items.forEach((it, i) => {
      const x = M.left + i * slot + (slot - bw) / 2;
      svg.append(s("rect", { x, y: py(it.value || 0), width: bw, height: Math.max(0, py(0) - py(it.value || 0)), rx: 2, class: `bar s${(options.colorIndex || 0) % 6}` },
        s("title", {}, `${it.label}: ${fmt(it.value || 0)}`)));
      if ((items.length - 1 - i) % every === 0) { // evenly spaced, always the latest
        svg.append(s("text", { x: x + bw / 2, y: H - 8, "text-anchor": "middle", class: "tick" }, it.short || it.label));
      }
    });
  }
  const top3 = [...items].sort((a, b) => (b.value || 0) - (a.value || 0)).slice(0, 3).map((i) => `${i.label} ${fmt(i.value || 0)}`).join(", ");
  svg.setAttribute("aria-label", `${options.title || "Chart"}: ${items.length} bars; highest ${top3}`);
  return { el: figure(options.title || "", svg, null, options.id) };
}

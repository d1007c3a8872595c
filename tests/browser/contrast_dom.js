([roots, minimum]) => {
  const parse = (c) => {
    const m = c && c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const over = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a), g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a), a: 1});
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let bg = {r: 255, g: 255, b: 255, a: 1};
    for (const layer of layers.reverse()) bg = layer.a >= 1 ? layer : over(layer, bg);
    return bg;
  };
  const opacity = (el) => { let o = 1; for (let e = el; e; e = e.parentElement) o *= parseFloat(getComputedStyle(e).opacity); return o; };
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const describe = (el) => {
    const cls = typeof el.className === 'string' ? el.className.split(/\s+/).filter(c => c.startsWith('prodex') || c.startsWith('jupyter') || c.startsWith('widget')).slice(0, 3).join('.') : '';
    return el.tagName.toLowerCase() + (cls ? '.' + cls : '');
  };
  const out = {checked: 0, failures: []};
  for (const root of document.querySelectorAll(roots.join(','))) {
    for (const el of [root, ...root.querySelectorAll('*')]) {
      if (!visible(el) || el.closest('svg, canvas, style, script')) continue;
      if (el.closest('button:disabled, input:disabled, textarea:disabled, select:disabled, .mod-disabled')) continue;
      const field = ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName) && el.type !== 'checkbox';
      const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
      if (!own && !field) continue;
      const style = getComputedStyle(el);
      const fg = parse(style.color);
      fg.a *= opacity(el);
      const bg = background(el);
      const r = ratio(over(fg, bg), bg);
      out.checked++;
      if (r < minimum) {
        const text = (field ? (el.value || el.placeholder || '') : el.textContent).trim().slice(0, 50);
        out.failures.push(`${r.toFixed(2)}:1 ${describe(el)} "${text}" ${style.color} on rgb(${bg.r|0},${bg.g|0},${bg.b|0})`);
      }
    }
  }
  return out;
}

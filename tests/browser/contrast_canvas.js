([minimum]) => {
  const parse = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); const p = m[1].split(/[\s,]+/).map(Number); return {r: p[0], g: p[1], b: p[2]}; };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const out = {checked: 0, failures: []};
  for (const el of document.querySelectorAll('.prodex-canvas')) {
    const cy = el._cyreg && el._cyreg.cy;
    if (!cy) continue;
    cy.nodes().forEach((n) => {
      const fg = parse(n.style('color')), bg = parse(n.style('background-color'));
      const [x, y] = [lum(fg), lum(bg)].sort((p, q) => q - p);
      const r = (x + 0.05) / (y + 0.05);
      out.checked++;
      if (r < minimum) out.failures.push(`${r.toFixed(2)}:1 canvas node ${n.id()} (${n.classes().join(' ')})`);
    });
  }
  return out;
}

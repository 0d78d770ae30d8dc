// map.html's script (siteplanner/outputs/webmap.py inlines it): pan, zoom, layers, popups,
// and the référent sûreté's review: accept, reject or move (drag) each proposed site, check
// each moved point as the next run will, and download the review file the next run reads.
// No library, no network: the data are the page's own (#sites-data, #review-data, the SVG).
(function () {
  'use strict';
  const svg = document.getElementById('map');
  const data = JSON.parse(document.getElementById('sites-data').textContent);
  let vb = svg.getAttribute('viewBox').split(' ').map(Number);
  const full = vb.slice();
  function set() { svg.setAttribute('viewBox', vb.join(' ')); }
  function zoom(f, cx, cy) {
    vb = [cx - (cx - vb[0]) * f, cy - (cy - vb[1]) * f, vb[2] * f, vb[3] * f];
    set();
  }
  // a mouse event's point in the map's units (metres from the frame's top left corner)
  function toUser(ev) {
    const p = new DOMPoint(ev.clientX, ev.clientY).matrixTransform(svg.getScreenCTM().inverse());
    const r = svg.getBoundingClientRect();
    return [p.x, p.y, Math.max(vb[2] / r.width, vb[3] / r.height)];
  }
  svg.addEventListener('wheel', ev => {
    ev.preventDefault();
    const p = toUser(ev);
    zoom(ev.deltaY > 0 ? 1.2 : 1 / 1.2, p[0], p[1]);
  }, { passive: false });
  let pan = null;
  svg.addEventListener('mousedown', ev => {
    pan = [ev.clientX, ev.clientY, vb[0], vb[1], toUser(ev)[2]];
    svg.style.cursor = 'grabbing';
  });
  window.addEventListener('mouseup', () => { pan = null; svg.style.cursor = 'grab'; });
  window.addEventListener('mousemove', ev => {
    if (!pan) return;
    vb[0] = pan[2] - (ev.clientX - pan[0]) * pan[4];
    vb[1] = pan[3] - (ev.clientY - pan[1]) * pan[4];
    set();
  });
  document.getElementById('zin').onclick = () => zoom(1 / 1.5, vb[0] + vb[2] / 2, vb[1] + vb[3] / 2);
  document.getElementById('zout').onclick = () => zoom(1.5, vb[0] + vb[2] / 2, vb[1] + vb[3] / 2);
  document.getElementById('zfit').onclick = () => { vb = full.slice(); set(); };
  document.querySelectorAll('#panel input[data-layer]').forEach(cb => {
    cb.addEventListener('change', () => {
      document.getElementById(cb.dataset.layer).style.display = cb.checked ? '' : 'none';
    });
  });
  const pop = document.getElementById('popup');
  function esc(s) {
    return String(s).replace(/[&<>"]/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
  }
  window.showSite = function (id) {
    const d = data[id];
    if (!d) return;
    let h = '<b>' + esc(d.site || id) + '</b><br>Site ' + esc(id) +
      ' <a href="report.html#site-' + encodeURIComponent(id) + '">sheet</a><table>';
    for (const k in d) {
      if (k !== 'site') h += '<tr><td>' + esc(k) + '</td><td>' + esc(d[k]) + '</td></tr>';
    }
    pop.innerHTML = h + '</table>';
    pop.style.display = 'block';
    pop.dataset.site = id;
  };
  let justDragged = false;
  document.querySelectorAll('[data-site]').forEach(el => el.addEventListener('click', ev => {
    ev.stopPropagation();
    if (justDragged) { justDragged = false; return; }
    window.showSite(el.dataset.site);
  }));

  // ------------------------------------------------------------------ the review
  const rvEl = document.getElementById('review-data');
  if (!rvEl) return;
  const R = JSON.parse(rvEl.textContent);
  const NS = 'http://www.w3.org/2000/svg';

  // geometry of the page's own layers: "M x,y x,y ...Z M ..." path data, in map units
  function rings(d) {
    return d.split('M').filter(s => s.trim()).map(s => s.replace('Z', '').trim().split(' ')
      .map(p => p.split(',').map(Number)));
  }
  function bbox(rs) {
    const b = [Infinity, Infinity, -Infinity, -Infinity];
    for (const r of rs) for (const [x, y] of r) {
      if (x < b[0]) b[0] = x; if (y < b[1]) b[1] = y; if (x > b[2]) b[2] = x; if (y > b[3]) b[3] = y;
    }
    return b;
  }
  function shapes(selector) {
    return Array.from(document.querySelectorAll(selector)).map(p => {
      const rs = rings(p.getAttribute('d'));
      return { rings: rs, box: bbox(rs) };
    });
  }
  let geo = null;  // parsed on the first check
  function geometry() {
    if (!geo) {
      geo = {
        area: shapes('#study-area'),
        buildings: shapes('#l-buildings path'),
        streets: shapes('#l-streets path'),
      };
    }
    return geo;
  }
  function inside(shape, x, y) {  // even-odd rule over every ring, as the SVG fill draws it
    const b = shape.box;
    if (x < b[0] || x > b[2] || y < b[1] || y > b[3]) return false;
    let c = false;
    for (const r of shape.rings) {
      for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
        const [xi, yi] = r[i], [xj, yj] = r[j];
        if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) c = !c;
      }
    }
    return c;
  }
  function nearestOn(shape, x, y) {  // [distance, qx, qy] to a street's line
    let best = [Infinity, x, y];
    for (const r of shape.rings) {
      for (let i = 1; i < r.length; i++) {
        const [ax, ay] = r[i - 1], [bx, by] = r[i];
        const dx = bx - ax, dy = by - ay, n = dx * dx + dy * dy;
        const t = n > 0 ? Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / n)) : 0;
        const qx = ax + t * dx, qy = ay + t * dy, d = Math.hypot(x - qx, y - qy);
        if (d < best[0]) best = [d, qx, qy];
      }
    }
    return best;
  }
  function boxDistance(b, x, y) {
    return Math.hypot(Math.max(b[0] - x, 0, x - b[2]), Math.max(b[1] - y, 0, y - b[3]));
  }

  // What the next run says of a mast at (x, y): the reasons it refuses it (inside a building,
  // on an underground or indoor way only, outside the study area), and the nearest street.
  function check(x, y) {
    const g = geometry(), rule = R.rules;
    const out = { refused: [], street: null, street_m: Infinity, snap: null };
    if (!g.area.some(a => inside(a, x, y))) out.refused.push('is outside the study area (' + R.area_name + ')');
    const b = g.buildings.findIndex(s => inside(s, x, y));
    if (b >= 0) {
      const [id, name] = R.buildings[b];
      out.refused.push('is inside a building (' + id + (name ? ', ' + name : '') + ')');
    }
    let surfaceNear = false, under = -1;
    g.streets.forEach((s, j) => {
      const below = R.streets[j][1] === 1;
      const lim = below ? rule.surface_m : Math.max(rule.surface_m, out.street_m);
      if (boxDistance(s.box, x, y) > lim) return;
      const [d, qx, qy] = nearestOn(s, x, y);
      if (below) {
        if (d <= rule.on_way_m && (under < 0)) under = j;
      } else {
        if (d <= rule.surface_m) surfaceNear = true;
        if (d < out.street_m) { out.street_m = d; out.street = R.streets[j][0]; out.snap = [qx, qy]; }
      }
    });
    if (under >= 0 && !surfaceNear) {
      out.refused.push('is on an underground or indoor way only (' + R.streets[under][0] +
        ': tunnel, layer or level below 0, or indoor)');
    }
    return out;
  }

  // map units -> WGS84 (a polynomial fitted to the town's projection, mm-accurate over the frame)
  function toLonLat(x, y) {
    const f = R.lonlat, s = (x - f.origin[0]) / f.scale, t = (y - f.origin[1]) / f.scale;
    let lon = 0, lat = 0;
    f.terms.forEach(([i, j], k) => {
      const m = Math.pow(s, i) * Math.pow(t, j);
      lon += f.lon[k] * m; lat += f.lat[k] * m;
    });
    return [lon, lat];
  }

  // the state of each reviewed site, from the current review file's rows
  const rowsById = new Map(R.rows.map(r => [r.site_id, r]));
  const sites = R.sites.map(s => {
    const r = rowsById.get(s.row);
    const el = document.getElementById('site-' + s.id);
    return {
      ...s, el, base: r, decision: r.decision, lon: r.moved_lon, lat: r.moved_lat,
      comment: r.comment, pos: [s.x, s.y], check: null,
      fov: document.querySelector('.fov[data-site="' + CSS.escape(s.id) + '"]'),
    };
  });
  const layer = document.getElementById('l-review');
  const reviewer = document.getElementById('rv-reviewer');
  const date = document.getElementById('rv-date');
  const warnBox = document.getElementById('rv-warn');
  const anyway = document.getElementById('rv-anyway');
  if (!date.value) {
    const d = new Date();
    date.value = [d.getFullYear(), String(d.getMonth() + 1).padStart(2, '0'),
      String(d.getDate()).padStart(2, '0')].join('-');
  }

  function touched(s) {
    return s.decision !== s.base.decision || s.lon !== s.base.moved_lon ||
      s.lat !== s.base.moved_lat || s.comment !== s.base.comment;
  }
  function record(s) {
    if (!touched(s)) return s.base;
    return {
      site_id: s.row, decision: s.decision, moved_lon: s.decision === 'move' ? s.lon : '',
      moved_lat: s.decision === 'move' ? s.lat : '', comment: s.comment,
      reviewer: reviewer.value.trim(), date: date.value,
    };
  }
  // the review file: review.review_text's format (header, ',' and '"' quoted as Python's csv
  // module quotes them, '\n' line ends, UTF-8 without a byte-order mark)
  function csvField(v) {
    v = String(v);
    return /[",\r\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
  }
  function csv() {
    const bySite = new Map(sites.map(s => [s.row, record(s)]));
    const rows = R.rows.map(r => bySite.get(r.site_id) || r);
    return [R.columns].concat(rows.map(r => R.columns.map(c => r[c])))
      .map(r => r.map(csvField).join(',') + '\n').join('');
  }

  function place(s, x, y) {
    s.pos = [x, y];
    s.el.setAttribute('transform', 'translate(' + (x - s.x) + ' ' + (y - s.y) + ')');
    if (s.fov) s.fov.style.opacity = (x === s.x && y === s.y) ? '' : '0.25';
  }
  function moveTo(s, x, y) {
    place(s, x, y);
    const [lon, lat] = toLonLat(x, y);
    s.decision = 'move';
    s.lon = lon.toFixed(7);
    s.lat = lat.toFixed(7);
    update(s);
  }
  function decide(s, d) {  // accept, reject or pending: the site stays (or goes back) home
    s.decision = d;
    s.lon = s.lat = '';
    place(s, s.home[0], s.home[1]);
    update(s);
  }
  function undoMove(s) {  // back to the current review file's decision (a move made earlier kept)
    const moved = s.pos[0] !== s.x || s.pos[1] !== s.y;
    if (s.base.decision === 'move' && moved) {
      s.decision = 'move';
      s.lon = s.base.moved_lon;
      s.lat = s.base.moved_lat;
      place(s, s.x, s.y);
      update(s);
    } else {
      decide(s, s.base.decision === 'move' ? 'pending' : s.base.decision);
    }
  }
  function mark(s) {
    const [x, y] = s.pos, out = [];
    const col = { accept: '#2ca02c', reject: '#d62728', move: '#1f77b4', pending: '' }[s.decision];
    if (s.decision === 'move') {
      const bad = s.check.refused.length ? '#d62728' : s.check.street_m > R.rules.off_street_m ? '#ff7f0e' : '#1f77b4';
      out.push('<circle cx="' + s.home[0] + '" cy="' + s.home[1] + '" r="5" fill="none" stroke="' + bad +
        '" stroke-dasharray="2 2"/><line x1="' + s.home[0] + '" y1="' + s.home[1] + '" x2="' + x + '" y2="' + y +
        '" stroke="' + bad + '" stroke-width="1.5" stroke-dasharray="4 3"/>' +
        '<circle cx="' + x + '" cy="' + y + '" r="11" fill="none" stroke="' + bad + '" stroke-width="2.5"/>');
    } else if (col) {
      out.push('<circle cx="' + x + '" cy="' + y + '" r="11" fill="none" stroke="' + col + '" stroke-width="2.5"/>');
    }
    if (s.decision === 'reject') {
      out.push('<path d="M' + (x - 9) + ',' + (y - 9) + 'L' + (x + 9) + ',' + (y + 9) + 'M' + (x + 9) + ',' +
        (y - 9) + 'L' + (x - 9) + ',' + (y + 9) + '" stroke="#d62728" stroke-width="3"/>');
    }
    return out.join('');
  }
  function moveText(s) {
    if (s.decision !== 'move') return '';
    const c = s.check, dist = Math.hypot(s.pos[0] - s.home[0], s.pos[1] - s.home[1]);
    let h = 'Moved ' + Math.round(dist) + ' m to ' + s.lon + ', ' + s.lat + '. ';
    if (c.refused.length) {
      h += '<span class="rv-bad">✗ The point ' + esc(c.refused.join(' and ')) +
        ': the next run refuses it.</span>';
    } else if (c.street_m > R.rules.off_street_m) {
      h += '<span class="rv-note">⚠ Off the street: ' + Math.round(c.street_m) + ' m from the nearest street (' +
        esc(c.street || 'none') + '). Check the mast stands on public land.</span>';
    } else {
      h += '<span class="rv-ok">✓ On the street (' + esc(c.street) + ', ' + c.street_m.toFixed(1) +
        ' m from its centre line).</span>';
    }
    if ((c.refused.length || c.street_m > R.rules.off_street_m) && c.snap) {
      h += ' <button class="rv-snap">Put it on the street</button>';
    }
    return h + ' <button class="rv-undo">Undo the move</button>';
  }
  function update(s) {
    s.check = s.decision === 'move' ? check(s.pos[0], s.pos[1]) : null;
    const item = s.item;
    item.dataset.decision = s.decision;
    item.dataset.refused = s.check && s.check.refused.length ? '1' : '';
    item.querySelectorAll('.rv-btns button').forEach(b => b.classList.toggle('on', b.dataset.d === s.decision));
    item.querySelector('.rv-move').innerHTML = moveText(s);
    const snap = item.querySelector('.rv-snap');
    if (snap) snap.onclick = () => moveTo(s, s.check.snap[0], s.check.snap[1]);
    const undo = item.querySelector('.rv-undo');
    if (undo) undo.onclick = () => undoMove(s);
    s.mark.innerHTML = mark(s);
    counts();
  }
  function counts() {
    const n = { accept: 0, reject: 0, move: 0, pending: 0 };
    sites.forEach(s => { n[s.decision] += 1; });
    const bad = sites.filter(s => s.check && s.check.refused.length).length;
    document.getElementById('rv-count').textContent = n.accept + ' accepted, ' + n.reject + ' rejected, ' +
      n.move + ' moved, ' + n.pending + ' pending' + (bad ? '; ' + bad + ' move(s) the next run refuses' : '');
    warnBox.textContent = '';
    anyway.hidden = true;
  }
  function locate(s) {
    const r = svg.getBoundingClientRect(), w = 260, h = w * r.height / r.width;
    vb = [s.pos[0] - w / 2, s.pos[1] - h / 2, w, h];
    set();
    window.showSite(s.id);
  }

  const list = document.getElementById('rv-list');
  let drag = null;
  sites.forEach(s => {
    const item = document.createElement('div');
    item.className = 'rv-site';
    item.dataset.site = s.id;
    item.innerHTML = '<div><b>' + s.rank + '.</b> <a href="#" class="rv-go" title="show it on the map">' +
      esc(s.label || 'site ' + s.id) + '</a> <span class="rv-phase">' + esc(s.phase) + ', site ' + esc(s.id) + '</span></div>' +
      '<div class="rv-btns"><button data-d="accept">✓ Accept</button><button data-d="reject">✗ Reject</button>' +
      '<button data-d="pending">Pending</button></div>' +
      '<div class="rv-move"></div><input class="rv-comment" placeholder="comment (written in the review file)">';
    s.item = item;
    item.querySelector('.rv-go').onclick = ev => { ev.preventDefault(); locate(s); };
    item.querySelectorAll('.rv-btns button').forEach(b => { b.onclick = () => decide(s, b.dataset.d); });
    const cm = item.querySelector('.rv-comment');
    cm.value = s.comment;
    cm.addEventListener('input', () => { s.comment = cm.value.trim(); counts(); });
    list.appendChild(item);
    s.mark = document.createElementNS(NS, 'g');
    layer.appendChild(s.mark);
    s.el.classList.add('movable');
    place(s, s.x, s.y);
    update(s);
    s.el.addEventListener('mousedown', ev => {
      ev.stopPropagation();
      ev.preventDefault();
      justDragged = false;
      drag = { s, at: [ev.clientX, ev.clientY], moved: false };
    });
  });

  // drag a proposed site's marker to move it (a click without moving shows its figures)
  window.addEventListener('mousemove', ev => {
    if (!drag) return;
    if (!drag.moved && Math.hypot(ev.clientX - drag.at[0], ev.clientY - drag.at[1]) < 3) return;
    drag.moved = true;
    const p = toUser(ev);
    place(drag.s, p[0], p[1]);
  });
  window.addEventListener('mouseup', ev => {
    if (!drag) return;
    const d = drag;
    drag = null;
    if (!d.moved) return;
    justDragged = true;
    const p = toUser(ev);
    moveTo(d.s, p[0], p[1]);
  });

  function warn(html) { warnBox.innerHTML = html; }
  function save(force) {
    const changed = sites.filter(touched);
    if (changed.length && !reviewer.value.trim()) {
      warn('Give the reviewer’s name first: it is written on every row you decided.');
      reviewer.focus();
      return;
    }
    if (changed.length && !/^\d{4}-\d{2}-\d{2}$/.test(date.value)) {
      warn('Give the date of the review (YYYY-MM-DD).');
      return;
    }
    const bad = sites.filter(s => s.check && s.check.refused.length);
    if (bad.length && !force) {
      warn('<b>The next run will refuse this file:</b><ul>' + bad.map(s => '<li>site ' + esc(s.row) +
        ' (' + esc(s.label) + '): the moved point ' + esc(s.check.refused.join(' and ')) + '</li>').join('') +
        '</ul>Drag it onto the street (or use “Put it on the street”), or download anyway to finish later.');
      anyway.hidden = false;
      return;
    }
    const blob = new Blob([csv()], { type: 'text/csv;charset=utf-8' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = R.file;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 60000);
    document.body.dataset.downloads = String(Number(document.body.dataset.downloads || 0) + 1);
    warn('Saved ' + esc(R.file) + ': put it at <code>' + esc(R.path) + '</code> (beside the scenario) ' +
      'and run the plan again.');
    anyway.hidden = true;
  }
  document.getElementById('rv-download').onclick = () => save(false);
  anyway.onclick = () => save(true);
  function view(box) { vb = box.slice(); set(); }  // show a box of the map (x, y, width, height)
  window.review = { csv, check, toLonLat, sites, locate, view, frame: R.frame };
})();

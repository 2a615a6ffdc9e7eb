/* Feedback insights: the browsing views of one run (report.html and `insights serve`).
 *
 * Every piece of feedback is untrusted user text. This script never uses innerHTML, outerHTML,
 * insertAdjacentHTML or document.write: data reaches the page only through textContent and
 * setAttribute on attributes that cannot run code. In the report, data comes from the embedded
 * JSON block; under `insights serve`, theme pages and search come from the JSON API.
 */
(function () {
  "use strict";

  var DATA = JSON.parse(document.getElementById("insights-data").textContent);
  var SERVER = DATA.mode === "server";
  var SEVERITY = ["critical", "high", "medium", "low", "none"];
  var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d"];
  var app = document.getElementById("app");
  var themes = DATA.themes;
  var byId = {};
  var colorOf = {};
  themes.forEach(function (t, i) { byId[t.id] = t; colorOf[t.id] = PALETTE[i % PALETTE.length]; });
  var state = { sort: "rank", dir: 1, q: "", category: "", severity: "", trend: "" };
  var SAFE_ATTR = /^(class|id|href|type|value|placeholder|title|role|colspan|for|name|min|max|width|height|x|y|viewBox|aria-[a-z]+|data-[a-z-]+)$/;

  // ------------------------------------------------------------------------------------ DOM helpers

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  function svg(tag, attrs, children) {
    var node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }
  function setAttrs(node, attrs) {
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (!SAFE_ATTR.test(k)) throw new Error("attribute not allowed: " + k);
      if (k === "href" && !/^(#|\?|api\/)/.test(String(v))) throw new Error("link not allowed");
      node.setAttribute(k, String(v));
    });
  }
  function append(node, children) {
    if (children === null || children === undefined) return;
    if (!Array.isArray(children)) children = [children];
    children.forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      node.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
    });
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function num(n) { return n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US"); }
  function pct(x) { return x === null || x === undefined ? "–" : (100 * x).toFixed(1) + "%"; }
  function cap(s) { s = String(s); return s.charAt(0).toUpperCase() + s.slice(1); }
  function has(key) { return themes.some(function (t) { return t[key] !== undefined && t[key] !== null; }); }
  function cat(t) { return t.category === undefined ? null : (t.category || "Unmapped"); }
  function badge(kind, value) { return value ? el("span", { class: "badge " + kind + "-" + String(value).replace(/[^a-z_]/g, "") }, value) : null; }
  function note(text) { return el("p", { class: "note" }, text); }
  function serveHint() { return "run `insights serve " + (DATA.run_dir || "outputs/" + DATA.run_id) + "` to browse all of them"; }
  function api(path, params) {
    var q = Object.keys(params || {}).map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]); }).join("&");
    return fetch("api/" + path + (q ? "?" + q : ""), { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error("the server answered " + r.status + " for " + path);
      return r.json();
    });
  }
  function fail(where, err) { clear(where); where.appendChild(note("Could not load: " + err.message)); }

  // ------------------------------------------------------------------------------------ overview

  function overview() {
    var o = DATA.overview;
    var stats = el("dl", { class: "stats", id: "stats" }, [
      stat("Rows in", o.rows_in, "rows_in"), stat("Themed", o.themed, "themed"),
      stat("Outliers", o.outliers, "outliers"), stat("Excluded", o.excluded, "excluded"), stat("Themes", o.themes, "themes")
    ]);
    var sec = el("section", { id: "overview" }, [el("h2", null, "Overview"), stats]);
    var reasons = Object.keys(o.excluded_by_reason || {});
    if (reasons.length) {
      sec.appendChild(el("p", { class: "muted" }, "Excluded by reason: " + reasons.map(function (r) { return r + " " + num(o.excluded_by_reason[r]); }).join(", ")));
    }
    (o.notes || []).forEach(function (n) { sec.appendChild(note(n)); });
    if (o.alerts && o.alerts.length) sec.appendChild(alertsTable(o.alerts));
    if (o.categories) {
      sec.appendChild(el("h3", null, "Categories by volume"));
      sec.appendChild(el("table", { id: "categories" }, [
        el("thead", null, el("tr", null, [el("th", null, "Category"), el("th", null, "Branch"), el("th", null, "Severity"),
          el("th", { class: "num" }, "Themes"), el("th", { class: "num" }, "Rows")])),
        el("tbody", null, o.categories.map(function (c) {
          return el("tr", null, [el("td", null, c.category), el("td", null, c.branch || ""), el("td", null, badge("sev", c.severity)),
            el("td", { class: "num" }, num(c.themes)), el("td", { class: "num" }, num(c.rows))]);
        }))
      ]));
    }
    if (o.severities) {
      sec.appendChild(el("h3", null, "By severity"));
      sec.appendChild(el("p", { id: "severities" }, o.severities.map(function (s) {
        return el("span", { class: "sevcount" }, [badge("sev", s.severity), " " + num(s.rows) + " rows in " + num(s.themes) + " themes "]);
      })));
    }
    return sec;
  }
  function stat(label, value, key) {
    return el("div", { "data-stat": key }, [el("dt", null, label), el("dd", null, num(value))]);
  }
  // The trends stage's fields, in this order, when present; otherwise the first keys an alert has.
  var ALERT_FIELDS = ["severity", "label", "kind", "detectors", "current_count", "baseline_per_bin", "growth", "status", "window_end", "message"];
  function alertsTable(alerts) {
    var keys = ALERT_FIELDS.filter(function (k) { return alerts.some(function (a) { return a[k] !== undefined; }); });
    if (keys.length < 2) alerts.forEach(function (a) { Object.keys(a).forEach(function (k) { if (keys.indexOf(k) < 0 && keys.length < 7) keys.push(k); }); });
    return el("div", { id: "alerts", class: "alerts" }, [el("h3", null, "Alerts (" + alerts.length + ")"), el("table", null, [
      el("thead", null, el("tr", null, keys.map(function (k) { return el("th", null, k.replace(/_/g, " ")); }))),
      el("tbody", null, alerts.map(function (a) {
        return el("tr", null, keys.map(function (k) {
          var v = a[k];
          if (k === "severity") return el("td", null, badge("sev", v));
          if (k === "label" && a.theme_id !== null && a.theme_id !== undefined && byId[a.theme_id]) {
            return el("td", null, el("a", { href: "#theme/" + a.theme_id, class: "theme-link" }, String(v)));
          }
          if (typeof v === "number" && !Number.isInteger(v)) v = v.toFixed(2);
          return el("td", null, v === null || v === undefined ? "" : Array.isArray(v) ? v.join(", ") : typeof v === "object" ? JSON.stringify(v) : String(v));
        }));
      }))
    ])]);
  }

  // ------------------------------------------------------------------------------------ theme table

  var COLUMNS = [
    { key: "rank", label: "Rank", num: true },
    { key: "label", label: "Theme" },
    { key: "category", label: "Category", opt: true },
    { key: "severity", label: "Severity", opt: true },
    { key: "trend", label: "Trend", opt: true },
    { key: "size", label: "Size", num: true },
    { key: "share", label: "Share", num: true },
    { key: "priority", label: "Priority", num: true },
    { key: "keywords", label: "Keywords", nosort: true }
  ].filter(function (c) { return !c.opt || has(c.key); });

  function sortValue(t, key) {
    if (key === "severity") { var i = SEVERITY.indexOf(t.severity); return i < 0 ? 99 : i; }
    if (key === "category") return String(cat(t)).toLowerCase();
    if (key === "label" || key === "trend") return String(t[key] || "").toLowerCase();
    return t[key] === null || t[key] === undefined ? -Infinity : t[key];
  }
  function visibleThemes() {
    var q = state.q.trim().toLowerCase();
    var list = themes.filter(function (t) {
      if (state.category && cat(t) !== state.category) return false;
      if (state.severity && t.severity !== state.severity) return false;
      if (state.trend && t.trend !== state.trend) return false;
      if (!q) return true;
      var hay = [t.label, t.keywords.join(" "), t.reps.join(" "), cat(t) || "", t.category_id || ""].join(" ").toLowerCase();
      return q.split(/\s+/).every(function (w) { return hay.indexOf(w) >= 0; });
    });
    var k = state.sort, d = state.dir;
    return list.sort(function (a, b) {
      var x = sortValue(a, k), y = sortValue(b, k);
      return x < y ? -d : x > y ? d : a.rank - b.rank;
    });
  }
  function themeRow(t) {
    var cells = COLUMNS.map(function (c) {
      switch (c.key) {
        case "rank": return el("td", { class: "num" }, t.rank);
        case "label": return el("td", null, [el("a", { href: "#theme/" + t.id, class: "theme-link", "data-theme": t.id }, t.label),
          el("small", { class: "muted" }, " #" + t.id)]);
        case "category": return el("td", null, cat(t));
        case "severity": return el("td", null, badge("sev", t.severity));
        case "trend": return el("td", null, badge("trend", t.trend));
        case "size": return el("td", { class: "num" }, num(t.size));
        case "share": return el("td", { class: "num" }, pct(t.share));
        case "priority": return el("td", { class: "num" }, t.priority === null ? "–" : Number(t.priority).toFixed(4));
        default: return el("td", { class: "kw" }, t.keywords.slice(0, 8).join(", "));
      }
    });
    return el("tr", { "data-theme": t.id }, cells);
  }
  function filterSelect(key, label) {
    var values = (DATA.facets || {})[key];
    if (!values) return null;
    var select = el("select", { id: "filter-" + key, "aria-label": "Filter by " + label },
      [el("option", { value: "" }, "All " + label)].concat(values.map(function (v) { return el("option", { value: v }, v); })));
    select.value = state[key];
    select.addEventListener("change", function () { state[key] = select.value; fillThemeTable(); });
    return el("label", null, [label + " ", select]);
  }
  function themeSection() {
    var search = el("input", { type: "search", id: "theme-search", placeholder: "Search labels, keywords, verbatims", "aria-label": "Search themes" });
    search.value = state.q;
    search.addEventListener("input", function () { state.q = search.value; fillThemeTable(); });
    var head = el("tr", null, COLUMNS.map(function (c) {
      var th = el("th", { class: c.num ? "num" : null, "data-sort": c.nosort ? null : c.key, "aria-sort": c.key === state.sort ? (state.dir > 0 ? "ascending" : "descending") : null },
        c.nosort ? c.label : el("button", { type: "button", class: "sort" }, c.label));
      if (!c.nosort) th.addEventListener("click", function () {
        if (state.sort === c.key) state.dir = -state.dir; else { state.sort = c.key; state.dir = c.num && c.key !== "rank" ? -1 : 1; }
        Array.prototype.forEach.call(head.children, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending");
        fillThemeTable();
      });
      return th;
    }));
    return el("section", { id: "themes" }, [
      el("h2", null, "Themes"),
      el("p", { class: "muted" }, "Ranked by priority = volume × severity weight × trend weight. Click a column to sort."),
      el("div", { class: "controls" }, [search, filterSelect("category", "categories"), filterSelect("severity", "severities"), filterSelect("trend", "trends")]),
      el("p", { id: "theme-count", class: "muted" }),
      el("table", { id: "theme-table" }, [el("thead", null, head), el("tbody")])
    ]);
  }
  function fillThemeTable() {
    var body = document.querySelector("#theme-table tbody");
    if (!body) return;
    var list = visibleThemes();
    clear(body);
    var frag = document.createDocumentFragment();
    list.forEach(function (t) { frag.appendChild(themeRow(t)); });
    body.appendChild(frag);
    if (!list.length) body.appendChild(el("tr", null, el("td", { colspan: COLUMNS.length, class: "muted" }, "No theme matches.")));
    document.getElementById("theme-count").textContent = "Showing " + list.length + " of " + themes.length + " themes.";
  }

  // ------------------------------------------------------------------------------------ map

  function mapSection() {
    var m = DATA.map || { points: [], total: 0 };
    var sec = el("section", { id: "map" }, [el("h2", null, "Theme map")]);
    if (!m.points.length) { sec.appendChild(note("No map: this run has no 2-d coordinates.")); return sec; }
    var canvas = el("canvas", { id: "theme-map", width: 900, height: 520, "aria-label": "2-d map of the feedback, coloured by theme" });
    var tip = el("div", { id: "map-tip", class: "tip", role: "tooltip" });
    tip.hidden = true;
    sec.appendChild(el("p", { class: "muted", id: "map-count" }, m.points.length < m.total
      ? "A random sample of " + num(m.points.length) + " of " + num(m.total) + " points (grey: outliers). Hover a point to read it, click to open its theme."
      : num(m.total) + " points (grey: outliers). Hover a point to read it, click to open its theme."));
    sec.appendChild(el("div", { class: "mapbox" }, [canvas, tip]));
    var pad = 10, W = canvas.width - 2 * pad, H = canvas.height - 2 * pad;
    var px = m.points.map(function (p) { return [pad + p[0] / 1000 * W, pad + (1000 - p[1]) / 1000 * H]; });
    var ctx = canvas.getContext("2d");
    [true, false].forEach(function (outliers) {
      m.points.forEach(function (p, i) {
        if ((p[2] < 0) !== outliers) return;
        ctx.fillStyle = p[2] < 0 ? "rgba(160,160,160,0.45)" : (colorOf[p[2]] || "#555");
        ctx.fillRect(px[i][0] - 1.5, px[i][1] - 1.5, 3, 3);
      });
    });
    function nearest(ev) {
      var r = canvas.getBoundingClientRect();
      var x = (ev.clientX - r.left) * canvas.width / r.width, y = (ev.clientY - r.top) * canvas.height / r.height;
      var best = -1, bd = 64;
      for (var i = 0; i < px.length; i++) {
        var dx = px[i][0] - x, dy = px[i][1] - y, d = dx * dx + dy * dy;
        if (d < bd) { bd = d; best = i; }
      }
      return best;
    }
    canvas.addEventListener("mousemove", function (ev) {
      var i = nearest(ev);
      if (i < 0) { tip.hidden = true; return; }
      var p = m.points[i], t = byId[p[2]];
      clear(tip);
      append(tip, [el("b", null, t ? t.label : "Outlier"), el("div", { class: "tip-text" }, p[3])]);
      tip.hidden = false;
      var r = canvas.getBoundingClientRect();
      tip.style.left = Math.min(ev.clientX - r.left + 12, r.width - 260) + "px";
      tip.style.top = (ev.clientY - r.top + 12) + "px";
    });
    canvas.addEventListener("mouseleave", function () { tip.hidden = true; });
    canvas.addEventListener("click", function (ev) {
      var i = nearest(ev);
      if (i >= 0 && byId[m.points[i][2]]) location.hash = "#theme/" + m.points[i][2];
    });
    return sec;
  }

  // ------------------------------------------------------------------------------------ theme view

  function taxonomy(t) {
    var rows = [];
    if (t.category !== undefined) rows.push(["Category", (cat(t)) + (t.category_id ? " (" + t.category_id + ")" : "")]);
    if (t.branch) rows.push(["Branch", t.branch]);
    if (t.severity) rows.push(["Severity", badge("sev", t.severity)]);
    if (t.confidence !== undefined && t.confidence !== null) rows.push(["Confidence", pct(t.confidence)]);
    if (t.secondary && t.secondary.length) rows.push(["Also", t.secondary.join(", ")]);
    if (t.trend) rows.push(["Trend", badge("trend", t.trend)]);
    if (!rows.length) return null;
    return el("dl", { class: "taxonomy", id: "taxonomy" }, rows.map(function (r) { return el("div", null, [el("dt", null, r[0]), el("dd", null, r[1])]); }));
  }
  function timeChart(daily) {
    if (!daily || !daily.length) return el("p", { class: "muted" }, "No time column in this run.");
    var W = 860, H = 140, max = Math.max.apply(null, daily.map(function (d) { return d[1]; })), bw = W / daily.length;
    var bars = daily.map(function (d, i) {
      var h = Math.max(1, (H - 20) * d[1] / max);
      return svg("rect", { x: (i * bw).toFixed(2), y: (H - 18 - h).toFixed(2), width: Math.max(1, bw - 1).toFixed(2), height: h.toFixed(2), class: "bar" },
        svg("title", null, d[0] + ": " + d[1]));
    });
    bars.push(svg("text", { x: 0, y: H - 4, class: "axis" }, daily[0][0]));
    bars.push(svg("text", { x: W, y: H - 4, class: "axis end" }, daily[daily.length - 1][0]));
    return svg("svg", { viewBox: "0 0 " + W + " " + H, class: "timechart", id: "time-chart", role: "img", "aria-label": "Rows per day" }, bars);
  }
  function verbatimItem(v) {
    var meta = [v.row_id ? "row " + v.row_id : null, v.time, v.status !== "themed" ? v.status : null].filter(Boolean).join(" · ");
    var children = [el("div", { class: "text" }, v.text)];
    if (!currentTheme && v.theme !== undefined) {
      children.push(el("div", { class: "muted" }, byId[v.theme]
        ? [el("a", { href: "#theme/" + v.theme, class: "theme-link" }, byId[v.theme].label), " · " + meta]
        : (v.theme < 0 ? "no theme" : "theme " + v.theme) + (meta ? " · " + meta : "")));
    } else {
      children.push(el("div", { class: "muted" }, meta));
    }
    return el("li", { class: "verbatim" }, children);
  }
  function pager(id, page, pages, total, noun, go) {
    var prev = el("button", { type: "button", id: id + "-prev" }, "‹ Previous");
    var next = el("button", { type: "button", id: id + "-next" }, "Next ›");
    prev.disabled = page <= 1; next.disabled = page >= pages;
    prev.addEventListener("click", function () { go(page - 1); });
    next.addEventListener("click", function () { go(page + 1); });
    return el("div", { class: "pager" }, [prev, el("span", { id: id + "-info" }, "Page " + page + " of " + pages + " · " + num(total) + " " + noun), next]);
  }
  var currentTheme = null;

  function renderTheme(id) {
    var t = byId[id];
    currentTheme = t || null;
    clear(app);
    if (!t) { app.appendChild(note("No theme " + id + " in this run.")); return; }
    var box = el("div", { id: "theme-detail" });
    var view = el("article", { id: "theme-view" }, [
      el("p", null, el("a", { href: "#themes", id: "back" }, "← All themes")),
      el("h2", { id: "theme-label" }, t.label),
      el("p", { class: "muted" }, "Theme " + t.id + " · rank " + t.rank + " · " + num(t.size) + " rows (" + pct(t.share) + ")" +
        (t.size_with_reassigned && t.size_with_reassigned !== t.size ? " · " + num(t.size_with_reassigned) + " with reassigned outliers" : "") +
        (t.first_seen ? " · seen " + t.first_seen + " to " + t.last_seen : "")),
      el("p", { class: "keywords", id: "keywords" }, t.keywords.map(function (k) { return el("span", { class: "kw-chip" }, k); })),
      taxonomy(t),
      el("h3", null, "Representative verbatims"),
      el("div", { id: "representatives" }, t.reps.length ? t.reps.map(function (r) { return el("blockquote", { class: "rep" }, r); }) : el("p", { class: "muted" }, "None.")),
      box
    ]);
    app.appendChild(view);
    window.scrollTo(0, 0);
    if (SERVER) {
      box.appendChild(el("p", { class: "muted" }, "Loading…"));
      api("themes/" + id).then(function (d) { detail(box, t, d); }, function (e) { fail(box, e); });
    } else {
      detail(box, t, DATA.details[String(id)]);
    }
  }
  function detail(box, t, d) {
    clear(box);
    box.appendChild(el("h3", null, "Rows over time"));
    box.appendChild(timeChart(d.daily));
    var list = el("ol", { id: "verbatims", class: "verbatims" });
    var pagerBox = el("div");
    box.appendChild(el("h3", null, "All verbatims"));
    if (!SERVER && d.verbatims.length < d.verbatims_total) {
      box.appendChild(note("This report embeds the first " + num(d.verbatims.length) + " of " + num(d.verbatims_total) + " verbatims; " + serveHint() + "."));
    }
    box.appendChild(pagerBox);
    box.appendChild(list);
    var per = DATA.page_size || 20;
    function show(page) {
      if (SERVER) {
        api("themes/" + t.id + "/verbatims", { page: page, per_page: per }).then(function (r) { fill(r.items, r.page, r.pages, r.total); }, function (e) { fail(list, e); });
      } else {
        var pages = Math.max(1, Math.ceil(d.verbatims.length / per));
        page = Math.min(Math.max(1, page), pages);
        fill(d.verbatims.slice((page - 1) * per, page * per), page, pages, d.verbatims.length);
      }
    }
    function fill(items, page, pages, total) {
      clear(list); clear(pagerBox);
      list.setAttribute("start", String((page - 1) * per + 1));
      items.forEach(function (v) { list.appendChild(verbatimItem(v)); });
      pagerBox.appendChild(pager("verbatims", page, pages, total, "verbatims", show));
    }
    show(1);
    if (d.breakdowns && d.breakdowns.length) {
      box.appendChild(el("h3", null, "Metadata"));
      box.appendChild(el("div", { class: "breakdowns", id: "breakdowns" }, d.breakdowns.map(function (b) {
        return el("table", { class: "breakdown", "data-column": b.column }, [
          el("thead", null, el("tr", null, [el("th", null, b.column), el("th", { class: "num" }, "Rows")])),
          el("tbody", null, b.values.map(function (v) { return el("tr", null, [el("td", null, v[0]), el("td", { class: "num" }, num(v[1]))]); }))
        ]);
      })));
    }
  }

  // ------------------------------------------------------------------------------------ search

  function renderSearch(query) {
    currentTheme = null;
    clear(app);
    var input = el("input", { type: "search", id: "verbatim-search", placeholder: "Words that must all appear", "aria-label": "Search verbatims" });
    input.value = query;
    var form = el("form", { id: "search-form", role: "search" }, [input, el("button", { type: "submit" }, "Search")]);
    form.addEventListener("submit", function (ev) { ev.preventDefault(); location.hash = "#search/" + encodeURIComponent(input.value.trim()); });
    var results = el("div", { id: "search-results" });
    app.appendChild(el("section", { id: "search" }, [el("h2", null, "Search verbatims"),
      el("p", { class: "muted" }, SERVER ? "Searches the redacted text of every row of the run." :
        "Searches the verbatims embedded in this report (the representatives and the first verbatims of each theme); " + serveHint() + " for a search over every row."),
      form, results]));
    input.focus();
    if (!query) return;
    var per = DATA.page_size || 20;
    var list = el("ol", { id: "search-list", class: "verbatims" }), pagerBox = el("div");
    results.appendChild(pagerBox);
    results.appendChild(list);
    var hits = SERVER ? null : localSearch(query);
    function show(page) {
      if (SERVER) {
        api("search", { q: query, page: page, per_page: per }).then(function (r) { fill(r.items, r.page, r.pages, r.total); }, function (e) { fail(list, e); });
      } else {
        var pages = Math.max(1, Math.ceil(hits.length / per));
        page = Math.min(Math.max(1, page), pages);
        fill(hits.slice((page - 1) * per, page * per), page, pages, hits.length);
      }
    }
    function fill(items, page, pages, total) {
      clear(list); clear(pagerBox);
      list.setAttribute("start", String((page - 1) * per + 1));
      items.forEach(function (v) { list.appendChild(verbatimItem(v)); });
      if (!total) list.appendChild(el("li", { class: "muted" }, "No verbatim contains all of: " + query));
      pagerBox.appendChild(pager("search", page, pages, total, "matches", show));
    }
    show(1);
  }
  function localSearch(query) {
    var words = query.toLowerCase().split(/\s+/).filter(Boolean), seen = {}, out = [];
    function consider(v) {
      var key = v.row_id + "\u0000" + v.text;
      if (seen[key]) return;
      var low = v.text.toLowerCase();
      if (words.every(function (w) { return low.indexOf(w) >= 0; })) { seen[key] = 1; out.push(v); }
    }
    themes.forEach(function (t) {
      (DATA.details[String(t.id)].verbatims || []).forEach(consider);
    });
    return out;
  }

  // ------------------------------------------------------------------------------------ routing

  function renderHome(anchor) {
    currentTheme = null;
    clear(app);
    app.appendChild(overview());
    app.appendChild(themeSection());
    fillThemeTable();
    app.appendChild(mapSection());
    if (anchor) { var target = document.getElementById(anchor); if (target) target.scrollIntoView(); }
  }
  function route() {
    var h = decodeURIComponent(location.hash.replace(/^#/, ""));
    var m = /^theme\/(-?\d+)$/.exec(h);
    if (m) renderTheme(Number(m[1]));
    else if (h.indexOf("search/") === 0) renderSearch(h.slice(7));
    else renderHome(h === "themes" || h === "map" ? h : null);
    document.documentElement.setAttribute("data-view", m ? "theme" : h.indexOf("search/") === 0 ? "search" : "home");
  }
  window.addEventListener("hashchange", route);
  route();
  if (window.performance && performance.mark) performance.mark("insights-rendered");
  document.documentElement.setAttribute("data-ready", "1");
})();

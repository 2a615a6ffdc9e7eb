/* Feedback insights: the review page of `insights serve` (keyboard-first).
 *
 * Feedback is untrusted user text: it reaches the page only through textContent, never as markup.
 * Keys: y / n / u theme, c confirm the category (m: pick another), 1-4 severity (0 none),
 * a s d f g Needs Met, Enter save and next, j / k or arrows next / previous, ? help.
 */
(function () {
  "use strict";

  var DATA = JSON.parse(document.getElementById("review-data").textContent);
  var app = document.getElementById("review-app");
  var SEVERITIES = ["critical", "high", "medium", "low"];
  var NEEDS_MET = ["fails", "slightly", "moderately", "highly", "fully"];
  var NM_KEYS = ["a", "s", "d", "f", "g"];
  var leafName = {};
  DATA.leaves.forEach(function (l) { leafName[l.id] = l.name; });
  var state = { items: [], pos: 0, answers: {}, reviewer: "" };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] === null || attrs[k] === undefined || attrs[k] === false) return;
      if (!/^(id|class|type|value|for|title|role|aria-[a-z]+|data-[a-z-]+|href|placeholder|name|checked)$/.test(k)) {
        throw new Error("attribute not allowed: " + k);
      }
      node.setAttribute(k, String(attrs[k]));
    });
    (Array.isArray(children) ? children : [children]).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      node.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
    });
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function fmt(x, digits) { return x === null || x === undefined ? "–" : Number(x).toFixed(digits === undefined ? 2 : digits); }
  function api(path, body) {
    var init = body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    };
    return fetch(path, init).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) throw new Error(j.error || ("HTTP " + r.status)); return j; });
    });
  }
  function $(id) { return document.getElementById(id); }

  // ----------------------------------------------------------------------------------- layout

  function layout() {
    clear(app);
    var name = el("input", { id: "reviewer", type: "text", placeholder: "your name", "aria-label": "Reviewer name" });
    name.value = DATA.reviewer || window.localStorage.getItem("insights-reviewer") || "";
    var start = el("button", { id: "start", type: "button" }, "Start reviewing");
    app.appendChild(el("section", { class: "reviewer-bar" }, [
      el("label", { for: "reviewer" }, "Reviewer"), name, start,
      el("span", { id: "progress", class: "muted" }, ""),
      el("a", { href: "guide" }, "Rater guide")
    ]));
    var left = el("div", {}, [el("section", { id: "card", class: "card", "aria-live": "polite" }, el("p", { class: "muted" },
      DATA.has_review ? "Enter your name to start." : "This run has no review set: run `insights review RUN_DIR --size 50` first.")),
      el("p", { id: "keys", class: "help" }, [
        "Keys: ", el("kbd", {}, "y"), el("kbd", {}, "n"), el("kbd", {}, "u"), " theme · ", el("kbd", {}, "c"),
        " category right (", el("kbd", {}, "m"), " pick) · ", el("kbd", {}, "1"), "–", el("kbd", {}, "4"), el("kbd", {}, "0"),
        " severity · ", el("kbd", {}, "a"), "–", el("kbd", {}, "g"), " Needs Met · ", el("kbd", {}, "Enter"),
        " save and next · ", el("kbd", {}, "j"), el("kbd", {}, "k"), " next / previous"])]);
    var right = el("div", {}, [el("section", { id: "measures", class: "measures" }, el("h2", {}, "Measures")),
      el("section", { id: "curation", class: "curation" }, el("h2", {}, "Curate themes"))]);
    app.appendChild(left);
    app.appendChild(right);
    function begin() {
      var who = name.value.trim();
      if (!who || !DATA.has_review) return;
      state.reviewer = who;
      window.localStorage.setItem("insights-reviewer", who);
      name.blur();
      load();
    }
    start.addEventListener("click", begin);
    name.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); e.stopPropagation(); begin(); } });
    renderCuration();
    if (DATA.has_review) refreshMeasures();
    document.documentElement.setAttribute("data-ready", "1");
  }

  function load() {
    Promise.all([api("api/review/items"), api("api/review/labels?reviewer=" + encodeURIComponent(state.reviewer))])
      .then(function (got) {
        state.items = got[0].items;
        state.answers = {};
        got[1].answers.forEach(function (a) { state.answers[a.item_id] = { theme: a.theme, node: a.node, severity: a.severity, needs_met: a.needs_met, saved: true }; });
        var first = state.items.findIndex(function (it) { return !state.answers[it.item_id]; });
        state.pos = first < 0 ? 0 : first;
        renderItem();
      }).catch(showError);
  }

  // ------------------------------------------------------------------------------------- item

  function current() { return state.items[state.pos]; }
  function answer() {
    var it = current();
    if (!state.answers[it.item_id]) state.answers[it.item_id] = {};
    return state.answers[it.item_id];
  }
  function choiceRow(legend, field, options, keys) {
    var a = answer();
    return el("fieldset", { class: "answer", id: "q-" + field }, [el("legend", {}, legend)].concat(options.map(function (o, i) {
      var b = el("button", { type: "button", "data-field": field, "data-value": o, "aria-pressed": a[field] === o ? "true" : "false" },
        [el("kbd", {}, keys[i]), o]);
      b.addEventListener("click", function () { set(field, o); });
      return b;
    })));
  }
  function renderItem() {
    var card = $("card");
    clear(card);
    var it = current();
    if (!it) { card.appendChild(el("p", {}, "No items.")); return; }
    var a = answer();
    updateProgress();
    card.appendChild(el("blockquote", { id: "item-text" }, it.text));
    var facts = [el("dt", {}, "Theme"), el("dd", { id: "item-theme" }, it.theme_id >= 0 ? it.theme_label + " (#" + it.theme_id + ")" : "outlier (no theme)"),
      el("dt", {}, "Category"), el("dd", { id: "item-node" }, [it.category || "Unmapped", " ",
        el("span", { class: "badge sev-" + it.severity }, it.severity), " confidence " + fmt(it.category_confidence)])];
    if (it.query !== null) facts.push(el("dt", {}, "Query"), el("dd", { id: "item-query" }, it.query));
    if (it.result !== null) facts.push(el("dt", {}, "Result"), el("dd", { id: "item-result" }, it.result));
    card.appendChild(el("dl", { class: "taxonomy" }, facts));
    if (it.theme_id >= 0) card.appendChild(choiceRow("Belongs to this theme?", "theme", ["yes", "no", "unsure"], ["y", "n", "u"]));
    var select = el("select", { id: "node-select", "aria-label": "The right category" },
      [el("option", { value: "" }, "—")].concat(DATA.leaves.map(function (l) {
        return el("option", { value: l.id }, l.name + " (" + l.severity + ")");
      }), [el("option", { value: "unmapped" }, "Unmapped: no category fits")]));
    select.value = a.node || "";
    select.addEventListener("change", function () { set("node", select.value || null); select.blur(); });
    var confirm = el("button", { type: "button", id: "node-confirm", "aria-pressed": a.node && a.node === (it.category_id || "unmapped") ? "true" : "false" },
      [el("kbd", {}, "c"), "right"]);
    confirm.addEventListener("click", function () { set("node", it.category_id || "unmapped"); });
    card.appendChild(el("fieldset", { class: "answer", id: "q-node" }, [el("legend", {}, "Is the category right? Otherwise pick it (m)"), confirm, select]));
    card.appendChild(choiceRow("Severity", "severity", SEVERITIES.concat(["none"]), ["1", "2", "3", "4", "0"]));
    if (it.query !== null) card.appendChild(choiceRow("Needs Met: the result for the query", "needs_met", NEEDS_MET, NM_KEYS));
    var save = el("button", { type: "button", id: "save" }, [el("kbd", {}, "Enter"), "Save and next"]);
    save.addEventListener("click", saveAndNext);
    card.appendChild(el("p", {}, [save, " ", el("span", { id: "save-status", role: "status" }, a.saved ? "saved" : "")]));
  }
  function updateProgress() {
    var rated = state.items.filter(function (x) { return state.answers[x.item_id] && state.answers[x.item_id].saved; }).length;
    $("progress").textContent = "Item " + (state.pos + 1) + " of " + state.items.length + " · " + rated + " rated by " + state.reviewer;
  }
  function set(field, value) {
    var a = answer();
    a[field] = value;
    a.saved = false;
    renderItem();
  }
  function move(step) {
    var next = state.pos + step;
    if (next < 0 || next >= state.items.length) return;
    state.pos = next;
    renderItem();
  }
  function saveAndNext() {
    // Optimistic: move on at once (a fast reviewer types ahead), save in the background, flag a failure.
    var it = current(), a = answer();
    if (!it) return;
    var body = { item_id: it.item_id, reviewer: state.reviewer };
    ["theme", "node", "severity", "needs_met"].forEach(function (f) { if (a[f]) body[f] = a[f]; });
    if (Object.keys(body).length === 2) { $("save-status").textContent = "answer at least one question first"; return; }
    a.saved = false;
    api("api/review/labels", body).then(function () {
      a.saved = true;
      if (current() === it) renderItem(); else updateProgress();
      refreshMeasures();
    }).catch(function (err) {
      showError(new Error("item " + it.item_id + " not saved: " + err.message));
    });
    if (state.pos < state.items.length - 1) move(1); else renderItem();
  }
  function showError(err) {
    var status = $("save-status") || $("progress");
    status.textContent = "error: " + err.message;
    status.className = "error";
  }

  document.addEventListener("keydown", function (e) {
    var tag = (e.target && e.target.tagName) || "";
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") {
      if (e.key === "Escape") e.target.blur();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || !state.items.length) return;
    var it = current(), k = e.key, handled = true;
    if (k === "y" || k === "n" || k === "u") { if (it.theme_id >= 0) set("theme", { y: "yes", n: "no", u: "unsure" }[k]); }
    else if (k === "c") set("node", it.category_id || "unmapped");
    else if (k === "m") $("node-select").focus();
    else if (k >= "1" && k <= "4") set("severity", SEVERITIES[Number(k) - 1]);
    else if (k === "0") set("severity", "none");
    else if (NM_KEYS.indexOf(k) >= 0) { if (it.query !== null) set("needs_met", NEEDS_MET[NM_KEYS.indexOf(k)]); }
    else if (k === "Enter") saveAndNext();
    else if (k === "j" || k === "ArrowRight") move(1);
    else if (k === "k" || k === "ArrowLeft") move(-1);
    else handled = false;
    if (handled) e.preventDefault();
  });

  // --------------------------------------------------------------------------------- measures

  function table(id, head, rows) {
    return el("table", { id: id }, [el("thead", {}, el("tr", {}, head.map(function (h) { return el("th", {}, h); }))),
      el("tbody", {}, rows.map(function (r) { return el("tr", {}, r.map(function (c) { return el("td", {}, c); })); }))]);
  }
  function ci(r) { return r.ci_low === null ? "–" : fmt(r.ci_low) + "–" + fmt(r.ci_high); }
  var measuresAsked = 0;
  function refreshMeasures() {
    var mine = ++measuresAsked;
    api("api/review/measures").then(function (m) {
      if (mine !== measuresAsked) return;  // a later answer is on its way: draw only the newest
      var box = $("measures");
      clear(box);
      var t = m.totals;
      box.appendChild(el("h2", {}, "Measures"));
      box.appendChild(el("p", { id: "measures-totals" }, t.rated_items + " of " + t.items + " items rated · " + t.answers +
        " answers · " + t.reviewers.length + " reviewers · " + t.multi_rated_items + " rated more than once"));
      box.appendChild(el("h3", {}, "Theme precision (Wilson 95%)"));
      box.appendChild(table("m-theme", ["Theme", "Judged", "Precision", "95% CI"], m.theme_precision.map(function (r) {
        return [r.label + " (#" + r.theme_id + ")", r.judged, fmt(r.precision), ci(r)]; })));
      box.appendChild(el("h3", {}, "Category accuracy"));
      box.appendChild(table("m-node", ["Category", "Judged", "Accuracy", "95% CI"], m.node_accuracy.map(function (r) {
        return [leafName[r.node] || r.node, r.judged, fmt(r.accuracy), ci(r)]; })));
      box.appendChild(el("h3", {}, "Confusion (classifier → reviewers)"));
      box.appendChild(table("m-confusion", ["Classifier", "Reviewers", "Items"], m.confusion.map(function (r) {
        return [leafName[r.predicted] || r.predicted, leafName[r.reviewed] || r.reviewed, r.items]; })));
      box.appendChild(el("h3", {}, "Agreement (items rated more than once)"));
      box.appendChild(table("m-agreement", ["Question", "Items", "Krippendorff α", "Fleiss κ"], m.agreement.map(function (r) {
        return [r.question, r.items, fmt(r.krippendorff_alpha), fmt(r.fleiss_kappa)]; })));
      box.appendChild(table("m-pairs", ["Question", "Pair", "Items", "Agreement", "Cohen κ"], m.agreement_pairs.map(function (r) {
        return [r.question, r.reviewer_a + " · " + r.reviewer_b, r.items, fmt(r.agreement), fmt(r.cohen_kappa)]; })));
      box.appendChild(el("h3", {}, "Calibration (stated confidence vs observed accuracy)"));
      box.appendChild(table("m-calibration", ["Confidence", "Items", "Mean stated", "Observed", "95% CI"], m.calibration.map(function (r) {
        return [r.bin, r.items, fmt(r.mean_confidence), fmt(r.observed_accuracy), ci(r)]; })));
    }).catch(function () { /* no review set yet: nothing to show */ });
  }

  // --------------------------------------------------------------------------------- curation

  function renderCuration() {
    return api("api/review/curation").then(function (cur) {
      var box = $("curation");
      clear(box);
      box.appendChild(el("h2", {}, "Curate themes"));
      box.appendChild(el("p", { class: "help" }, "Saved to curation.yaml in the run; the next run with --baseline keeps these names and merges."));
      var rows = DATA.themes.map(function (t) {
        var mine = cur.themes[String(t.id)] || {};
        var name = el("input", { type: "text", id: "label-" + t.id, value: mine.label || t.label, "aria-label": "Name of theme " + t.id });
        var rename = el("button", { type: "button", id: "rename-" + t.id }, "Rename");
        rename.addEventListener("click", function () { curate({ action: "rename", theme_id: t.id, label: name.value }); });
        var into = el("select", { id: "merge-" + t.id, "aria-label": "Merge theme " + t.id + " into" }, [el("option", { value: "" }, "merge into…")]
          .concat(DATA.themes.filter(function (o) { return o.id !== t.id; }).map(function (o) { return el("option", { value: o.id }, "#" + o.id + " " + o.label); })));
        if (mine.merged_into !== undefined) into.value = String(mine.merged_into);
        into.addEventListener("change", function () { if (into.value) curate({ action: "merge", theme_ids: [t.id], into: Number(into.value) }); });
        var act = el("input", { type: "checkbox", id: "na-" + t.id, "aria-label": "Theme " + t.id + " not actionable", checked: mine.actionable === false });
        act.addEventListener("change", function () { curate({ action: "actionable", theme_id: t.id, value: !act.checked }); });
        var node = el("select", { id: "node-" + t.id, "aria-label": "Category of theme " + t.id }, [el("option", { value: "" }, "classifier's")]
          .concat(DATA.leaves.map(function (l) { return el("option", { value: l.id }, l.name); })));
        node.value = mine.node || "";
        node.addEventListener("change", function () { curate({ action: "node", theme_id: t.id, node: node.value || null }); });
        return ["#" + t.id, el("span", {}, [name, " ", rename]), into, el("label", {}, [act, " not actionable"]), node];
      });
      box.appendChild(table("curation-table", ["Theme", "Name", "Merge", "Actionable", "Category"], rows));
      box.appendChild(el("p", { id: "curation-status", role: "status" }, ""));
    }).catch(function () { /* curation unavailable */ });
  }
  function curate(action) {
    $("curation-status").textContent = "saving…";
    api("api/review/curation", action).then(function () {
      return renderCuration().then(function () { $("curation-status").textContent = "saved"; });
    }).catch(function (err) { $("curation-status").textContent = "error: " + err.message; });
  }

  layout();
})();

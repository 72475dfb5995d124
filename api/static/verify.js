// credreg verifier page: read a bundle (file drop, file picker or paste), POST it to v1/verify, show the report.
// Plain DOM, no framework, no network access beyond this node. Untrusted text only ever goes into textContent.
(function () {
  "use strict";
  var ENDPOINT = "v1/verify"; // relative: works when the node is served under a path prefix
  var LABELS = {
    format: "Format", integrity: "Integrity (untampered)", inclusion: "Included in the batch",
    anchored: "Anchored on chain", issuer_trusted: "Issuer trusted at that time",
    not_revoked: "Not revoked", issuer_matches: "Issuer matches the registry",
    signature: "Signature", validity_period: "Within its validity period", status_list: "Status list",
    scope: "Within the issuer's accreditation", joint: "Joint issuers",
    stack: "Stacked components"
  };
  var MARKS = { pass: "\u2714", fail: "\u2718", error: "?" };
  var VERDICTS = {
    valid: "\u2714 Valid credential", invalid: "\u2718 Not valid", error: "? Could not verify",
    "signed-not-anchored": "\u2714 Signed, not anchored"
  };

  var $ = function (id) { return document.getElementById(id); };
  var form = $("form"), area = $("bundle"), drop = $("drop"), results = $("results"), busy = $("busy");

  function humanTime(unix, iso) {
    if (unix === undefined || unix === null) return "";
    var d = new Date(unix * 1000);
    var local = d.toLocaleString(undefined, { dateStyle: "long", timeStyle: "medium" });
    return local + " (" + (iso || d.toISOString()) + ")";
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function summaryText(r) {
    var s = r.summary || {};
    var parts = [VERDICTS[r.verdict] ? VERDICTS[r.verdict].replace(/^\S+ /, "") : r.verdict];
    var cred = s.credential || {};
    if (cred.name) parts.push("\u201c" + cred.name + "\u201d");
    if (s.issuer_did) parts.push("issued by " + s.issuer_did);
    if (s.anchored_at_iso) parts.push("anchored " + s.anchored_at_iso + " on chain " + s.chain_id + ", block " + s.block);
    var failed = (r.checks || []).filter(function (c) { return c.status === "fail"; });
    var errored = (r.checks || []).filter(function (c) { return c.status === "error" && !(c.details && c.details.skipped); });
    if (failed.length) parts.push("failed: " + failed.map(function (c) { return c.name; }).join(", "));
    else if (errored.length) parts.push("error: " + errored.map(function (c) { return c.name; }).join(", "));
    if (s.digest) parts.push("digest " + s.digest);
    return parts.join(" \u00b7 ");
  }

  function renderReport(r, title) {
    var node = $("report-tpl").content.firstElementChild.cloneNode(true);
    var q = function (role) { return node.querySelector('[data-role="' + role + '"]'); };
    var s = r.summary || {};
    node.dataset.verdict = r.verdict;
    var v = q("verdict");
    v.textContent = (title ? title + ": " : "") + (VERDICTS[r.verdict] || r.verdict);
    v.className = "verdict " + r.verdict;
    v.id = results.children.length ? "" : "verdict";
    q("summary").textContent = summaryText(r);
    q("issuer").textContent = s.issuer_did ? s.issuer_did + "  (" + s.issuer_address + (s.issuer_status && s.issuer_status !== "active" ? ", now " + s.issuer_status : "") + ")" : "unknown";
    q("anchored").textContent = s.anchored_at ? humanTime(s.anchored_at, s.anchored_at_iso) + " \u00b7 block " + s.block + " \u00b7 " + s.confirmations + (s.confirmations === 1 ? " confirmation" : " confirmations") : "not anchored";
    var cred = s.credential || {};
    q("credential").textContent = [cred.name, cred.id].filter(Boolean).join(" \u00b7 ") || "\u2014";
    q("digest").textContent = s.digest || "\u2014";
    renderHuman(q, r.credential_view, r.verdict, s);
    var tbody = q("checks");
    (r.checks || []).forEach(function (c) {
      var tr = el("tr", c.status);
      tr.dataset.check = c.name;
      tr.dataset.status = c.status;
      tr.appendChild(el("td", "mark", MARKS[c.status] || "?")).setAttribute("aria-label", c.status);
      tr.appendChild(el("td", "name", LABELS[c.name] || c.name));
      var td = el("td", "reason");
      td.appendChild(el("span", "status", c.status));
      td.appendChild(document.createTextNode(c.reason || ""));
      tr.appendChild(td);
      tbody.appendChild(tr);
    });
    var link = q("prooflink");
    if (s.digest) link.href = "v1/proofs/" + encodeURIComponent(s.digest); else link.remove();
    q("copy").addEventListener("click", function () {
      var text = summaryText(r);
      if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text);
      else { area.value = text; area.select(); try { document.execCommand("copy"); } catch (e) { /* ignore */ } }
    });
    results.appendChild(node);
  }

  function renderHuman(q, h, verdict, s) {
    if (!h) { q("human").remove(); q("technical").open = true; return; }
    var none = "not stated";
    q("title").textContent = h.title || "Untitled credential";
    var st = q("status");
    st.textContent = h.status_text ? "Status: " + h.status_text : "Status: unknown";
    st.dataset.status = h.status || "unknown";
    st.className = "status-line " + (h.status || "unknown");
    q("holder").textContent = h.holder || "not named in the credential";
    var issuer = h.registry_name || h.issuer_name || s.issuer_did || none;
    if (h.registry_name && h.issuer_name && h.issuer_name !== h.registry_name) issuer += " (awarded by " + h.issuer_name + ")";
    q("issuer-name").textContent = issuer;
    q("ects").textContent = h.ects ? h.ects + " ECTS" : none;
    q("eqf").textContent = h.eqf ? "EQF level " + h.eqf : none;
    q("assessment").textContent = h.assessment || none;
    q("issued").textContent = h.issued || none;
    q("valid-until").textContent = h.valid_until || "no end date";
    var ul = q("outcomes");
    (h.outcomes || []).forEach(function (o) { ul.appendChild(el("li", null, o)); });
    if (!(h.outcomes || []).length) q("outcomes-box").remove();
    if (verdict !== "valid" && verdict !== "signed-not-anchored") q("technical").open = true;
  }

  function renderProblem(p) {
    var box = el("article", "report");
    box.dataset.verdict = "invalid";
    var v = el("div", "verdict invalid", "\u2718 Not a valid proof bundle");
    v.id = "verdict";
    box.appendChild(v);
    var table = el("table", "checks");
    var tbody = el("tbody");
    var field = (p.errors && p.errors[0] && p.errors[0].field) || "";
    var tr = el("tr", "fail");
    tr.dataset.check = p.errors && p.errors[0] && p.errors[0].check ? p.errors[0].check : "request";
    tr.dataset.status = "fail";
    tr.appendChild(el("td", "mark", MARKS.fail));
    tr.appendChild(el("td", "name", tr.dataset.check === "format" ? LABELS.format : "Request"));
    var td = el("td", "reason");
    td.appendChild(el("span", "status", "fail"));
    td.appendChild(document.createTextNode((p.detail || p.title || "rejected") + (field ? "  [field: " + field + "]" : "")));
    tr.appendChild(td);
    tbody.appendChild(tr);
    table.appendChild(tbody);
    box.appendChild(table);
    results.appendChild(box);
  }

  function showMessage(text) {
    var box = el("div", "problem", text);
    box.id = "verdict";
    box.dataset.verdict = "error";
    results.appendChild(box);
  }

  function verify(text) {
    results.textContent = "";
    if (!text.trim()) { showMessage("Paste a bundle or drop a file first."); return Promise.resolve(); }
    busy.hidden = false;
    document.body.dataset.state = "busy";
    return fetch(ENDPOINT, { method: "POST", headers: { "Content-Type": "application/json", "Accept": "application/json" }, body: text })
      .then(function (res) {
        return res.text().then(function (body) {
          var data = null;
          try { data = JSON.parse(body); } catch (e) { /* not JSON */ }
          if (!res.ok) {
            if (data && (data.detail || data.title)) renderProblem(data);
            else showMessage("The node answered " + res.status + ".");
            return;
          }
          if (data && Array.isArray(data.reports)) {
            var c = data.counts || {};
            var head = el("p", "batch-summary", c.total + " bundles: " + c.valid + " valid, " + c.invalid + " invalid, " + c.error + " could not be verified" + (c["signed-not-anchored"] ? ", " + c["signed-not-anchored"] + " signed but not anchored" : ""));
            results.appendChild(head);
            data.reports.forEach(function (r, i) { renderReport(r, "#" + (i + 1)); });
          } else if (data && data.checks) {
            renderReport(data);
          } else {
            showMessage("Unexpected answer from the node.");
          }
        });
      })
      .catch(function (err) { showMessage("Could not reach this node: " + err.message); })
      .then(function () { busy.hidden = true; document.body.dataset.state = "done"; });
  }

  function readFile(file) {
    if (!file) return;
    $("filename").textContent = file.name;
    var reader = new FileReader();
    reader.onload = function () { area.value = String(reader.result); verify(area.value); };
    reader.readAsText(file);
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); verify(area.value); });
  $("clear").addEventListener("click", function () { area.value = ""; results.textContent = ""; $("filename").textContent = ""; });
  $("file").addEventListener("change", function (e) { readFile(e.target.files[0]); });
  ["dragenter", "dragover"].forEach(function (t) {
    drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (t) {
    drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (e) { readFile(e.dataTransfer && e.dataTransfer.files[0]); });
  document.addEventListener("dragover", function (e) { e.preventDefault(); });
  document.addEventListener("drop", function (e) { e.preventDefault(); });
  // a share page links here with #bundle=s/<token>/bundle.json: fetch that bundle from this node and verify it
  // (the fragment never reaches a server; only this origin's share paths are fetched)
  var m = /^#bundle=(s\/[A-Za-z0-9_-]{20,100}\/bundle\.json)$/.exec(window.location.hash);
  if (m) {
    document.body.dataset.state = "busy";
    fetch(m[1], { headers: { "Accept": "application/json" } })
      .then(function (res) { return res.text().then(function (t) { if (!res.ok) throw new Error("the link answered " + res.status); return t; }); })
      .then(function (t) { area.value = t; return verify(t); })
      .catch(function (err) { results.textContent = ""; showMessage("Could not load the shared bundle: " + err.message); document.body.dataset.state = "done"; });
  } else {
    document.body.dataset.state = "ready";
  }
})();

// credreg registry page: the accreditation tree and each issuer's history, from the public registry API.
// Everything from the API is inserted with textContent (DIDs and scopes are arbitrary on-chain strings).
(function () {
  "use strict";
  var API = "/v1/registry";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function badge(cls, text) { return el("span", { "class": "badge " + cls }, text); }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error((body && body.detail) || ("HTTP " + r.status));
        return body;
      });
    });
  }

  function renderNode(node) {
    var li = el("li", { "data-address": node.address });
    var button = el("button", { "class": "node", type: "button", "data-address": node.address });
    if (node.name) button.appendChild(el("span", { "class": "org" }, node.name + " "));
    button.appendChild(el("span", { "class": "addr" }, node.address));
    button.appendChild(badge("kind", node.kind));
    button.appendChild(badge("status-" + node.status, node.status));
    if (node.did) button.appendChild(el("span", { "class": "muted" }, " " + node.did));
    button.addEventListener("click", function () { select(node.address); });
    li.appendChild(button);
    if (node.children && node.children.length) {
      var ul = el("ul");
      node.children.forEach(function (c) { ul.appendChild(renderNode(c)); });
      li.appendChild(ul);
    }
    return li;
  }

  function loadTree() {
    var status = document.getElementById("tree-status");
    return getJSON(API + "/tree").then(function (body) {
      var tree = document.getElementById("tree");
      tree.textContent = "";
      body.roots.forEach(function (r) { tree.appendChild(renderNode(r)); });
      var count = tree.querySelectorAll("li").length;
      status.textContent = count ? count + " entries" + (body.index ? " (indexed to block " + body.index.lastBlock + ")" : "")
                                 : "The registry index is empty.";
    }).catch(function (e) { status.textContent = "Cannot load the registry: " + e.message; status.className = "error"; });
  }

  function row(dl, label, value) {
    dl.appendChild(el("dt", {}, label));
    dl.appendChild(el("dd", {}, value === null || value === undefined || value === "" ? "-" : value));
  }

  function select(address) {
    document.querySelectorAll("button.node").forEach(function (b) {
      b.setAttribute("aria-current", b.getAttribute("data-address") === address ? "true" : "false");
    });
    if (history.replaceState) history.replaceState(null, "", "#" + address);
    return Promise.all([getJSON(API + "/issuers/" + address), getJSON(API + "/issuers/" + address + "/history")])
      .then(function (res) {
        var e = res[0], h = res[1];
        document.getElementById("detail-hint").hidden = true;
        document.getElementById("detail-title").textContent = e.name ? e.name + " (" + e.address + ")" : "Issuer " + e.address;
        var dl = document.getElementById("entry");
        dl.textContent = "";
        row(dl, "kind", e.kind);
        row(dl, "status", e.status);
        row(dl, "DID", e.did);
        row(dl, "accreditor", e.accreditor || "(founding RootTAO)");
        row(dl, "accreditation chain", e.accreditationChain.map(function (c) {
          return c.address + " (" + c.kind + ", " + c.status + ")"; }).join(" <- ") || "-");
        row(dl, "country", e.country);
        row(dl, "organisation", e.name || "not named (no accreditation document on this node)");
        row(dl, "scope", e.scopeText || e.scope);
        if (e.scopeText && e.scope && e.scopeText !== e.scope) row(dl, "scope (as on chain)", e.scope);
        row(dl, "valid", new Date(e.validFrom * 1000).toISOString() + " .. " +
            (e.validUntil ? new Date(e.validUntil * 1000).toISOString() : "open-ended"));
        row(dl, "document hash", e.documentHash);
        row(dl, "document check", e.document.result + ": " + e.document.reason);
        dl.hidden = false;
        var tbody = document.querySelector("#history tbody");
        tbody.textContent = "";
        h.items.forEach(function (ev) {
          var tr = el("tr", { "class": "event" });
          tr.appendChild(el("td", {}, ev.time));
          tr.appendChild(el("td", {}, ev.action + (ev.previousStatus ? " (" + ev.previousStatus + " -> " + ev.status + ")" : "")));
          tr.appendChild(el("td", { "class": "addr" }, ev.by || "-"));
          tr.appendChild(el("td", { "class": "reason" }, ev.reason || "-"));
          tr.appendChild(el("td", {}, ev.block));
          tr.appendChild(el("td", { "class": "addr" }, ev.tx));
          tbody.appendChild(tr);
        });
        document.getElementById("history").hidden = false;
        document.getElementById("history-title").hidden = false;
      }).catch(function (err) {
        var hint = document.getElementById("detail-hint");
        hint.hidden = false; hint.className = "error"; hint.textContent = err.message;
      });
  }

  window.credregRegistry = { select: select, reload: loadTree };
  loadTree().then(function () {
    var wanted = decodeURIComponent((location.hash || "").slice(1));
    if (/^0x[0-9a-fA-F]{40}$/.test(wanted)) select(wanted);
  });
})();

/* 统检 live availability (issue 4): the record page's status cells, as the libraries'
 * systems report them now.
 *
 * The page is rendered with the statuses from the last harvest (and stays that way
 * without JavaScript).  This script asks GET /api/records/{id}/availability — which
 * answers after the slowest source's timeout at worst — and rewrites each status cell:
 *   live:      "已借出 · 应还 2026-12-01"  (实时)
 *   fallback:  "在架可借"  (实时状态不可得：超时；截至 2024-05-01 10:00 的记录)
 * Rows are paired by position (the API lists holdings in the page's order); a row whose
 * barcode does not match (the data changed in between) is left as it was.  Remote data is
 * only ever put in the page with textContent, never as HTML.
 */
(function () {
  "use strict";

  var T = window.tongjianT;  // the page's language (static/i18n.js)

  var cells = document.querySelectorAll("td[data-status]");
  if (!cells.length || !window.fetch || !window.JSON) {
    return;
  }
  var match = /^\/record\/([^\/]+)$/.exec(window.location.pathname);
  if (!match) {
    return;
  }
  var hint = document.querySelector("section.holdings .hint");

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function fill(cell, h) {
    var harvested = cell.textContent.replace(/\s+/g, " ").trim();
    while (cell.firstChild) { cell.removeChild(cell.firstChild); }
    var main = h.label + (h.due_date ? " · " + T("应还 {date}", {date: h.due_date}) : "");
    cell.appendChild(el("span", "avail avail-" + h.status, main));
    var note;
    if (h.live) {
      note = T("实时");
    } else if (h.reason_code === "online" || h.reason_code === "no_items") {
      note = h.reason;
    } else if (h.found_live) {
      note = T("实时检索时成员馆系统报告的记录");
    } else {
      note = (h.reason_code === "not_offered" ? T("该馆系统不提供实时状态") :
              T("实时状态不可得：{reason}", {reason: h.reason})) +
             (h.as_of_text ? T("；截至 {time} 的记录", {time: h.as_of_text}) : T("；为上次同步的记录"));
    }
    cell.appendChild(document.createTextNode(" "));
    cell.appendChild(el("span", "extra avail-note", note));
    var raw = h.live ? h.raw_status : (h.harvested_status || harvested);
    if (raw) {
      cell.appendChild(document.createTextNode(" "));
      cell.appendChild(el("span", "extra avail-raw", T("系统原文：{raw}", {raw: raw})));
    }
    cell.setAttribute("data-live", h.live ? "1" : "0");
  }

  function apply(data) {
    var list = data.holdings || [];
    for (var i = 0; i < cells.length && i < list.length; i++) {
      var cell = cells[i];
      var h = list[i];
      if ((cell.getAttribute("data-barcode") || "") !== (h.barcode || "")) {
        continue;
      }
      fill(cell, h);
    }
    var askable = list.filter(function (h) {
      return h.reason_code !== "online" && h.reason_code !== "no_items";
    }).length;
    if (hint && !askable) {
      hint.textContent = "";  // online copies and records without items: nothing to ask
    } else if (hint) {
      var live = list.filter(function (h) { return h.live; }).length;
      hint.textContent = live ?
        T("标注“实时”的状态刚刚向收藏馆系统查询过（{n} 条）；其余为各馆上次同步的记录。借阅前请以收藏馆为准。", {n: live}) :
        T("暂时无法向收藏馆系统查询实时状态，以下为各馆上次同步的记录，借阅前请以收藏馆为准。");
    }
  }

  if (hint) { hint.setAttribute("aria-busy", "true"); }
  fetch("/api/records/" + match[1] + "/availability",
        {headers: {"Accept": "application/json"}, credentials: "same-origin"})
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    })
    .then(apply)
    .catch(function () { /* the harvested statuses stay: nothing more to say */ })
    .then(function () { if (hint) { hint.removeAttribute("aria-busy"); } });
})();

/* 统检 live search (issue 5): progressive results from member systems that can only be
 * searched, not harvested.
 *
 * The page already lists the union catalogue's hits; this script asks the portal to
 * broadcast the same query to the live sources (POST /api/live-searches), then follows
 * the session's events (EventSource, or polling where that is missing):
 *   status — one line per library: "咸阳市图书馆：12 条", "神木县图书馆：超时";
 *   hits   — changed hits: an index hit gaining a live library's holdings is updated in
 *            place; a book only a live source has goes in the box's own list (first
 *            page only; the catalogue's count and numbering stay true), with a link to
 *            its record page; a superseded one is removed;
 *   done   — every source has answered, failed or timed out.
 * Remote data is only ever put in the page with textContent, never as HTML.  Without
 * JavaScript the box stays hidden and the page is the index result list.
 */
(function () {
  "use strict";

  var T = window.tongjianT;  // the page's language (static/i18n.js)

  var box = document.getElementById("live");
  if (!box || !window.fetch || !window.JSON) {
    return;
  }
  var list = document.querySelector("ol.hits:not(.live-hits)");
  var liveList = box.querySelector("ol.live-hits");
  var liveHeading = box.querySelector(".live-hits-title");
  var statusList = box.querySelector(".live-status");
  var summary = box.querySelector(".live-summary");
  var lines = {};      // source name -> <li>
  var liveItems = {};  // live hit id -> <li>
  var finished = false;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function setStatus(s) {
    var li = lines[s.source];
    if (!li) {
      li = lines[s.source] = el("li");
      statusList.appendChild(li);
    }
    li.className = "live-source live-" + s.state;
    li.textContent = s.name + T("：") + s.text + (s.reason ? T("（{reason}）", {reason: s.reason}) : "");
  }

  function liveNote(hit) {
    var names = [];
    (hit.holdings || []).forEach(function (h) {
      if (h.live) { names.push(h.name + T("（{n} 册）", {n: h.copies})); }
    });
    return names.length ? T("实时检索：") + names.join("、") : "";
  }

  function indexItem(url) {
    if (!list || !url) { return null; }
    var links = list.querySelectorAll("li.hit h2 a");
    for (var i = 0; i < links.length; i++) {
      if (links[i].getAttribute("href") === url) { return links[i].closest("li"); }
    }
    return null;
  }

  function updateIndexHit(hit) {
    var li = indexItem(hit.url);
    if (!li) { return; }
    var line = li.querySelector(".holdings-summary");
    if (line) { line.textContent = hit.summary; }
    var note = li.querySelector(".live-note");
    var text = liveNote(hit);
    if (!note && text) {
      note = el("p", "live-note hint");
      li.appendChild(note);
    }
    if (note) { note.textContent = text; }
  }

  function liveHit(hit) {
    var li = el("li", "hit live-hit");
    var cover = el("img", "cover-thumb");
    cover.setAttribute("src", "/covers/" + encodeURIComponent(hit.id));
    cover.setAttribute("alt", "");
    cover.setAttribute("loading", "lazy");
    li.appendChild(cover);
    var heading = el("h3");
    var link = el("a", null, hit.title || T("（无题名）"));
    link.setAttribute("href", hit.url);
    heading.appendChild(link);
    li.appendChild(heading);
    if (hit.authors && hit.authors.length) {
      li.appendChild(el("p", "authors", hit.authors.join("；")));
    }
    var imprint = el("p", "imprint");
    [hit.publisher, hit.year, hit.isbn && hit.isbn[0] ? "ISBN " + hit.isbn[0] : ""]
      .forEach(function (part) {
        if (part) { imprint.appendChild(el("span", null, part)); }
      });
    li.appendChild(imprint);
    li.appendChild(el("p", "holdings-summary", hit.summary));
    li.appendChild(el("p", "live-note hint", T("仅见于实时检索，尚未收入联合目录")));
    return li;
  }

  function showLiveCount() {
    var n = Object.keys(liveItems).length;
    liveList.hidden = liveHeading.hidden = n === 0;
    liveHeading.textContent = T("仅见于实时检索的书（{n} 种）", {n: n});
  }

  function applyHits(hits, removed) {
    (removed || []).forEach(function (id) {
      if (liveItems[id]) {
        liveItems[id].remove();
        delete liveItems[id];
      }
    });
    (hits || []).forEach(function (hit) {
      if (hit.origin === "index") {
        updateIndexHit(hit);
        return;
      }
      var fresh = liveHit(hit);
      if (liveItems[hit.id]) {
        liveList.replaceChild(fresh, liveItems[hit.id]);
      } else {
        liveList.appendChild(fresh);
      }
      liveItems[hit.id] = fresh;
    });
    showLiveCount();
  }

  function setSummary(live, done) {
    if (!live) { return; }
    var parts = [];
    if (live.live_hits) { parts.push(T("另找到 {n} 种仅见于实时检索的书", {n: live.live_hits})); }
    if (live.merged) { parts.push(T("{n} 种已并入上方结果", {n: live.merged})); }
    if (live.elsewhere) { parts.push(T("{n} 种联合目录已收录（不在本页）", {n: live.elsewhere})); }
    var text = parts.length ? parts.join(T("，")) : (done ? T("没有找到其他结果") : "");
    summary.textContent = (done ? T("实时检索完成") : T("正在检索…")) + (text ? T("：") + text : "");
  }

  function finish(data) {
    finished = true;
    (data.sources || []).forEach(setStatus);
    setSummary(data.live, true);
  }

  function poll(url) {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (s) {
        var current = {};
        s.hits.forEach(function (hit) { current[hit.id] = true; });
        s.sources.forEach(setStatus);
        applyHits(s.hits, Object.keys(liveItems).filter(function (id) { return !current[id]; }));
        if (s.done) { finish(s); } else { setSummary(s.live, false); setTimeout(function () { poll(url); }, 1000); }
      })
      .catch(function () { summary.textContent = T("实时检索已中断。"); });
  }

  function follow(session) {
    if (!window.EventSource) {
      poll(session.links.self);
      return;
    }
    var events = new EventSource(session.links.events);
    events.addEventListener("status", function (e) { setStatus(JSON.parse(e.data)); });
    events.addEventListener("hits", function (e) {
      var data = JSON.parse(e.data);
      applyHits(data.changed, data.removed);
      setSummary(data.live, false);
    });
    events.addEventListener("done", function (e) {
      events.close();  // otherwise EventSource reconnects when the stream ends
      finish(JSON.parse(e.data));
    });
    events.onerror = function () {
      if (events.readyState === EventSource.CLOSED && !finished) {
        poll(session.links.self);  // the stream was refused (expired session, proxy)
      }
    };
  }

  function start() {
    var data = box.dataset;
    var body = { q: data.q, field: data.field, sort: data.sort,
                 page: Number(data.page) || 1, page_size: Number(data.pageSize) || 20 };
    box.hidden = false;
    fetch("/api/live-searches", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin"
    })
      .then(function (r) {
        return r.json().then(function (j) { return r.ok ? j : Promise.reject(j); });
      })
      .then(function (session) {
        session.sources.forEach(setStatus);
        applyHits(session.hits, []);
        if (session.done) { finish(session); } else { setSummary(session.live, false); follow(session); }
      })
      .catch(function (err) {
        summary.textContent = (err && err.error) ? err.error : T("实时检索暂不可用；上方结果不受影响。");
      });
  }

  start();
}());

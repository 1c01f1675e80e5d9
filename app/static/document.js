// Document page, progressive enhancement only. "上一处 / 下一处" buttons walk through the
// passages that match the query by moving the URL fragment, so CSS :target marks each one.
(function () {
  "use strict";
  // On a narrow screen the outline starts folded, so the text comes first.
  var outline = document.querySelector(".outline details");
  if (outline && window.matchMedia && window.matchMedia("(max-width: 900px)").matches) {
    outline.open = false;
  }
  // Passage links carry a stable anchor (#s-…); an older link (#p42, a passage id) is moved to
  // the passage that has that id now; a link whose passage is gone shows a notice.
  function resolveHash() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    if (!id || document.getElementById(id) || !/^(s-[0-9a-f]+(-\d+)?|p\d+)$/.test(id)) {
      return;
    }
    var legacy = /^p\d+$/.test(id) ? document.querySelector('[data-pid="' + id + '"]') : null;
    if (legacy) {
      window.location.replace("#" + legacy.id);
      return;
    }
    var notice = document.querySelector(".anchor-missing");
    if (notice) {
      notice.hidden = false;
    }
  }
  resolveHash();
  window.addEventListener("hashchange", resolveHash);
  var nav = document.querySelector(".hit-nav");
  var hits = Array.prototype.slice.call(document.querySelectorAll(".doc-text .passage.hit"));
  if (!nav || !hits.length) {
    return;
  }
  function current() {
    var id = window.location.hash.slice(1);
    for (var i = 0; i < hits.length; i++) {
      if (hits[i].id === id) {
        return i;
      }
    }
    return -1;
  }
  nav.hidden = false;
  nav.addEventListener("click", function (event) {
    var step = Number(event.target.getAttribute("data-step"));
    if (!step) {
      return;
    }
    var at = current();
    var next = at < 0 ? (step > 0 ? 0 : hits.length - 1) : (at + step + hits.length) % hits.length;
    window.location.hash = "#" + hits[next].id;
  });
})();

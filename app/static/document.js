// Document page, progressive enhancement only. "上一处 / 下一处" buttons walk through the
// passages that match the query by moving the URL fragment, so CSS :target marks each one.
(function () {
  "use strict";
  // On a narrow screen the outline starts folded, so the text comes first.
  var outline = document.querySelector(".outline details");
  if (outline && window.matchMedia && window.matchMedia("(max-width: 900px)").matches) {
    outline.open = false;
  }
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

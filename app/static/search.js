// Search page, progressive enhancement only: the page works the same without it.
// - "/" focuses the search box (unless typing in a field already);
// - on a narrow screen the facet panel starts folded, so results come first.
(function () {
  "use strict";
  var box = document.getElementById("q");
  document.addEventListener("keydown", function (event) {
    var tag = (event.target && event.target.tagName) || "";
    if (event.key === "/" && box && tag !== "INPUT" && tag !== "TEXTAREA" && tag !== "SELECT") {
      event.preventDefault();
      box.focus();
      box.select();
    }
  });
  var facets = document.querySelector("details.facets");
  if (facets && window.matchMedia && window.matchMedia("(max-width: 760px)").matches) {
    facets.open = false;
  }
})();

// Compare page, progressive enhancement only:
// - "全选 / 全不选" for the plan checkboxes;
// - choosing a dictionary theme clears the custom query (which would otherwise win).
(function () {
  "use strict";
  var tools = document.querySelector(".plan-tools");
  var boxes = Array.prototype.slice.call(document.querySelectorAll('.plan-boxes input[type="checkbox"]'));
  if (tools && boxes.length) {
    tools.hidden = false;
    tools.addEventListener("click", function (event) {
      var which = event.target.getAttribute("data-check");
      if (which) {
        boxes.forEach(function (box) { box.checked = which === "all"; });
      }
    });
  }
  var select = document.getElementById("theme");
  var query = document.getElementById("cq");
  if (select && query) {
    select.addEventListener("change", function () {
      if (select.value) {
        query.value = "";
      }
    });
  }
})();

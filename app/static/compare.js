// Compare page, progressive enhancement only (the page works without it):
// - a form being submitted shows "正在比较" and refuses a second submit until the page changes;
// - choosing a dictionary theme clears the custom query (which would otherwise win);
// - the summary table's search box hides the rows of other schools (this page only).
(function () {
  "use strict";
  var note = document.querySelector(".busy-note");
  Array.prototype.forEach.call(document.querySelectorAll("form.busy-form"), function (form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("aria-busy") === "true") {
        event.preventDefault();
        return;
      }
      form.setAttribute("aria-busy", "true");
      Array.prototype.forEach.call(form.querySelectorAll('button[type="submit"]'), function (button) {
        button.setAttribute("aria-disabled", "true");
      });
      if (note) {
        note.hidden = false;
      }
    });
  });
  // back/forward cache: a page restored from it must accept submits again
  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form.busy-form"), function (form) {
      form.removeAttribute("aria-busy");
    });
    if (note) {
      note.hidden = true;
    }
  });
  var select = document.getElementById("theme");
  var query = document.getElementById("cq");
  if (select && query) {
    select.addEventListener("change", function () {
      if (select.value) {
        query.value = "";
      }
    });
  }
  var find = document.getElementById("plan-find");
  var rows = Array.prototype.slice.call(document.querySelectorAll(".coverage-table tbody tr"));
  if (find && rows.length) {
    find.hidden = false;
    find.addEventListener("input", function () {
      var text = find.value.trim();
      rows.forEach(function (row) {
        row.hidden = text !== "" && row.textContent.indexOf(text) < 0;
      });
    });
  }
})();
